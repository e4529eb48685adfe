"""Run one layer's loop program: every descriptor's firings in closed form; counts; exact residency.

The executor's half of docs/loop-program.md, in three parts:

1. **Firings.** A descriptor fires at every index of its stepped loops
   down to its depth, and its DRAM origin is affine in those indices (plus
   its group of instances), so the words it moves follow in closed form
   from the loops' factors: whole tiles, or the window's new rows where the
   depth loop advanced (consecutive firings then differ in that index
   only, so every window step moves the origin by the depth loop's
   coefficients, which must be the window's rows). The O drains must tile O
   and hit DRAM words in the state they claim: each O tile exactly one
   first write, before every other write to it. The first writes (one per
   tile) are enumerated as numpy arrays, a million at a time; the other
   writes follow them when no revisiting loop moves the tile and every
   instance group writes its leading partner's tile, and are enumerated in
   order otherwise (`_Drains`). Counts are named as in the cost model
   (`Counts`), so the time and memory grow with the O tiles, not with the
   firings.
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

    def partners(self, names: tuple[str, ...]) -> np.ndarray:
        """Per group, the position of the group with the same index but 0 on each of `names`."""
        zeroed = self.index.copy()
        for k, name in enumerate(self.names):
            if name in names:
                zeroed[:, k] = 0
        position = {tuple(row): g for g, row in enumerate(self.index.tolist())}
        return np.array([position[tuple(row)] for row in zeroed.tolist()], dtype=np.int64)


@dataclass(frozen=True)
class _Drains:
    """O's drains in closed form, in write order (stepped loops outer first, then the groups): per stepped
    loop its factor, the tile key's change per index and whether an index > 0 revisits the tile; the
    first firing's tile key; per group its tile-key offset, whether it leads and its leading partner
    (`_Groups.partners`); the number of O tiles. A write is a first write when it revisits nothing and
    its group leads."""

    factors: tuple[int, ...]
    steps: tuple[int, ...]
    revisit: tuple[bool, ...]
    base: int
    group_keys: np.ndarray
    leader: np.ndarray
    partner: np.ndarray
    tiles: int

    def write_order_problem(self) -> str | None:
        """Why the drains do not give each O tile exactly one first write before every other write to it.

        The first writes are enumerated alone (one per tile when right). When no revisiting loop moves
        the tile and every group writes its leading partner's tile, every other write to a tile comes
        after its first write (the first write is the same firing with the revisiting indices 0, or the
        same firing's partner, earlier in write order); otherwise every write is enumerated in order."""
        fresh = [f if not r else 1 for f, r in zip(self.factors, self.revisit)]
        count = np.zeros(self.tiles, dtype=np.int64)
        lead_keys = self.group_keys[self.leader]
        for idx in _box_chunks(fresh):
            keys = ((self.base + idx @ np.array(self.steps, dtype=np.int64))[:, None] + lead_keys[None, :]).reshape(-1)
            outside = (keys < 0) | (keys >= self.tiles)
            if outside.any():
                return f"a first write lands on O tile {int(keys[outside][0])}, outside O's {self.tiles} tiles"
            count += np.bincount(keys, minlength=self.tiles)
        if (count != 1).any():
            tile = int(np.flatnonzero(count != 1)[0])
            return (f"O tile {tile} gets {int(count[tile])} first writes, it needs exactly one "
                    "(psum.revisit or leader wrong, or tiles not covered)")
        still = all(s == 0 for s, f, r in zip(self.steps, self.factors, self.revisit) if r and f > 1)
        if still and (self.group_keys == self.group_keys[self.partner]).all():
            return None
        return self._first_early_write()

    def _first_early_write(self) -> str | None:
        """Every write in order: the first one to a tile before (or without) its first write."""
        first_at = np.full(self.tiles, np.iinfo(np.int64).max, dtype=np.int64)
        steps, groups = np.array(self.steps, dtype=np.int64), len(self.group_keys)
        revisiting = np.array(self.revisit, dtype=bool)
        done = 0
        for idx in _box_chunks(list(self.factors)):
            keys = ((self.base + idx @ steps)[:, None] + self.group_keys[None, :]).reshape(-1)
            first = (~(idx[:, revisiting] > 0).any(axis=1))[:, None] & self.leader[None, :]
            first = first.reshape(-1)
            outside = (keys < 0) | (keys >= self.tiles)
            position = done + np.arange(len(keys), dtype=np.int64)
            np.minimum.at(first_at, keys[first & ~outside], position[first & ~outside])
            early = outside.copy()
            early[~outside] = position[~outside] < first_at[keys[~outside]]
            if early.any():
                k = int(np.flatnonzero(early)[0])
                if outside[k]:
                    return f"write {done + k} lands on O tile {int(keys[k])}, outside O's {self.tiles} tiles"
                return (f"write {done + k} updates O tile {int(keys[k])} before its first write "
                        "(psum.revisit or leader wrong)")
            done += len(idx) * groups
        return None


def _coefficients(tr: Transfer, names: tuple[str, ...]) -> list[list[int]]:
    """Per tensor dim of `tr`'s origin, its coefficient on each of the loops `names`."""
    return [[sum(c for m, c in terms if m == n) for n in names] for _, terms in tr.origin]


def _box_chunks(factors: list[int]):
    """Every index vector of the box prod(range(f)), the first dim outermost, `CHUNK` rows at a time."""
    total = prod(factors)
    radix = [prod(factors[k + 1:]) for k in range(len(factors))]
    for start in range(0, total, CHUNK):
        flat = np.arange(start, min(start + CHUNK, total), dtype=np.int64)
        idx = np.empty((len(flat), len(factors)), dtype=np.int64)
        for k, (f, r) in enumerate(zip(factors, radix)):
            idx[:, k] = flat // r % f
        yield idx


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

    # -- transfers -------------------------------------------------------------------------------

    def _stepped(self, tr: Transfer) -> tuple[str, ...]:
        """The stepped loops down to `tr`'s depth, outermost first: it fires once per index of them."""
        return () if tr.depth is None else tuple(self.p.steps[:self.p.steps.index(tr.depth) + 1])

    def _fills(self, tr: Transfer) -> None:
        """Count a W or I fill's words; check that each window step continues the tile it slides.

        Consecutive firings whose depth loop advanced differ in that loop's index only, so every
        window step moves the origin by the depth loop's coefficients: one check, and the words in
        closed form (whole tiles, the new rows where the window slides)."""
        groups = _groups(self.p, tr, tr.multicast)
        words = prod(tr.extent)
        names = self._stepped(tr)
        firings = prod(self.p.loop(n).factor for n in names)
        moved = firings * words
        w = tr.window
        if w is not None and names and self.p.loop(names[-1]).factor > 1:
            step = [row[-1] for row in _coefficients(tr, names)]
            want = [w.rows if j == w.axis else 0 for j in range(len(tr.extent))]
            if step != want:
                raise self.fail(f"{tr.id}: the window moves the tile by {step}, its steady state "
                                f"brings {w.rows} new rows on axis {w.axis} (window.rows or origin wrong)")
            if w.rows < tr.extent[w.axis]:
                sliding = firings // self.p.loop(names[-1]).factor * (self.p.loop(names[-1]).factor - 1)
                moved -= sliding * (words - words // tr.extent[w.axis] * w.rows)
        self.reads[tr.tensor] += moved * len(groups.index)
        self.fills[tr.tensor] += moved * len(groups.index) * groups.members

    def _partial_sums(self) -> None:
        """O: count read-backs and drains by kind, and check each drain against the words' written state.

        A drain's tile origin is affine in the stepped loops' indices, so the counts and the alignment
        follow from the loops; the write order is checked on the first writes alone (`_Drains`)."""
        fill, drain = self.p.transfers["O.fill"], self.p.transfers["O.drain"]
        if (fill.depth, fill.origin, fill.extent, fill.psum) != (drain.depth, drain.origin, drain.extent, drain.psum):
            raise self.fail("O.fill and O.drain describe different tiles (depth, origin, extent or psum differ)")
        fill_groups = _groups(self.p, fill, fill.multicast)
        groups = _groups(self.p, drain, drain.reduce)
        leader_loops = tuple(n for n in drain.psum.leader if n not in drain.reduce)
        leader = groups.leading(leader_loops)
        extent = [int(e) for e in drain.extent]
        words = int(prod(drain.extent))
        grid = [s // e for s, e in zip(self.p.shapes["O"], extent)]
        tile_strides = [prod(grid[j + 1:]) for j in range(len(grid))]
        if (groups.starts % np.array(extent, dtype=np.int64)).any():
            raise self.fail("O.drain: the instances' tiles are not aligned to the tile extent (they would overlap)")
        names = self._stepped(drain)
        factors = tuple(self.p.loop(n).factor for n in names)
        coef = _coefficients(drain, names)
        if any(offset % e or any(c % e for c, f in zip(row, factors) if f > 1)
               for (offset, _), row, e in zip(drain.origin, coef, extent)):
            raise self.fail("O.drain: a tile origin is not aligned to the tile extent (tiles would overlap)")
        revisit = tuple(n in drain.psum.revisit for n in names)
        firings = prod(factors)
        fresh = prod(f for f, r in zip(factors, revisit) if not r)      # firings revisiting nothing
        readback = (firings - fresh) * drain.psum.read_back
        self.reads["O"] += readback * words * len(fill_groups.index)
        self.fills["O"] += readback * words * len(fill_groups.index) * fill_groups.members
        n_lead, writes = int(leader.sum()), firings * len(groups.index)
        first, over = fresh * n_lead, readback * n_lead
        self.o_counts["first_writes"] += first * words
        self.o_counts["overwrites"] += over * words
        self.o_counts["rmw"] += (writes - first - over) * words
        self.o_counts["updates"] += writes * words
        self.writebacks += writes * groups.members * words

        def key(origin: list[int]) -> int:
            return sum(v // e * s for v, e, s in zip(origin, extent, tile_strides))
        drains = _Drains(factors=factors, steps=tuple(key([row[k] for row in coef]) for k in range(len(names))),
                         revisit=revisit, base=key([offset for offset, _ in drain.origin]),
                         group_keys=(groups.starts // np.array(extent, dtype=np.int64)) @ np.array(
                             tile_strides, dtype=np.int64),
                         leader=leader, partner=groups.partners(leader_loops), tiles=int(prod(grid)))
        problem = drains.write_order_problem()
        if problem:
            raise self.fail(f"O.drain: {problem}")

    # -- residency ---------------------------------------------------------------------------------

    def _prove_resident(self, t: str) -> None:
        """Exactly: for every step and compute instance, the box the compute touches lies in the tile.

        Per tensor dim, (coordinate - tile origin) is an affine sum of independent loop indices and box
        offsets; its least and largest values over their ranges must lie in [0, extent).
        """
        p = self.p
        tr = p.transfers["O.drain"] if t == "O" else p.fill(t)
        held = set(self._stepped(tr)) | set(tr.instance_loops)
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
