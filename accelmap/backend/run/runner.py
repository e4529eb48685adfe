"""Run one layer's loop program against simulated memories, whole tiles at a time, counting every word.

The executor's half of docs/loop-program.md. DRAM tensors are numpy arrays
in canonical layout (padding materialised as zeros), each keeper a
`Memories` buffer with one row per instance, every tile addressed modulo its
extents. The runner steps through the stepped loops down to the deepest
firing depth; at each such step it fires the descriptors whose depth (or a
loop outside it) advanced, each over all its instances at once, then
computes every step below that depth and every compute instance in one
batched product. Counters use the cost model's words (`Counts`), plus
`writebacks`: words leaving the keeper's instances before spatial reduction.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from math import gcd, prod

import numpy as np

from accelmap.backend.run.memory import BufferSpec, Memories, buffer_spec
from accelmap.backend.run.program import LoopProgram, Transfer
from accelmap.errors import ScheduleError
from accelmap.ir.kernels import conv_nest
from accelmap.ir.workload import DIMS, Workload
from accelmap.mapper.counts import Counts

MAX_ROWS = 1 << 14
"""Compute rows (steps x compute instances) batched into one product; more are split (bounds memory)."""


@dataclass(frozen=True)
class TensorCounts:
    """Words one tensor moved across the DRAM boundary of one layer: the model's six counts at DRAM
    (`dram`: reads, updates, first writes, overwrites, rmw) and at its keeper (`keeper`: fills), and
    the words that left the keeper's instances on write-back (`writebacks`, O only)."""

    tensor: str
    level: str
    dram: Counts
    keeper: Counts
    writebacks: int


class _Grid:
    """Instances of a descriptor's keeper, grouped: one group per index of the non-shared loops.

    `ids[g]` are the instances of group g (those differing only on the shared
    loops: multicast for fills, reduce for drains); `starts[g]` the group's
    origin contribution per tensor dim; `index[g]` its indices per instance loop.
    """

    def __init__(self, program: LoopProgram, transfer: Transfer, shared: tuple[str, ...]):
        loops = [program.loop(n) for n in transfer.instance_loops]
        factors = [lp.factor for lp in loops]
        keep = [lp.name not in shared for lp in loops]
        combos = list(product(*(range(f) if k else (0,) for f, k in zip(factors, keep))))
        spread = list(product(*(range(f) if not k else (0,) for f, k in zip(factors, keep))))
        radix = [prod(factors[j + 1:]) for j in range(len(factors))]
        self.ids = np.array([[sum((a + b) * r for a, b, r in zip(c, s, radix)) for s in spread] for c in combos],
                            dtype=np.int64).reshape(len(combos), len(spread))
        self.index = np.array(combos, dtype=np.int64).reshape(len(combos), len(loops))
        self.names = [lp.name for lp in loops]
        self.starts = np.zeros((len(combos), len(transfer.origin)), dtype=np.int64)
        for j, (_, terms) in enumerate(transfer.origin):
            coef = dict(terms)
            for k, name in enumerate(self.names):
                if name in coef:
                    self.starts[:, j] += self.index[:, k] * coef[name]

    def where_zero(self, names: tuple[str, ...]) -> np.ndarray:
        """Mask of the groups whose index is 0 on each of `names` (loops shared by the group count as 0)."""
        mask = np.ones(len(self.index), dtype=bool)
        for k, name in enumerate(self.names):
            if name in names:
                mask &= self.index[:, k] == 0
        return mask


