"""Lower bounds on a layer's energy and cycles that hold for every mapping of it on an arch.

They measure how far an unproved answer may be from the optimum (the gap a
FEASIBLE layer reports, the "x bound" column): docs/cost-model.md states
each term. Every term is a least over choices the mapping makes (which
levels keep each tensor, the tiles, which tensor the innermost loop above a
level leaves alone), never a property of one mapping, and the cost model
(`model.evaluate`) is the definition they are bounds of.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from math import prod

import numpy as np

from accelmap.arch.spec import Arch
from accelmap.ir.workload import DIMS, TENSORS, Workload
from accelmap.mapper.model import ceil_div, exact_bandwidth, psum_write_energy, touched_input_words
from accelmap.mapper.slots import axis_allows, keep_choice, max_padded_bound
from accelmap.mapper.validity import DIM_INDEX, words


@dataclass(frozen=True)
class Bounds:
    """Lower bounds that hold for every mapping of a workload on an arch."""

    energy: int
    cycles: int



def lower_bounds(workload: Workload, arch: Arch) -> Bounds:
    """Bounds every mapping meets: each tensor crosses DRAM once, every MAC's operands come from their
    innermost keeper (`_operand_bound`), a capacity forces refetches (`_refetch_bound`), MACs at peak
    rate, DRAM bandwidth. Cached per (workload, arch)."""
    key = (workload, id(arch))
    hit = _BOUNDS.get(key)
    if hit is not None and hit[0] is arch:
        return hit[1]
    dram = arch.levels[0]
    w_words, i_words = workload.tensor_words("W"), touched_input_words(workload)
    o_words = workload.tensor_words("O")
    energy = workload.macs * arch.compute.mac_energy + _traffic_bound(workload, arch)
    read_bw, write_bw = exact_bandwidth(dram.read_bandwidth), exact_bandwidth(dram.write_bandwidth)
    cycles = max(-(-workload.macs // arch.peak_macs_per_cycle),
                 ceil_div(w_words + i_words, read_bw), ceil_div(o_words, write_bw))
    if len(_BOUNDS) > 256:
        _BOUNDS.clear()
    _BOUNDS[key] = (arch, Bounds(energy=energy, cycles=cycles))
    return _BOUNDS[key][1]


_BOUNDS: dict[tuple[Workload, int], tuple[Arch, Bounds]] = {}


def _traffic_bound(workload: Workload, arch: Arch) -> int:
    """Least fJ of the three tensors' traffic, over each tensor's first on-chip keeper (0: none): the
    sum of `_first_keeper_bound`s plus the largest `_refetch_bound` of the levels it applies to."""
    options = [_first_keeper_bound(workload, arch, t).items() for t in TENSORS]
    levels = [i for i in range(1, len(arch.levels))
              if all(arch.level_index(f.parent) >= i for f in arch.fanouts)]
    best = None
    for combo in product(*options):
        total = sum(energy for _, energy in combo)
        if best is not None and total >= best:
            continue
        first = {t: j for t, (j, _) in zip(TENSORS, combo)}
        total += max((_refetch_bound(workload, arch, i, first) for i in levels), default=0)
        best = total if best is None else min(best, total)
    return best


def _first_keeper_bound(workload: Workload, arch: Arch, tensor: str) -> dict[int, int]:
    """Per level j that may be `tensor`'s first on-chip keeper (0: it stays in DRAM), the least
    `_operand_bound` over innermost keepers k >= j, plus, for k below j, the words passing through j
    once (W, I: written and read once; O: first-written, and drained where drains are priced)."""
    candidates, words = _innermost_candidates(arch, tensor), _tensor_words(workload, tensor)
    out = {0: _operand_bound(workload, arch, tensor, 0)} if 0 in candidates else {}
    for j in range(1, len(arch.levels)):
        choice = keep_choice(arch, j, tensor)
        if choice is not False and any(k >= j for k in candidates):
            at_j = arch.levels[j].tensors[tensor]
            if tensor == "O":
                through = psum_write_energy(at_j, arch.accounting) + (
                    at_j.read_energy if arch.accounting.drain_reads else 0)
            else:
                through = at_j.write_energy + at_j.read_energy
            out[j] = min(_operand_bound(workload, arch, tensor, k) + (words * through if k > j else 0)
                         for k in candidates if k >= j)
        if choice is True:
            break
    return out


def _refetch_bound(workload: Workload, arch: Arch, level: int, first: dict[str, int]) -> int:
    """Least fJ of the DRAM refetches level `level`'s capacity forces (no fanout above it).

    Among the tensors whose first on-chip keeper is `level` or below, every
    one but the tensor irrelevant to the innermost loop above `level` (the
    reused one, `star`) has its whole block of an iteration of those loops
    brought from DRAM (and filled into its first keeper) at every iteration:
    |t| x R_t words, R_t the product over t's irrelevant dims of
    ceil(bound / tile), the tile being `level`'s; the tiles of the tensors
    kept at `level` must fit it. A star first kept below `level` is reused
    only if no loop relevant to it lies between: its block (`_core_words`)
    fits that keeper's copies below `level`. Minimised over the
    star and, per dim, the smallest tile giving each R (the tiles only grow
    with it); the words beyond the first crossing are priced at DRAM's read
    (O: update, or first write if cheaper) plus the keeper's write (W, I).
    """
    scope = [t for t in TENSORS if first[t] >= level]
    if len(scope) < 2:
        return 0
    at, dram = arch.levels[level], arch.levels[0]
    kept = [t for t in TENSORS if t in at.tensors and (first[t] == level or keep_choice(arch, level, t) is True)]
    pools: dict[str, list[str]] = {}
    for t in kept:
        pools.setdefault(next((p.name for p in at.partitions if t in p.tensors), ""), []).append(t)
    irrelevant = {t: [d for d in DIMS if d not in workload.relevant(t) and workload.bound(d) > 1] for t in TENSORS}
    price = {t: (min(dram.tensors[t].update_energy, psum_write_energy(dram.tensors[t], arch.accounting))
                 if t == "O" else dram.tensors[t].read_energy + arch.levels[first[t]].tensors[t].write_energy)
             for t in scope}
    best = None
    for star in [*scope, None]:
        payers = [t for t in scope if t != star]
        dims = [d for d in DIMS if any(d in irrelevant[t] for t in payers)]
        grid = np.meshgrid(*(np.array(_tile_candidates(workload.bound(d)), dtype=np.int64) for d in dims),
                           indexing="ij")
        tile: list = [1] * len(DIMS)
        for d, values in zip(dims, grid):
            tile[DIM_INDEX[d]] = values.ravel()
        fits = np.ones(grid[0].size if dims else 1, dtype=bool)
        for tensors in pools.values():
            have = at.usable_bits(tensors[0])
            if have is not None:
                fits &= sum(words(t, tile, workload.stride, workload.dilation) * at.tensors[t].word_bits
                            for t in tensors) <= have
        if star is not None and first[star] > level:
            keeper = arch.levels[first[star]]
            have = keeper.usable_bits(star)
            if have is not None:
                copies = prod(f.x * f.y for f in arch.fanouts if level <= arch.level_index(f.parent) < first[star])
                fits &= _core_words(star, tile) <= have // keeper.tensors[star].word_bits * copies
        if not fits.any():
            continue
        extra = np.zeros(fits.size, dtype=np.int64)
        for t in payers:
            refetch = np.ones(fits.size, dtype=np.int64)
            for d in irrelevant[t]:
                refetch = refetch * -(-workload.bound(d) // tile[DIM_INDEX[d]])
            extra += _tensor_words(workload, t) * (refetch - 1) * price[t]
        least = int(extra[fits].min())
        best = least if best is None else min(best, least)
    return best or 0


def _core_words(tensor: str, tile: list) -> object:
    """At most the words of `tensor` a tile's copies hold when the tile is split only spatially: W and O
    their tile words, I the window without halos (N G C max(P, R) max(Q, S)), as no split enlarges it."""
    if tensor != "I":
        return words(tensor, tile, (1, 1), (1, 1))
    n, g, c, p, q, r, s = (tile[DIM_INDEX[d]] for d in "NGCPQRS")
    return n * g * c * np.maximum(p, r) * np.maximum(q, s)


def _tile_candidates(bound: int) -> list[int]:
    """Per value of ceil(bound / tile), the smallest tile giving it."""
    return sorted({-(-bound // v) for v in range(1, bound + 1)})


def _tensor_words(workload: Workload, tensor: str) -> int:
    """Words every mapping moves off-chip at least once (I: the touched ones)."""
    return touched_input_words(workload) if tensor == "I" else workload.tensor_words(tensor)


def _innermost_candidates(arch: Arch, tensor: str) -> list[int]:
    """Levels that may be `tensor`'s innermost keeper: those allowed to keep it, none above one forced to."""
    choices = [keep_choice(arch, i, tensor) for i in range(len(arch.levels))]
    deepest_forced = max(i for i, choice in enumerate(choices) if choice is True)
    return [i for i, choice in enumerate(choices) if i >= deepest_forced and choice is not False]


