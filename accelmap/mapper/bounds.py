"""Lower bounds on a layer's energy and cycles that hold for every mapping of it on an arch.

They measure how far an unproved answer may be from the optimum (the gap a
FEASIBLE layer reports, the "x bound" column): docs/cost-model.md states
each term. Every term is a least over choices the mapping makes (which
levels keep each tensor, the tiles, which tensor the innermost loop above a
level leaves alone), never a property of one mapping, and the cost model
(`model.evaluate`) is the definition they are bounds of.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from itertools import product
from math import prod

import numpy as np

from accelmap.arch.spec import Arch, Fanout
from accelmap.ir.workload import DIMS, TENSORS, Workload
from accelmap.mapper.model import ceil_div, exact_bandwidth, psum_write_energy, touched_input_words
from accelmap.mapper.slots import axis_allows, keep_choice, max_padded_bound
from accelmap.mapper.validity import DIM_INDEX, words


@dataclass(frozen=True)
class Bounds:
    """Lower bounds that hold for every mapping of a workload on an arch."""

    energy: int
    cycles: int


def lower_bounds(workload: Workload, arch: Arch, padding: bool = True) -> Bounds:
    """Bounds every mapping meets: each tensor crosses DRAM once, every MAC's operands come from their
    innermost keeper (`_operand_bound`), a capacity forces refetches (`_Refetches.bound`), MACs at peak
    rate, DRAM bandwidth. Without `padding`, for the mappings whose dims are not padded (the spatial
    factors then divide the layer's own bounds: `_most_shared`). Cached per (workload, arch, padding)."""
    key = (workload, id(arch), padding)
    hit = _BOUNDS.get(key)
    if hit is not None and hit[0] is arch:
        return hit[1]
    dram = arch.levels[0]
    w_words, i_words = workload.tensor_words("W"), touched_input_words(workload)
    o_words = workload.tensor_words("O")
    energy = workload.macs * arch.compute.mac_energy + _traffic_bound(workload, arch, padding)
    read_bw, write_bw = exact_bandwidth(dram.read_bandwidth), exact_bandwidth(dram.write_bandwidth)
    cycles = max(-(-workload.macs // arch.peak_macs_per_cycle),
                 ceil_div(w_words + i_words, read_bw), ceil_div(o_words, write_bw))
    if len(_BOUNDS) > 256:
        _BOUNDS.clear()
    _BOUNDS[key] = (arch, Bounds(energy=energy, cycles=cycles))
    return _BOUNDS[key][1]


_BOUNDS: dict[tuple[Workload, int, bool], tuple[Arch, Bounds]] = {}


def _traffic_bound(workload: Workload, arch: Arch, padding: bool) -> int:
    """Least fJ of the three tensors' traffic over every choice of the levels keeping each tensor
    (`_keep_options`): the least `_operand_bound`s of their innermost keepers together
    (`_delivery_table`), the words passing through the other keepers, and the largest `_Refetches.bound`
    of a level."""
    options = [_keep_options(workload, arch, t) for t in TENSORS]
    most = {(j, t): _most_shared(workload, arch, j, t, padding) for j in range(len(arch.fanouts)) for t in TENSORS}
    table = _delivery_table(workload, arch, most)
    # every combination's energy before refetches, cheapest first: those above the best so far are skipped
    through = [np.array([energy for _, energy in opts], dtype=np.int64) for opts in options]
    innermost = [[kept[-1] if kept else 0 for kept, _ in opts] for opts in options]
    delivered = np.array([[[table[kw, ki, ko] for ko in innermost[2]] for ki in innermost[1]] for kw in innermost[0]],
                         dtype=np.int64)
    totals = delivered + through[0][:, None, None] + through[1][None, :, None] + through[2][None, None, :]
    refetches = _Refetches(workload, arch, most)
    best = None
    for flat in np.argsort(totals, axis=None, kind="stable"):
        picks = np.unravel_index(flat, totals.shape)
        total = int(totals[picks])
        if best is not None and total >= best:
            break
        keeps = {t: options[x][int(picks[x])][0] for x, t in enumerate(TENSORS)}
        extra = 0
        for i in range(1, len(arch.levels)):
            extra = max(extra, refetches.bound(i, keeps))
            if best is not None and total + extra >= best:
                break
        best = total + extra if best is None else min(best, total + extra)
    return best


def _delivery_table(workload: Workload, arch: Arch, most: dict[tuple[int, str], int]) -> dict[tuple[int, ...], int]:
    """Per innermost keepers (of W, I, O) the least sum of their `_operand_bound`s over how each fanout's
    children may split among the tensors' sharing: the dims irrelevant to W, to I and to O are disjoint
    (each dim is irrelevant to one tensor), so the three shares at a fanout multiply to at most its size
    (`_share_splits`). Without that structure each tensor gets its largest share alone."""
    candidates = [_innermost_candidates(arch, t) for t in TENSORS]
    disjoint = all(sum(d not in _relevant(workload, t) for t in TENSORS) <= 1
                   for d, b in workload.bounds if b > 1)
    per_fanout = [_share_splits(arch, j, most) if disjoint else [] for j in range(len(arch.fanouts))]
    while prod(len(options) for options in per_fanout) > SPLITS:
        widest = max(range(len(per_fanout)), key=lambda j: len(per_fanout[j]))
        per_fanout[widest] = []
    # a fanout left out gets one "split" giving each tensor its largest share: it bounds them all
    per_fanout = [options or [tuple(most[j, t] for t in TENSORS)]
                  for j, options in enumerate(per_fanout)]
    splits = list(product(*per_fanout)) if arch.fanouts else [None]
    energy = {}
    for x, t in enumerate(TENSORS):
        shares = {split: () if split is None else tuple(triple[x] for triple in split) for split in splits}
        for k in candidates[x]:
            values = {v: _operand_bound(workload, arch, t, k, v) for v in set(shares.values())}
            energy[t, k] = np.array([values[shares[split]] for split in splits], dtype=np.int64)
    return {ks: int(sum(energy[t, k] for t, k in zip(TENSORS, ks)).min()) for ks in product(*candidates)}


SPLITS = 20_000
"""Combinations of per-fanout share splits tried at most (`_delivery_table`); beyond, the fanouts with the
most splits give each tensor its largest share instead."""


def _share_splits(arch: Arch, j: int, most: dict[tuple[int, str], int]) -> list[tuple[int, int, int]]:
    """The largest (W, I, O) shares fanout j's children may have at once: each at most `_most_shared`
    (1 where the fanout neither multicasts it nor reduces it: it gains nothing), their product at most
    the fanout's size; every split is at or below one of these."""
    fanout, size = arch.fanouts[j], arch.fanouts[j].x * arch.fanouts[j].y
    shared = [most[j, t] if _shrinks(fanout, t) else 1 for t in TENSORS]
    out = []
    for w in range(1, shared[0] + 1):
        for i in range(1, min(shared[1], size // w) + 1):
            out.append((w, i, min(shared[2], size // (w * i))))
    return out


def _keep_options(workload: Workload, arch: Arch, tensor: str) -> list[tuple[tuple[int, ...], int]]:
    """Every set of on-chip levels that may keep `tensor` (`slots.keep_choice`; its deepest one a possible
    innermost keeper), with the fJ of each word passing once through each keeper above the innermost
    (W, I: written and read; O: first-written, and drained where drains are priced)."""
    candidates, words = _innermost_candidates(arch, tensor), _tensor_words(workload, tensor)
    forced = tuple(i for i in range(1, len(arch.levels)) if keep_choice(arch, i, tensor) is True)
    optional = [i for i in range(1, len(arch.levels)) if keep_choice(arch, i, tensor) is None]
    out = []
    for picks in product((False, True), repeat=len(optional)):
        kept = tuple(sorted((*forced, *(i for i, on in zip(optional, picks) if on))))
        if (kept[-1] if kept else 0) not in candidates:
            continue
        through = 0
        for j in kept[:-1]:
            at_j = arch.levels[j].tensors[tensor]
            if tensor == "O":
                through += words * (psum_write_energy(at_j, arch.accounting)
                                    + (at_j.read_energy if arch.accounting.drain_reads else 0))
            else:
                through += words * (at_j.write_energy + at_j.read_energy)
        out.append((kept, through))
    return out


@dataclass
class _Refetches:
    """The refetch bounds of one layer on one arch (`bound`), with what they share: each fanout's largest
    share of each tensor (`most`), the tile grids and the bounds already found."""

    workload: Workload
    arch: Arch
    most: dict[tuple[int, str], int]
    grids: dict[tuple[str, ...], _Grid] = field(default_factory=dict)
    found: dict[tuple, int] = field(default_factory=dict)

    def bound(self, level: int, keeps: dict[str, tuple[int, ...]]) -> int:
        """Least fJ of the refetches level `level`'s capacity forces, given the levels keeping each tensor.

        The tensors crossing `level`'s boundary are those kept at `level` or
        below; each has a parent (its nearest keeper above, DRAM at the top)
        and one or more keepers at or below `level` (the first two are used).
        Of them, every one but the tensor irrelevant to the innermost temporal
        loop above `level` (the reused one, `star`) has its whole block of an
        iteration of the loops above `level` brought into each of those
        keepers at every iteration and copy: |t| x R_t words, R_t the product
        over t's irrelevant dims of ceil(bound / tile), the tile being
        `level`'s. Each keeper's parent (the previous one in the chain) reads
        each word once for up to S_t copies: above `level`, the multicast (for
        O reduction) shares of the fanouts between it and `level`; at or below
        `level`, 1. The tiles of the tensors `level` keeps must fit it. The
        star, when its first keeper is below `level`, is reused only if no
        loop relevant to it lies between: its block (`_core_words`) fits that
        keeper's copies below `level`; at its next keeper the same holds, or a
        loop relevant to it lies between and the star is brought there R_t
        times too. Minimised over the star and the tiles (`_Grid`: per dim the
        smallest tile for each value of ceil(bound / tile), as the tiles only
        grow with it); the words beyond the first are priced at the parent's
        read (O: update, or first write if cheaper) with a hop through each
        fanout between, and the keeper's write (W, I).
        """
        below = {t: tuple(j for j in keeps[t] if j >= level) for t in TENSORS}
        scope = [t for t in TENSORS if below[t]]
        if len(scope) < 2 and not any(len(below[t]) > 1 for t in scope):
            return 0
        # the parent and at most two keepers: further keepers' refetches are left out (fewer distinct chains to price)
        chain = {t: (max((j for j in keeps[t] if j < level), default=0), *below[t][:2]) for t in scope}
        key = (level, tuple(sorted(chain.items())))
        if key not in self.found:
            self.found[key] = self._least(level, chain)
        return self.found[key]

    def _least(self, level: int, chain: dict[str, tuple[int, ...]]) -> int:
        """`bound` for the tensors in `chain` (each its parent above `level`, then its keepers at or below)."""
        at = self.arch.levels[level]
        pools: dict[str, list[str]] = {}
        for t, (_, first, *_) in chain.items():
            if first == level:
                pools.setdefault(next((p.name for p in at.partitions if t in p.tensors), ""), []).append(t)
        best = None
        for star in [*chain, None]:
            payers = [t for t in chain if t != star]
            checked = [t for t in chain if t == star and len(chain[t]) > 2]
            # with the star's further keeper the grid has more dims, so coarser bands: each is a bound, take the larger
            found = [self._least_on_grid(level, chain, pools, star, payers, with_star)
                     for with_star in {False, bool(checked)}]
            if None not in found:                   # None: no tile fits, this star is impossible
                best = max(found) if best is None else min(best, max(found))
        return best or 0

    def _least_on_grid(self, level: int, chain: dict[str, tuple[int, ...]], pools: dict[str, list[str]],
                       star: str | None, payers: list[str], with_star: bool) -> int | None:
        """Least over the tiles of `level` (where they fit) of the payers' refetches, and with `with_star` the
        star's at its further keepers; None when no tile fits."""
        tensors = [*payers, *([star] if with_star else [])]
        dims = tuple(d for d in DIMS if any(d in _irrelevant(self.workload, t) for t in tensors))
        grid = _Grid.of(self.workload, dims, self.grids)
        fits = grid.memo(("pools", level, tuple(map(tuple, pools.values()))),
                         lambda: _pools_fit(self.arch, grid, level, pools))
        if star is not None and chain[star][1] > level:
            fits = fits & _core_fits(self.arch, grid, star, level, chain[star][1])     # not in place: cached
        if not fits.any():
            return None
        extra = np.zeros(grid.size, dtype=np.int64)
        for t in payers:
            for parent, keeper in zip(chain[t], chain[t][1:]):
                extra += self._energy(grid, t, parent, keeper, level)
        if with_star:
            for parent, keeper in zip(chain[star][1:], chain[star][2:]):
                refetched = ~_core_fits(self.arch, grid, star, level, keeper)
                extra += np.where(refetched, self._energy(grid, star, parent, keeper, level), 0)
        return int(extra[fits].min())

    def _energy(self, grid: _Grid, tensor: str, parent: int, keeper: int, level: int) -> np.ndarray:
        """fJ of bringing `tensor` into `keeper` from `parent` R times (R on each tile of `grid`, `level`'s)
        beyond the first: the keeper's writes (W, I; O: its drain reads, where priced) and their hops through
        the fanout nearest the keeper, which delivers every copy's words; the parent's reads (O: updates, or
        first writes if cheaper) with their hops through the other fanouts. A parent above `level` reads
        each word once for the copies of `level` its fanouts multicast (O: reduce); one at or below it reads
        every word of each copy (copies below `level` only hold the same words more times). Once per grid."""
        return grid.memo(("refetch energy", tensor, parent, keeper, level),
                         lambda: self._energy_on(grid, tensor, parent, keeper, level))

    def _energy_on(self, grid: _Grid, tensor: str, parent: int, keeper: int, level: int) -> np.ndarray:
        """`_energy`, computed."""
        arch = self.arch
        above = arch.levels[parent].tensors[tensor]
        shares = prod(self.most[j, tensor] for j, f in enumerate(arch.fanouts)
                      if parent <= arch.level_index(f.parent) < level and _shrinks(f, tensor))
        at_keeper = arch.levels[keeper].tensors[tensor]
        if tensor == "O":
            # each copy's partial sums leave the keeper (a drain read, where priced), the parent merges them
            fill_price = at_keeper.read_energy if arch.accounting.drain_reads else 0
            parent_price = min(above.update_energy, psum_write_energy(above, arch.accounting))
        else:
            fill_price, parent_price = at_keeper.write_energy, above.read_energy
        # the fanout right above the keeper delivers every word of every copy (multicast or reduced above it)
        nearest = _nearest_fanout_hop(arch, parent, keeper)
        refetch = grid.refetch(tensor)
        # parent reads >= |t| R / S, but never fewer than the one crossing already counted
        shared = np.maximum(refetch - shares, 0) // shares
        return _tensor_words(self.workload, tensor) * (
            (refetch - 1) * (fill_price + nearest)
            + shared * (parent_price + _hops_between(arch, parent, keeper) - nearest))


def _pools_fit(arch: Arch, grid: _Grid, level: int, pools: dict[str, list[str]]) -> np.ndarray:
    """Where the tiles of the tensors `level` keeps fit its partitions (or its capacity)."""
    at = arch.levels[level]
    fits = np.ones(grid.size, dtype=bool)
    for tensors in pools.values():
        have = at.usable_bits(tensors[0])
        if have is not None:
            fits &= sum(grid.words(t) * at.tensors[t].word_bits for t in tensors) <= have
    return fits


def _core_fits(arch: Arch, grid: _Grid, tensor: str, level: int, keeper: int) -> np.ndarray:
    """Where `tensor`'s block of a `level` tile (`_core_words`) fits the copies of `keeper` below `level`."""
    return grid.memo(("fits", tensor, level, keeper), lambda: _core_fit_mask(arch, grid, tensor, level, keeper))


def _core_fit_mask(arch: Arch, grid: _Grid, tensor: str, level: int, keeper: int) -> np.ndarray:
    """`_core_fits`, computed."""
    home = arch.levels[keeper]
    have = home.usable_bits(tensor)
    if have is None:
        return np.ones(grid.size, dtype=bool)
    copies = prod(f.x * f.y for f in arch.fanouts if level <= arch.level_index(f.parent) < keeper)
    return grid.core(tensor) <= have // home.tensors[tensor].word_bits * copies


class _Grid:
    """Tiles over `dims` (`_tile_candidates` per dim; other dims 1) and, per tensor, its tile words,
    `_core_words` and refetch factor R on each, computed once per bound."""

    def __init__(self, workload: Workload, dims: tuple[str, ...]):
        self.workload = workload
        most = {d: len(_ceil_values(workload.bound(d))) for d in dims}
        while prod(most.values()) > GRID_POINTS and max(most.values(), default=0) > 4:
            widest = max(most, key=most.get)
            most[widest] = max(4, most[widest] * 3 // 4)
        axes = [_tile_candidates(workload.bound(d), most[d]) for d in dims]
        tiles = np.meshgrid(*(np.array([tile for tile, _ in axis], dtype=np.int64) for axis in axes), indexing="ij")
        factors = np.meshgrid(*(np.array([f for _, f in axis], dtype=np.int64) for axis in axes), indexing="ij")
        self.size = tiles[0].size if dims else 1
        self.tile: list = [1] * len(DIMS)
        self.factor: dict[str, np.ndarray] = {}
        for d, tile, factor in zip(dims, tiles, factors):
            self.tile[DIM_INDEX[d]] = tile.ravel()
            self.factor[d] = factor.ravel()
        self._memo: dict[tuple[str, str], object] = {}

    @staticmethod
    def of(workload: Workload, dims: tuple[str, ...], cache: dict) -> _Grid:
        """The grid over `dims`, built once per `cache`."""
        if dims not in cache:
            cache[dims] = _Grid(workload, dims)
        return cache[dims]

    def memo(self, key: tuple, compute) -> object:
        """`compute()`, once per `key` on this grid."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def words(self, tensor: str) -> object:
        """Tile words of `tensor` on every tile."""
        key = ("words", tensor)
        if key not in self._memo:
            self._memo[key] = words(tensor, self.tile, self.workload.stride, self.workload.dilation)
        return self._memo[key]

    def core(self, tensor: str) -> object:
        """`_core_words` of `tensor` on every tile."""
        key = ("core", tensor)
        if key not in self._memo:
            self._memo[key] = _core_words(tensor, self.tile)
        return self._memo[key]

    def refetch(self, tensor: str) -> np.ndarray:
        """R: the product over `tensor`'s irrelevant dims of ceil(bound / tile) (at most), on every tile."""
        key = ("refetch", tensor)
        if key not in self._memo:
            refetch = np.ones(self.size, dtype=np.int64)
            for d in _irrelevant(self.workload, tensor):
                refetch = refetch * self.factor[d]
            self._memo[key] = refetch
        return self._memo[key]


def _core_words(tensor: str, tile: list) -> object:
    """At most the words of `tensor` a tile's copies hold when the tile is split only spatially: W and O
    their tile words, I the window without halos (N G C max(P, R) max(Q, S)), as no split enlarges it."""
    if tensor != "I":
        return words(tensor, tile, (1, 1), (1, 1))
    n, g, c, p, q, r, s = (tile[DIM_INDEX[d]] for d in "NGCPQRS")
    return n * g * c * np.maximum(p, r) * np.maximum(q, s)


GRID_POINTS = 50_000
"""Tiles tried per (level, reused tensor) at most: the dims with the most values get bands (`_tile_candidates`)."""


def _tile_candidates(bound: int, most: int) -> list[tuple[int, int]]:
    """(tile, factor) pairs covering every tile of a dim: each stands for the tiles whose
    ceil(bound / tile) lies in one band [factor, hi], as the smallest of them, ceil(bound / hi), and
    the least factor, so its tile words and refetches are never above theirs. Exact (one value per
    band) when there are at most `most` values, else `most` bands of geometric width."""
    values = _ceil_values(bound)
    if len(values) <= most:
        return [(-(-bound // v), v) for v in values]
    edges = [bound ** (k / most) for k in range(1, most + 1)]
    bands: list[list[int]] = [[] for _ in edges]
    at = 0
    for v in values:
        while v > edges[at] * (1 + 1e-9):
            at += 1
        bands[at].append(v)
    return [(-(-bound // band[-1]), band[0]) for band in bands if band]


@lru_cache(maxsize=4096)
def _relevant(workload: Workload, tensor: str) -> frozenset[str]:
    """`Workload.relevant`, once per workload."""
    return workload.relevant(tensor)


@lru_cache(maxsize=4096)
def _irrelevant(workload: Workload, tensor: str) -> tuple[str, ...]:
    """The dims irrelevant to `tensor` that have a loop (bound > 1), in DIMS order."""
    return tuple(d for d in DIMS if d not in _relevant(workload, tensor) and workload.bound(d) > 1)


def _shrinks(fanout: Fanout, tensor: str) -> bool:
    """Whether `fanout` shares `tensor`'s words among its children: it reduces O, multicasts W and I."""
    return fanout.reduction if tensor == "O" else fanout.multicast


@lru_cache(maxsize=1024)
def _ceil_values(bound: int) -> list[int]:
    """Every value of ceil(bound / tile), ascending."""
    return sorted({-(-bound // tile) for tile in range(1, bound + 1)})


def _tensor_words(workload: Workload, tensor: str) -> int:
    """Words every mapping moves off-chip at least once (I: the touched ones)."""
    return touched_input_words(workload) if tensor == "I" else workload.tensor_words(tensor)


def _innermost_candidates(arch: Arch, tensor: str) -> list[int]:
    """Levels that may be `tensor`'s innermost keeper: those allowed to keep it, none above one forced to."""
    choices = [keep_choice(arch, i, tensor) for i in range(len(arch.levels))]
    deepest_forced = max(i for i, choice in enumerate(choices) if choice is True)
    return [i for i, choice in enumerate(choices) if i >= deepest_forced and choice is not False]


def _operand_bound(workload: Workload, arch: Arch, tensor: str, k: int, shares: tuple[int, ...]) -> int:
    """Least fJ of `tensor`'s traffic when level k is its innermost keeper, over every mapping whose
    fanout j shares each word of the tensor among at most `shares[j]` children (`_most_shared` at most).

    The tensor crosses DRAM once (W and I read, O first written) and, when
    k is on chip, is filled into k once (O: drained from it once, where
    drains are priced), each word crossing every fanout above k once. The
    MACs read W and I from k (update O at k) MACs / M times, M being the
    multicast (reduction) factor of the fanouts below k: at most their
    `shares`, and at most the product of the
    tensor's irrelevant bounds, so at least the tensor's relevant iteration
    space. Each fanout on that path delivers as many words, divided by the
    factors of the fanouts below it. O's updates are priced at the cheaper of a first write and an update,
    except one per output word (each word has a first write).
    """
    levels, relevant = arch.levels, _relevant(workload, tensor)
    words = _tensor_words(workload, tensor)
    floor = prod(b for d, b in workload.bounds if d in relevant)
    below = [(arch.level_index(f.parent), j, f) for j, f in enumerate(arch.fanouts)
             if arch.level_index(f.parent) >= k]

    def volume(fanouts) -> int:
        """Least words crossing above `fanouts` (those that shrink the stream)."""
        shrink = prod(shares[j] for _, j, f in fanouts if _shrinks(f, tensor))
        return max(-(-workload.macs // shrink), floor)

    hops = sum(f.hop_energy * volume([entry for entry in below if entry[0] > at]) for at, _, f in below)
    hops += words * _hops_between(arch, 0, k)          # each word crosses every fanout above k at least once
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


def _hops_between(arch: Arch, top: int, bottom: int) -> int:
    """fJ of one word's hops through the fanouts between levels `top` and `bottom` (parents top..bottom-1):
    a word moved between them crosses each at least once (a multicast or reduced word counts once)."""
    return sum(f.hop_energy for f in arch.fanouts if top <= arch.level_index(f.parent) < bottom)


def _nearest_fanout_hop(arch: Arch, top: int, bottom: int) -> int:
    """fJ of a hop through the fanout between levels `top` and `bottom` nearest to `bottom` (0 when none): it
    carries each word to (W, I) or from (O) every copy of `bottom` separately."""
    between = [f for f in arch.fanouts if top <= arch.level_index(f.parent) < bottom]
    return max(between, key=lambda f: arch.level_index(f.parent)).hop_energy if between else 0


def _most_shared(workload: Workload, arch: Arch, j: int, tensor: str, padding: bool) -> int:
    """The largest product of fanout j's spatial factors irrelevant to `tensor`: a dim's factors on the
    X and Y axes (where `x_dims` / `y_dims` let it) multiply to a divisor of its bound (with `padding`, of
    a value it may be padded to: `slots.max_padded_bound`), each axis's factors to at most its size."""
    fanout, relevant = arch.fanouts[j], _relevant(workload, tensor)
    reach = {(1, 1)}
    for d, b in workload.bounds:
        if d in relevant or b == 1:
            continue
        values = range(b, max_padded_bound(b) + 1) if padding else range(b, b + 1)
        pairs = _axis_pairs(tuple(values), fanout.x if axis_allows(arch, ("X", j), d) else 1,
                            fanout.y if axis_allows(arch, ("Y", j), d) else 1)
        reach = {(x * fx, y * fy) for x, y in reach for fx, fy in pairs if x * fx <= fanout.x and y * fy <= fanout.y}
    return max(x * y for x, y in reach)


@lru_cache(maxsize=4096)
def _axis_pairs(values: tuple[int, ...], x: int, y: int) -> tuple[tuple[int, int], ...]:
    """(fx, fy) with fx <= x, fy <= y and fx * fy dividing one of `values`, consecutive integers (any
    product up to their count divides one of them)."""
    return tuple((fx, fy) for fx in range(1, x + 1) for fy in range(1, y + 1)
                 if fx * fy <= len(values) or any(v % (fx * fy) == 0 for v in values))