class LayerRun:
    """The simulation of one layer: memories, DRAM, counters, and the walk over the stepped loops."""

    def __init__(self, program: LoopProgram, dram: dict[str, np.ndarray]):
        self.p = program
        self.dram = dram
        self.memories = Memories(program.layer, dram["O"].dtype)
        self.specs = self._specs()
        self.dram_counts = {t: dict.fromkeys(Counts.FIELDS, 0) for t in "WIO"}
        self.keeper_fills = {t: 0 for t in "WIO"}
        self.writebacks = 0
        self.written = np.zeros(dram["O"].shape, dtype=bool)
        self.half = {t: -1 for t in "WIO"}
        self.held = {t: (np.zeros((self.specs[t].instances, 5), np.int64), np.zeros((self.specs[t].instances, 5), np.int64))
                     for t in "WIO"}
        self.began: dict[str, int] = {}
        grids = {}
        for tid, tr in program.transfers.items():
            grids[tid] = _Grid(program, tr, tr.reduce if tr.kind == "drain" else tr.multicast)
        self.grids = grids
        steps = [program.loop(n) for n in program.steps]
        depths = [steps.index(program.loop(tr.depth)) for tr in program.transfers.values() if tr.depth is not None]
        self.split = max(depths, default=-1) + 1
        self.outer, self.inner = steps[:self.split], steps[self.split:]
        self._prepare_compute()

    def fail(self, message: str) -> ScheduleError:
        """A ScheduleError naming the layer and its program file."""
        return ScheduleError(f"layer {self.p.layer!r}: loop program: {message}")

    def _specs(self) -> dict[str, BufferSpec]:
        """Each tensor's keeper buffer; tensors sharing a buffer share its slots (gcd of their word widths)."""
        keepers = {t: self.p.fill(t).keeper for t in "WIO"}
        instances = {t: prod(self.p.loop(n).factor for n in self.p.fill(t).instance_loops) for t in "WIO"}
        specs = {}
        for t, k in keepers.items():
            shared = [u for u, other in keepers.items() if (other.level, other.buffer) == (k.level, k.buffer)]
            if k.level == "MAC" or len({instances[u] for u in shared}) != 1:
                shared = [t] if k.level == "MAC" else shared
            if len({instances[u] for u in shared}) != 1:
                raise self.fail(f"{k.level}/{k.buffer} is given different instance counts by its tensors")
            unit = 0
            for u in shared:
                unit = gcd(unit, keepers[u].word_bits)
            name = k.buffer if k.level != "MAC" else f"{t} register"
            specs[t] = buffer_spec(k.level, name, instances[t], k.capacity_bits, [unit])
        return specs

    def _tiles(self, t: str) -> np.ndarray:
        """The [instance, *extent] view of `t`'s tile in its current half."""
        tr = self.p.fill(t)
        addr = tr.keeper.addresses[self.half[t]]
        return self.memories.tiles(self.specs[t], addr, tr.keeper.word_bits, tr.extent, t)

    # -- the walk ----------------------------------------------------------------------------------

    def run(self) -> dict[str, TensorCounts]:
        """Execute the whole program; returns the words moved per tensor."""
        p = self.p
        depth = {tid: (None if tr.depth is None else p.steps.index(tr.depth)) for tid, tr in p.transfers.items()}
        factors = [lp.factor for lp in self.outer]
        idx = [0] * len(factors)
        values = {lp.name: 0 for lp in self.outer + self.inner}
        changed = 0
        for step in range(prod(factors)):
            for tid in ("W.fill", "I.fill", "O.fill"):
                pos = depth[tid]
                if step == 0 or (pos is not None and changed <= pos):
                    if tid == "O.fill" and step > 0:
                        self._drain()
                    self._fire(p.transfers[tid], values, step > 0 and changed == pos)
            self._compute(values)
            changed = len(factors) - 1
            while changed >= 0:
                idx[changed] += 1
                if idx[changed] < factors[changed]:
                    values[self.outer[changed].name] = idx[changed]
                    break
                idx[changed] = 0
                values[self.outer[changed].name] = 0
                changed -= 1
        self._drain()
        return self._result()

    def _origin(self, tr: Transfer, values: dict[str, int]) -> np.ndarray:
        """The descriptor's DRAM origin per tensor dim from the stepped loops' indices."""
        return np.array([offset + sum(c * values[n] for n, c in terms if n in values) for offset, terms in tr.origin],
                        dtype=np.int64)

    @staticmethod
    def _box_index(starts: np.ndarray, extent: tuple[int, ...]) -> tuple[np.ndarray, ...]:
        """Broadcast index arrays [row, e0, ..., e4] of the boxes [starts, starts + extent) ([row, 5] starts)."""
        out = []
        for j, e in enumerate(extent):
            shape = [len(starts)] + [1] * len(extent)
            shape[1 + j] = e
            out.append((starts[:, j:j + 1] + np.arange(e)).reshape(shape))
        return tuple(out)

    def _fire(self, tr: Transfer, values: dict[str, int], advanced: bool) -> None:
        """Start a new residency of `tr.tensor`'s tile: a whole-tile or window fill, a zero or a read-back."""
        t = tr.tensor
        grid = self.grids[tr.id]
        origin = grid.starts + self._origin(tr, values)
        extent = np.array(tr.extent, dtype=np.int64)
        sliding = tr.window is not None and advanced
        slide = sliding and tr.window.rows < tr.extent[tr.window.axis]
        if not sliding:
            self.half[t] = (self.half[t] + 1) % len(tr.keeper.addresses)
        tiles = self._tiles(t)
        lo, hi = self.held[t]
        if t == "O":
            self.began = dict(values)
            tiles[...] = 0
            lo[grid.ids], hi[grid.ids] = origin[:, None], (origin + extent)[:, None]
            if not (tr.psum.read_back and any(values[n] > 0 for n in tr.psum.revisit)):
                return
            self._move_in(tr, grid, origin, tr.extent, tiles, self._leaders(tr, grid))
            return
        region_start, region_extent = origin, tr.extent
        if slide:
            axis, rows = tr.window.axis, tr.window.rows
            new_start = origin[:, axis] + tr.extent[axis] - rows
            if not (hi[grid.ids[:, 0], axis] == new_start).all():
                raise self.fail(f"{tr.id}: the window's new rows start at {int(new_start[0])} on axis {axis}, the "
                                f"held tile ends at {int(hi[grid.ids[0, 0], axis])} (window.rows wrong?)")
            region_start = origin.copy()
            region_start[:, axis] = new_start
            region_extent = tuple(rows if j == axis else e for j, e in enumerate(tr.extent))
        self._move_in(tr, grid, region_start, region_extent, tiles, None)
        lo[grid.ids], hi[grid.ids] = origin[:, None], (origin + extent)[:, None]

    def _leaders(self, tr: Transfer, grid: _Grid) -> np.ndarray:
        """[group, member] mask of the instances with index 0 on every leader loop (they take read-back sums)."""
        loops = [self.p.loop(n) for n in tr.instance_loops]
        factors = [lp.factor for lp in loops]
        digits = np.stack(np.unravel_index(grid.ids, factors), axis=-1) if factors else np.zeros(grid.ids.shape + (0,),
                                                                                                   np.int64)
        mask = np.ones(grid.ids.shape, dtype=bool)
        for k, lp in enumerate(loops):
            if lp.name in tr.psum.leader:
                mask &= digits[..., k] == 0
        return mask

    def _move_in(self, tr: Transfer, grid: _Grid, starts: np.ndarray, extent: tuple[int, ...], tiles: np.ndarray,
                 leader: np.ndarray | None) -> None:
        """Read boxes [starts, starts + extent) per group from DRAM into every instance of the group."""
        t = tr.tensor
        shape = self.dram[t].shape
        if (starts < 0).any() or (starts + np.array(extent) > np.array(shape)).any():
            raise self.fail(f"{tr.id}: region {starts[0].tolist()} + {list(extent)} lies outside {t} {list(shape)}")
        where = self._box_index(starts, extent)
        data = self.dram[t][where]
        slots = tuple(((w % e)[:, None]) for w, e in zip(where, tr.extent))
        members = grid.ids.reshape(grid.ids.shape + (1,) * len(extent))
        if leader is None:
            tiles[(members,) + slots] = data[:, None]
        else:
            mask = leader.reshape(leader.shape + (1,) * len(extent))
            tiles[(members,) + slots] = np.where(mask, data[:, None], 0)
        counts = self.dram_counts[t]
        counts["reads"] += data.size
        self.keeper_fills[t] += data.size * grid.ids.shape[1]

    def _drain(self) -> None:
        """End the O residency: per group, sum the instances reduced in the array and write the tile to DRAM."""
        tr = self.p.transfers["O.drain"]
        grid = self.grids["O.drain"]
        origin = grid.starts + self._origin(tr, self.began)
        tiles = self._tiles("O")
        where = self._box_index(origin, tr.extent)
        slots = tuple(((w % e)[:, None]) for w, e in zip(where, tr.extent))
        members = grid.ids.reshape(grid.ids.shape + (1,) * len(tr.extent))
        values = tiles[(members,) + slots].sum(axis=1)
        revisit = any(self.began.get(n, 0) > 0 for n in tr.psum.revisit)
        leader = grid.where_zero(tuple(n for n in tr.psum.leader if n not in tr.reduce))
        o = self.dram["O"]
        counts = self.dram_counts["O"]
        size = int(np.prod(tr.extent))
        if leader.any():
            lead_where = tuple(w[leader] for w in where)
            done = self.written[lead_where]
            if not revisit:
                if done.any():
                    raise self.fail(f"O.drain: a first write to O words already written (revisit loops "
                                    f"{list(tr.psum.revisit)} wrong?)")
                o[lead_where] = values[leader]
                counts["first_writes"] += size * int(leader.sum())
            elif tr.psum.read_back:
                if not done.all():
                    raise self.fail("O.drain: overwrites O words never written")
                o[lead_where] = values[leader]
                counts["overwrites"] += size * int(leader.sum())
            else:
                if not done.all():
                    raise self.fail("O.drain: updates O words never written")
                np.add.at(o, lead_where, values[leader])
                counts["rmw"] += size * int(leader.sum())
            self.written[lead_where] = True
        rest = ~leader
        if rest.any():
            rest_where = tuple(w[rest] for w in where)
            if not self.written[rest_where].all():
                raise self.fail("O.drain: accumulates into O words never written")
            np.add.at(o, rest_where, values[rest])
            counts["rmw"] += size * int(rest.sum())
        counts["updates"] += size * len(grid.ids)
        self.writebacks += size * grid.ids.size

    # -- compute -----------------------------------------------------------------------------------

    def _prepare_compute(self) -> None:
        """Static parts of the compute batch: every (inner step, compute instance) row's offset per dim,
        the keeper instance it reads per tensor, and the box extents per tensor dim."""
        p = self.p
        comp = [p.loop(n) for n in p.compute_loops]
        loops = self.inner + comp
        combos = np.array(list(product(*(range(lp.factor) for lp in loops))), dtype=np.int64).reshape(
            prod(lp.factor for lp in loops), len(loops))
        self.rows = len(combos)
        self.row_offsets = np.zeros((self.rows, len(DIMS)), dtype=np.int64)
        for k, lp in enumerate(loops):
            self.row_offsets[:, DIMS.index(lp.dim)] += combos[:, k] * lp.stride
        self.coef = {}
        self.const = {}
        self.owner = {}
        self.box_extent = {}
        for t in "WIO":
            offsets, terms = zip(*p.index[t])
            coef = np.zeros((len(DIMS), len(offsets)), dtype=np.int64)
            for j, tt in enumerate(terms):
                for d, c in tt:
                    coef[DIMS.index(d), j] = c
            self.coef[t], self.const[t] = coef, np.array(offsets, dtype=np.int64)
            inst = p.fill(t).instance_loops
            missing = [n for n in inst if n not in p.compute_loops]
            if missing:
                raise self.fail(f"{t}'s instance loops {missing} are not compute loops")
            factors = [p.loop(n).factor for n in inst]
            owner = np.zeros(self.rows, dtype=np.int64)
            for n, f in zip(inst, factors):
                owner = owner * f + combos[:, len(self.inner) + p.compute_loops.index(n)]
            self.owner[t] = owner
            self.box_extent[t] = p.box_extent(t)
        box = p.box
        self.folded_g = box["G"]

    def _compute(self, values: dict[str, int]) -> None:
        """Every MAC of the steps below the deepest firing depth, over all compute instances, from the tiles."""
        base = np.zeros(len(DIMS), dtype=np.int64)
        for lp in self.outer:
            base[DIMS.index(lp.dim)] += values[lp.name] * lp.stride
        for start in range(0, self.rows, MAX_ROWS):
            rows = slice(start, min(start + MAX_ROWS, self.rows))
            at = self.row_offsets[rows] + base
            w = self._operand("W", at, rows)
            i = self._operand("I", at, rows)
            count, g = len(at), self.folded_g
            box = self.p.box
            folded = Workload(tuple((d, box[d] * count if d == "G" else box[d]) for d in DIMS),
                              self._stride(), self._dilation())
            i_all = i.transpose(1, 0, 2, 3, 4, 5).reshape((i.shape[1], count * g) + i.shape[3:])
            result = conv_nest(i_all, w.reshape((count * g,) + w.shape[2:]), folded)
            result = result.reshape((result.shape[0], count, g) + result.shape[2:]).transpose(1, 0, 2, 3, 4, 5)
            starts = at @ self.coef["O"] + self.const["O"]
            self._check_resident("O", starts, rows)
            index = self._tile_index("O", starts, rows)
            np.add.at(self._tiles("O"), index, result)

    def _stride(self) -> tuple[int, int]:
        (_, terms_h), (_, terms_w) = self.p.index["I"][3], self.p.index["I"][4]
        return dict(terms_h).get("P", 1), dict(terms_w).get("Q", 1)

    def _dilation(self) -> tuple[int, int]:
        (_, terms_h), (_, terms_w) = self.p.index["I"][3], self.p.index["I"][4]
        return dict(terms_h).get("R", 1), dict(terms_w).get("S", 1)

    def _check_resident(self, t: str, starts: np.ndarray, rows: slice) -> None:
        """Every row's box of `t` must lie inside the tile its keeper instance holds."""
        lo, hi = self.held[t]
        owner = self.owner[t][rows]
        outside = (starts < lo[owner]) | (starts + np.array(self.box_extent[t]) > hi[owner])
        if outside.any():
            bad = int(np.flatnonzero(outside.any(axis=1))[0])
            region = [[int(s), int(s + e)] for s, e in zip(starts[bad], self.box_extent[t])]
            raise self.fail(f"the compute reads {t} {region}, which is not resident in its tile "
                            f"(held {np.stack([lo[owner[bad]], hi[owner[bad]]], axis=1).tolist()})")

    def _tile_index(self, t: str, starts: np.ndarray, rows: slice) -> tuple[np.ndarray, ...]:
        """Index [row, *box] into `t`'s tile view: the keeper instance, then coordinates modulo the extents."""
        extent = self.p.fill(t).extent
        where = self._box_index(starts, self.box_extent[t])
        owner = self.owner[t][rows].reshape((-1,) + (1,) * len(extent))
        return (owner,) + tuple(w % e for w, e in zip(where, extent))

    def _operand(self, t: str, at: np.ndarray, rows: slice) -> np.ndarray:
        """The W or I box each row reads, gathered from its keeper instance's resident tile."""
        starts = at @ self.coef[t] + self.const[t]
        self._check_resident(t, starts, rows)
        return self._tiles(t)[self._tile_index(t, starts, rows)]

    def _result(self) -> dict[str, TensorCounts]:
        out = {}
        for t in "WIO":
            k = self.p.fill(t).keeper
            dram = Counts(**self.dram_counts[t])
            keeper = Counts(fills=self.keeper_fills[t], reads=0, updates=0, first_writes=0, overwrites=0, rmw=0)
            out[t] = TensorCounts(t, k.level, dram, keeper, self.writebacks if t == "O" else 0)
        return out
