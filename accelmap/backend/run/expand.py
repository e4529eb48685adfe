"""The expanded command stream of a layer, derived on demand from its loop program.

One record per transfer and per step, in order (docs/command-stream.md):
LAYER, then per step the tiles whose residency ends there (STORE /
ACCUMULATE the old O tile, LOAD or ZERO the new one) and a COMPUTE, then the
last write-backs and END. For debugging and for those who want every
transfer listed; the loop program is what OUTDIR holds. It reads the checked
`LoopProgram` only.
"""
from __future__ import annotations

from collections.abc import Iterator
from itertools import islice, product
from math import prod
from pathlib import Path
from typing import Any

from accelmap.backend.outdir.load import load_schedule
from accelmap.backend.run.program import LoopProgram, Transfer, read_program
from accelmap.errors import ScheduleError
from accelmap.ir.workload import DIMS

Combo = tuple[int | None, ...]


def stream_records(out_dir: str | Path, layer: str, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """The first `limit` records (all when None) of `layer`'s stream in OUTDIR `out_dir`, after checking it."""
    schedule = load_schedule(out_dir)
    try:
        plan = schedule.layer(layer)
    except KeyError:
        names = ", ".join(p.name for p in schedule.layers[:8])
        raise ScheduleError(f"{out_dir}: no mapped layer {layer!r}; layers include {names}") from None
    program = read_program(Path(out_dir), plan, schedule.arch)
    records = expand(program)
    return records if limit is None else islice(records, limit)


def header(p: LoopProgram) -> dict[str, Any]:
    """The LAYER record: what each tensor's records address and how instances are numbered."""
    def loops(names: tuple[str, ...]) -> list[dict[str, Any]]:
        return [{"fanout": p.loop(n).fanout, "axis": p.loop(n).axis, "dim": p.loop(n).dim, "factor": p.loop(n).factor,
                 "stride": p.loop(n).stride} for n in names]
    tensors = {}
    for t in "WIO":
        fill = p.fill(t)
        k = fill.keeper
        tensors[t] = {"level": k.level, "buffer": k.buffer, "word_bits": k.word_bits, "tile": list(fill.extent),
                      "addresses": list(k.addresses), "instance_loops": loops(fill.instance_loops),
                      "select": [n not in fill.multicast for n in fill.instance_loops],
                      "separate": [n not in p.transfers["O.drain"].reduce if t == "O" else True
                                   for n in fill.instance_loops]}
    return {"op": "LAYER", "layer": p.layer, "steps": prod(p.loop(n).factor for n in p.steps), "tensors": tensors,
            "compute_loops": loops(p.compute_loops), "compute_tile": [p.box[d] for d in DIMS]}


class _Tile:
    """One tensor's residencies while the stream steps: current half, the residency's loop indices."""

    def __init__(self, p: LoopProgram, fill: Transfer):
        self.p, self.fill = p, fill
        self.half = -1
        self.values: dict[str, int] = {}
        self.readback = self.revisit = False

    def region(self, values: dict[str, int], combo: Combo) -> list[list[int]]:
        """The tile's [start, stop) per tensor dim at `values`, for the instances `combo` names."""
        at = dict(values)
        at.update({n: i for n, i in zip(self.fill.instance_loops, combo) if i is not None})
        return [[offset + sum(c * at.get(n, 0) for n, c in terms),
                 offset + sum(c * at.get(n, 0) for n, c in terms) + e]
                for (offset, terms), e in zip(self.fill.origin, self.fill.extent)]

    def combos(self, shared: tuple[str, ...]) -> Iterator[Combo]:
        """Index tuples over the instance loops, None on the `shared` ones (multicast or reduced)."""
        return product(*((None,) if n in shared else range(self.p.loop(n).factor) for n in self.fill.instance_loops))

    def begin(self, values: dict[str, int], advanced: bool) -> Iterator[dict[str, Any]]:
        """LOAD (or ZERO) records that start a residency at this step."""
        fill, t = self.fill, self.fill.tensor
        sliding = fill.window is not None and advanced
        if not sliding:
            self.half = (self.half + 1) % len(fill.keeper.addresses)
        addr = fill.keeper.addresses[self.half]
        self.values = dict(values)
        if t == "O":
            revisit = any(values.get(n, 0) > 0 for n in fill.psum.revisit)
            self.readback = revisit and fill.psum.read_back
            self.revisit = revisit
            if not self.readback:
                yield {"op": "ZERO", "tensor": "O", "addr": addr}
                return
        for combo in self.combos(fill.multicast):
            region = self.region(values, combo)
            if sliding:
                axis, rows = fill.window.axis, fill.window.rows
                if rows < region[axis][1] - region[axis][0]:
                    region[axis][0] = region[axis][1] - rows
            yield {"op": "LOAD", "tensor": t, "region": region, "addr": addr, "to": list(combo)}

    def writes(self, drain: Transfer) -> Iterator[dict[str, Any]]:
        """STORE / ACCUMULATE records that end the O residency."""
        addr = self.fill.keeper.addresses[self.half]
        for combo in self.combos(drain.reduce):
            leader = all(i in (0, None) for n, i in zip(drain.instance_loops, combo) if n in drain.psum.leader)
            first = not self.revisit and leader
            add = not first and not (self.readback and leader)
            yield {"op": "STORE" if first else "ACCUMULATE", "tensor": "O", "region": self.region(self.values, combo),
                   "addr": addr, "from": list(combo), "add": add}


def compute_ranges(p: LoopProgram, values: dict[str, int]) -> dict[str, list[list[int]]]:
    """Per dim, the [start, stop) ranges one step covers over all compute instances."""
    base = {d: 0 for d in DIMS}
    for n in p.steps:
        base[p.loop(n).dim] += values[n] * p.loop(n).stride
    ranges = {}
    for d in DIMS:
        offsets = {0}
        for n in p.compute_loops:
            lp = p.loop(n)
            if lp.dim == d:
                offsets = {o + i * lp.stride for o in offsets for i in range(lp.factor)}
        merged: list[list[int]] = []
        for start in sorted(offsets):
            if merged and merged[-1][1] == base[d] + start:
                merged[-1][1] += p.box[d]
            else:
                merged.append([base[d] + start, base[d] + start + p.box[d]])
        ranges[d] = merged
    return ranges


def expand(p: LoopProgram) -> Iterator[dict[str, Any]]:
    """Every record of the layer's stream, in order."""
    yield header(p)
    tiles = {t: _Tile(p, p.fill(t)) for t in "WIO"}
    depth = {t: (None if p.fill(t).depth is None else p.steps.index(p.fill(t).depth)) for t in "WIO"}
    factors = [p.loop(n).factor for n in p.steps]
    idx = [0] * len(factors)
    values = dict.fromkeys(p.steps, 0)
    changed, count = 0, 0
    for step in range(prod(factors)):
        for t in "WIO":
            if step == 0 or (depth[t] is not None and changed <= depth[t]):
                if t == "O" and step > 0:
                    yield from tiles["O"].writes(p.transfers["O.drain"])
                yield from tiles[t].begin(values, step > 0 and changed == depth[t])
        yield {"op": "COMPUTE", "step": step, "tile": compute_ranges(p, values)}
        count += 1
        changed = len(factors) - 1
        while changed >= 0:
            idx[changed] += 1
            values[p.steps[changed]] = idx[changed] % factors[changed]
            if idx[changed] < factors[changed]:
                break
            idx[changed] = 0
            changed -= 1
    yield from tiles["O"].writes(p.transfers["O.drain"])
    yield {"op": "END", "steps": count}

