"""Run one layer's loop program: every firing of every descriptor, vectorised; counts; exact residency.

The executor's half of docs/loop-program.md, in three parts:

1. **Firings.** For each descriptor, every step at which it fires is
   enumerated as numpy arrays (the indices of the stepped loops down to its
   depth, in step order, a million at a time), with its DRAM origin per
   group of instances, whether it is a sliding-window steady state, and for
   O whether it revisits written words. The words each firing moves are
   counted from its region (whole tile or the window's new rows) and groups,
   under the cost model's names (`Counts`). A window's new rows must
   continue the tile it slides; every O drain must hit DRAM words in the
   state it claims (a first write on words never written, an overwrite or
   read-modify-write on words written before), and the O tiles must tile O.
2. **Residency.** Every word the compute reads (W, I) or accumulates (O)
   must lie in the tile its keeper instance holds at that step. Tile
   origins and compute coordinates are affine in the loop indices, so this
   is decided exactly, for all steps and instances at once, by interval
   arithmetic over the loops' index ranges (no enumeration of MACs).
3. **Arithmetic.** With every read resident, and modular addressing a
   bijection between a tile's box and its slots, each operand a MAC reads
   from its tile is the DRAM word at its coordinate and each product lands
   on the O word at its coordinate; the compute loops and box cover the
   iteration space exactly once (checked by the reader). So the layer's
   output is one batched product over the DRAM tensors (`conv_nest`),
   written through the drains' first-write / accumulate rules.

What the program cannot get past: a fill fired too rarely or at the wrong
origin, a window sliding by the wrong rows, a drain writing elsewhere than
the tile it drains, a wrong first-write / read-back rule; each is a
ScheduleError naming the layer and the descriptor.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from math import prod

import numpy as np

from accelmap.backend.run.program import LoopProgram, Transfer
from accelmap.errors import ScheduleError
from accelmap.ir.kernels import conv_nest
from accelmap.ir.workload import DIMS, Workload
from accelmap.mapper.counts import Counts

CHUNK = 1 << 20
"""Firings enumerated at once (bounds the memory of the index arrays)."""


@dataclass(frozen=True)
class TensorCounts:
    """Words one tensor moved across the DRAM boundary of one layer: the model's counts at DRAM
    (`dram`: reads, updates, first writes, overwrites, read-modify-writes) and at its keeper (`keeper`:
    fills), and the words that left the keeper's instances on write-back (`writebacks`, O only)."""

    tensor: str
    level: str
    dram: Counts
    keeper: Counts
    writebacks: int


@dataclass(frozen=True)
class _Groups:
    """A descriptor's instances in groups (one per index of the loops not shared): per group its origin
    offset per tensor dim, whether it leads (index 0 on the given loops), and its number of instances."""

    starts: np.ndarray
    members: int
    index: np.ndarray
    names: tuple[str, ...]

    def leading(self, names: tuple[str, ...]) -> np.ndarray:
        """Mask of the groups whose index is 0 on each of `names` (a shared loop counts as 0)."""
        mask = np.ones(len(self.index), dtype=bool)
        for k, name in enumerate(self.names):
            if name in names:
                mask &= self.index[:, k] == 0
        return mask


def _groups(p: LoopProgram, tr: Transfer, shared: tuple[str, ...]) -> _Groups:
    loops = [p.loop(n) for n in tr.instance_loops]
    ranges = [range(1) if lp.name in shared else range(lp.factor) for lp in loops]
    index = np.array(list(product(*ranges)), dtype=np.int64).reshape(prod(len(r) for r in ranges), len(loops))
    starts = np.zeros((len(index), len(tr.origin)), dtype=np.int64)
    for j, (_, terms) in enumerate(tr.origin):
        coef = dict(terms)
        for k, lp in enumerate(loops):
            starts[:, j] += index[:, k] * coef.get(lp.name, 0)
    members = prod(lp.factor for lp in loops if lp.name in shared)
    return _Groups(starts, members, index, tuple(lp.name for lp in loops))