def _operand_bound(workload: Workload, arch: Arch, tensor: str, k: int) -> int:
    """Least fJ of `tensor`'s traffic when level k is its innermost keeper, over every mapping.

    The tensor crosses DRAM once (W and I read, O first written) and, when
    k is on chip, is filled into k once (O: drained from it once, where
    drains are priced). The MACs read W and I from k (update O at k)
    MACs / M times, M being the multicast (reduction) factor of the fanouts
    below k: at most `_most_shared` of each, and at most the product of the
    tensor's irrelevant bounds, so at least the tensor's relevant iteration
    space. Each fanout on that path delivers as many words, divided by the
    factors of the fanouts below it. O's updates are priced at the cheaper of a first write and an update,
    except one per output word (each word has a first write).
    """
    levels, relevant = arch.levels, workload.relevant(tensor)
    words = touched_input_words(workload) if tensor == "I" else workload.tensor_words(tensor)
    floor = prod(b for d, b in workload.bounds if d in relevant)
    below = [(arch.level_index(f.parent), j, f) for j, f in enumerate(arch.fanouts)
             if arch.level_index(f.parent) >= k]

    def volume(fanouts) -> int:
        """Least words crossing above `fanouts` (those that shrink the stream)."""
        shrink = prod(_most_shared(workload, arch, j, tensor) for _, j, f in fanouts
                      if (f.reduction if tensor == "O" else f.multicast))
        return max(-(-workload.macs // shrink), floor)

    hops = sum(f.hop_energy * volume([entry for entry in below if entry[0] > at]) for at, _, f in below)
    at_k, dram, macs_side = levels[k].tensors[tensor], levels[0].tensors[tensor], volume(below)
    if tensor != "O":
        if k == 0:
            return max(macs_side, words) * dram.read_energy + hops
        return words * (dram.read_energy + at_k.write_energy) + macs_side * at_k.read_energy + hops
    first = psum_write_energy(at_k, arch.accounting)
    cheaper = min(first, at_k.update_energy)
    energy = words * (first - cheaper) + max(macs_side, words) * cheaper + hops
    if k > 0:
        energy += words * psum_write_energy(dram, arch.accounting)
        energy += words * at_k.read_energy if arch.accounting.drain_reads else 0
    return energy


def _most_shared(workload: Workload, arch: Arch, j: int, tensor: str) -> int:
    """The largest product of fanout j's spatial factors irrelevant to `tensor`: per axis its size when
    it may unroll such a dim (`x_dims` / `y_dims`), at most those dims' (padded) bounds, else 1."""
    fanout, relevant, most = arch.fanouts[j], workload.relevant(tensor), 1
    for axis, size in (("X", fanout.x), ("Y", fanout.y)):
        reach = prod(max_padded_bound(b) for d, b in workload.bounds
                     if d not in relevant and axis_allows(arch, (axis, j), d))
        most *= min(size, reach)
    return most