class LayerRun:
    """One layer's run: DRAM tensors in, counts out, DRAM O written."""

    def __init__(self, program: LoopProgram, dram: dict[str, np.ndarray]):
        self.p = program
        self.dram = dram
        self.reads = {t: 0 for t in "WIO"}
        self.fills = {t: 0 for t in "WIO"}
        self.o_counts = dict.fromkeys(Counts.FIELDS, 0)
        self.writebacks = 0

    def fail(self, message: str) -> ScheduleError:
        """A ScheduleError naming the layer."""
        return ScheduleError(f"layer {self.p.layer!r}: loop program: {message}")

    def run(self) -> dict[str, TensorCounts]:
        """Fire every descriptor, prove every compute access resident, compute; the words moved per tensor."""
        for t in "WI":
            self._fills(self.p.fill(t))
        self._partial_sums()
        for t in "WIO":
            self._prove_resident(t)
        self._compute()
        return self._result()

    # -- firings -----------------------------------------------------------------------------------

    def _firings(self, tr: Transfer):
        """Chunks of (stepped-loop index matrix [firing, loop], loop names): one row per firing of `tr`
        (every index of the stepped loops down to its depth), in step order."""
        names = () if tr.depth is None else self.p.steps[:self.p.steps.index(tr.depth) + 1]
        factors = [self.p.loop(n).factor for n in names]
        total = prod(factors)
        radix = [prod(factors[k + 1:]) for k in range(len(factors))]
        for start in range(0, total, CHUNK):
            flat = np.arange(start, min(start + CHUNK, total), dtype=np.int64)
            idx = np.empty((len(flat), len(factors)), dtype=np.int64)
            for k, (f, r) in enumerate(zip(factors, radix)):
                idx[:, k] = flat // r % f
            yield idx, names

    @staticmethod
    def _origins(tr: Transfer, idx: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
        """[firing, tensor dim] DRAM origin from the stepped loops' indices (instance terms come per group)."""
        origin = np.zeros((len(idx), len(tr.origin)), dtype=np.int64)
        for j, (offset, terms) in enumerate(tr.origin):
            origin[:, j] = offset
            for name, coef in terms:
                if name in names:
                    origin[:, j] += coef * idx[:, names.index(name)]
        return origin

    def _fills(self, tr: Transfer) -> None:
        """Count a W or I fill's words; check that each window step continues the tile it slides."""
        groups = _groups(self.p, tr, tr.multicast)
        words = prod(tr.extent)
        if tr.window is None:
            firings = prod(self.p.loop(n).factor for n in self.p.steps[:self.p.steps.index(tr.depth) + 1]) \
                if tr.depth is not None else 1
            self.reads[tr.tensor] += firings * words * len(groups.index)
            self.fills[tr.tensor] += firings * words * len(groups.index) * groups.members
            return
        previous = None
        for idx, names in self._firings(tr):
            n = len(idx)
            moved = np.full(n, words, dtype=np.int64)
            w = tr.window
            if names:
                origin = self._origins(tr, idx, names)
                sliding = idx[:, -1] > 0         # the depth loop itself advanced (outer loops did not)
                if sliding.any():
                    before = np.concatenate([previous[None], origin[:-1]]) if previous is not None else \
                        np.concatenate([origin[:1], origin[:-1]])
                    step = origin - before
                    want = np.zeros(len(tr.extent), dtype=np.int64)
                    want[w.axis] = w.rows
                    bad = sliding & (step != want).any(axis=1)
                    if bad.any():
                        k = int(np.flatnonzero(bad)[0])
                        raise self.fail(f"{tr.id}: the window moves the tile by {step[k].tolist()}, its steady state "
                                        f"brings {w.rows} new rows on axis {w.axis} (window.rows or origin wrong)")
                    if w.rows < tr.extent[w.axis]:
                        moved[sliding] = words // tr.extent[w.axis] * w.rows
                previous = origin[-1]
            total = int(moved.sum())
            self.reads[tr.tensor] += total * len(groups.index)
            self.fills[tr.tensor] += total * len(groups.index) * groups.members

    def _partial_sums(self) -> None:
        """O: count read-backs and drains by kind, and check each drain against the words' written state."""
        fill, drain = self.p.transfers["O.fill"], self.p.transfers["O.drain"]
        if (fill.depth, fill.origin, fill.extent, fill.psum) != (drain.depth, drain.origin, drain.extent, drain.psum):
            raise self.fail("O.fill and O.drain describe different tiles (depth, origin, extent or psum differ)")
        fill_groups = _groups(self.p, fill, fill.multicast)
        groups = _groups(self.p, drain, drain.reduce)
        leader = groups.leading(tuple(n for n in drain.psum.leader if n not in drain.reduce))
        extent = np.array(drain.extent, dtype=np.int64)
        words = int(prod(drain.extent))
        grid = np.array(self.p.shapes["O"], dtype=np.int64) // extent
        tile_strides = np.array([prod(grid[j + 1:]) for j in range(len(grid))], dtype=np.int64)
        if (groups.starts % extent).any():
            raise self.fail("O.drain: the instances' tiles are not aligned to the tile extent (they would overlap)")
        group_keys = (groups.starts // extent) @ tile_strides
        keys, firsts = [], []
        for idx, names in self._firings(drain):
            origin = self._origins(drain, idx, names)
            if (origin % extent).any():
                raise self.fail("O.drain: a tile origin is not aligned to the tile extent (tiles would overlap)")
            revisit = np.zeros(len(idx), dtype=bool)
            for name in drain.psum.revisit:
                if name in names:
                    revisit |= idx[:, names.index(name)] > 0
            readback = int((revisit & drain.psum.read_back).sum())
            self.reads["O"] += readback * words * len(fill_groups.index)
            self.fills["O"] += readback * words * len(fill_groups.index) * fill_groups.members
            n_lead, writes = int(leader.sum()), len(idx) * len(groups.index)
            first = int((~revisit).sum()) * n_lead
            over = readback * n_lead
            self.o_counts["first_writes"] += first * words
            self.o_counts["overwrites"] += over * words
            self.o_counts["rmw"] += (writes - first - over) * words
            self.o_counts["updates"] += writes * words
            self.writebacks += writes * groups.members * words
            keys.append(((origin // extent) @ tile_strides)[:, None] + group_keys[None, :])
            firsts.append((~revisit)[:, None] & leader[None, :])
        self._check_write_order(np.concatenate(keys).reshape(-1), np.concatenate(firsts).reshape(-1),
                                int(prod(grid)))

    def _check_write_order(self, keys: np.ndarray, first: np.ndarray, tiles: int) -> None:
        """Drains in order (tile `keys[i]`, `first[i]` a first write): each O tile gets exactly one first
        write, before every other write to it."""
        count = np.bincount(keys[first], minlength=tiles)
        if (count != 1).any():
            tile = int(np.flatnonzero(count != 1)[0])
            raise self.fail(f"O.drain: O tile {tile} gets {int(count[tile])} first writes, it needs exactly one "
                            f"(psum.revisit or leader wrong, or tiles not covered)")
        position = np.arange(len(keys))
        first_at = np.empty(tiles, dtype=np.int64)
        first_at[keys[first]] = position[first]
        early = position < first_at[keys]
        if early.any():
            k = int(np.flatnonzero(early)[0])
            raise self.fail(f"O.drain: write {k} updates O tile {int(keys[k])} before its first write "
                            "(psum.revisit or leader wrong)")

    # -- residency ---------------------------------------------------------------------------------

    def _prove_resident(self, t: str) -> None:
        """Exactly: for every step and compute instance, the box the compute touches lies in the tile.

        Per tensor dim, (coordinate - tile origin) is an affine sum of independent loop indices and box
        offsets; its least and largest values over their ranges must lie in [0, extent).
        """
        p = self.p
        tr = p.transfers["O.drain"] if t == "O" else p.fill(t)
        depth = -1 if tr.depth is None else p.steps.index(tr.depth)
        held = {n for i, n in enumerate(p.steps) if i <= depth} | set(tr.instance_loops)
        loops = [p.loop(n) for n in p.steps + p.compute_loops]
        for j, ((_, terms), (_, origin_terms)) in enumerate(zip(p.index[t], tr.origin)):
            coef = dict(terms)
            subtract = {n: c for n, c in origin_terms if n in held}
            low = high = 0
            for lp in loops:
                a = coef.get(lp.dim, 0) * lp.stride - subtract.get(lp.name, 0)
                low += min(0, a * (lp.factor - 1))
                high += max(0, a * (lp.factor - 1))
            high += sum(c * (p.box[d] - 1) for d, c in terms)
            if low < 0 or high >= tr.extent[j]:
                what = "reads" if t != "O" else "accumulates into"
                raise self.fail(f"{tr.id}: the compute {what} {t} outside the resident tile on dim {j} (offsets "
                                f"{low}..{high} from the tile origin, the tile has {tr.extent[j]}): the tile is not "
                                "resident (depth or origin wrong)")

    # -- arithmetic ----------------------------------------------------------------------------------

    def _compute(self) -> None:
        """Every MAC of the iteration space, from the resident (hence DRAM) words, into O."""
        p = self.p
        (_, h), (_, w) = p.index["I"][3], p.index["I"][4]
        terms_h, terms_w = dict(h), dict(w)
        workload = Workload(tuple((d, p.bounds[d]) for d in DIMS), (terms_h.get("P", 1), terms_w.get("Q", 1)),
                            (terms_h.get("R", 1), terms_w.get("S", 1)))
        self.dram["O"][...] += conv_nest(self.dram["I"], self.dram["W"], workload)

    def _result(self) -> dict[str, TensorCounts]:
        out = {}
        for t in "WIO":
            k = self.p.fill(t).keeper
            if t == "O":
                dram = Counts(fills=0, reads=self.reads["O"], updates=self.o_counts["updates"],
                              first_writes=self.o_counts["first_writes"], overwrites=self.o_counts["overwrites"],
                              rmw=self.o_counts["rmw"])
            else:
                dram = Counts(fills=0, reads=self.reads[t], updates=0, first_writes=0, overwrites=0, rmw=0)
            keeper = Counts(fills=self.fills[t], reads=0, updates=0, first_writes=0, overwrites=0, rmw=0)
            out[t] = TensorCounts(t, k.level, dram, keeper, self.writebacks if t == "O" else 0)
        return out
