"""The reference: the per-layer command stream as OUTDIR held it before the loop program (format 1).

Kept in the tests, unchanged in its semantics, so that the stream the loop
program expands to (`accelmap stream`) can be held against it record by record.

Each tensor is moved between DRAM and its outermost on-chip keeper (or, when
no on-chip level keeps it, straight to the MACs' operand registers). The
stream walks the temporal loops above the deepest such keeper; at each step
it first replaces the tiles whose residency ends there (write back O, LOAD
or ZERO the new tile), then COMPUTEs the step (docs/command-stream.md).
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import product
from math import prod
from pathlib import Path
from typing import Any

from accelmap.arch.spec import Arch
from accelmap.backend.outdir.buffers import BufferEntry
from accelmap.backend.outdir.nest import LayerNest, NestLoop, TensorNest, coordinates, layer_nest, tensor_box
from accelmap.ir.workload import DIMS, TENSORS, Workload
from accelmap.mapper.mapping import Mapping

MAC_LEVEL = "MAC"
"""The keeper name of a tensor no on-chip level keeps: it streams to the MACs' operand registers."""

_WINDOW_AXIS = {"P": 3, "R": 3, "Q": 4, "S": 4}
"""Sliding-window dims and the axis of I ([N,G,C,H,W]) they move."""


@dataclass(frozen=True)
class Port:
    """How the stream addresses one tensor: its keeper, buffer, word width, tile addresses, instance loops.

    `select[i]` says whether the i-th spatial loop above the keeper picks
    which instances a LOAD goes to (False: the word is multicast to all of
    them); `separate[i]` whether O tiles along it are written back one by
    one (False: summed in the array by spatial reduction). `addresses` are
    the tile's word addresses in its buffer, one per ping-pong half.
    """

    nest: TensorNest
    level: str
    buffer: str
    word_bits: int
    addresses: tuple[int, ...]
    select: tuple[bool, ...]
    separate: tuple[bool, ...]

    @property
    def streamed(self) -> bool:
        """True when no on-chip level keeps the tensor."""
        return self.level == MAC_LEVEL


def ports(workload: Workload, mapping: Mapping, arch: Arch, buffers: tuple[BufferEntry, ...],
          nest: LayerNest | None = None) -> dict[str, Port]:
    """The `Port` of each tensor, from the layer's nest and buffer plan."""
    nest = nest or layer_nest(workload, mapping, arch)
    plan = {(entry.level, entry.tensor): entry for entry in buffers}
    result = {}
    for t in TENSORS:
        tn = nest.tensors[t]
        relevant = workload.relevant(t)
        select = tuple(loop.dim in relevant or not arch.fanouts[loop.fanout].multicast for loop in tn.spatial)
        separate = tuple(loop.dim in relevant or not arch.fanouts[loop.fanout].reduction for loop in tn.spatial)
        if tn.keeper == len(arch.levels):
            result[t] = Port(tn, MAC_LEVEL, f"{t} register", arch.levels[0].tensors[t].word_bits, (0,),
                             select, separate)
        else:
            entry = plan[arch.levels[tn.keeper].name, t]
            result[t] = Port(tn, entry.level, entry.buffer, entry.word_bits,
                             tuple(h.start_word for h in entry.halves), select, separate)
    return result


def header(layer: str, nest: LayerNest, tensor_ports: dict[str, Port]) -> dict[str, Any]:
    """The stream's first record: what each tensor's commands address and how instances are numbered."""
    def loops(items: tuple[NestLoop, ...]) -> list[dict[str, Any]]:
        return [{"fanout": loop.fanout, "axis": loop.axis, "dim": loop.dim, "factor": loop.factor,
                 "stride": loop.stride} for loop in items]
    return {"op": "LAYER", "layer": layer, "steps": nest.steps,
            "tensors": {t: {"level": p.level, "buffer": p.buffer, "word_bits": p.word_bits,
                            "tile": list(p.nest.tile_shape), "addresses": list(p.addresses),
                            "instance_loops": loops(p.nest.spatial), "select": list(p.select),
                            "separate": list(p.separate)} for t, p in tensor_ports.items()},
            "compute_loops": loops(nest.spatial), "compute_tile": [nest.inner[d] for d in DIMS]}


class _Walker:
    """State of one tensor while the stream steps: current half, residency, tiles seen and written."""

    def __init__(self, workload: Workload, port: Port, outer: tuple[NestLoop, ...]):
        self.workload, self.port, self.tn = workload, port, port.nest
        self.outer = outer
        self.half = -1
        self.base: dict[str, int] = {}
        self.readback = False
        self.seen: set[tuple[int, ...]] = set()
        self.written: set[tuple[tuple[int, int], ...]] = set()

    def ends_residency(self, step: int, changed: int) -> bool:
        """Whether the tile changes at this step (the first step, or a loop at or outside the reuse loop moved)."""
        return step == 0 or (self.tn.reuse is not None and changed <= self.tn.reuse)

    def temporal_base(self, idx: list[int]) -> dict[str, int]:
        """Coordinates set by the temporal loops above the keeper."""
        return coordinates(tuple(self.outer[i] for i in self.tn.temporal), [idx[i] for i in self.tn.temporal])

    def combos(self, mask: tuple[bool, ...]) -> Iterator[tuple[int | None, ...]]:
        """Spatial index tuples over the loops `mask` keeps (None where a loop is broadcast / merged)."""
        ranges = [range(loop.factor) if keep else (None,) for loop, keep in zip(self.tn.spatial, mask)]
        return product(*ranges)

    def region(self, combo: tuple[int | None, ...]) -> list[list[int]]:
        """The tile's canonical [start, stop) per dim for the instances `combo` names."""
        base = dict(self.base)
        for loop, index in zip(self.tn.spatial, combo):
            if index is not None:
                base[loop.dim] += index * loop.stride
        return [list(r) for r in tensor_box(self.workload, self.tn.tensor, base, self.tn.tile)]

    def is_leader(self, combo: tuple[int | None, ...]) -> bool:
        """Whether the group `combo` contains the instance with index 0 on every O-irrelevant loop."""
        relevant = self.workload.relevant("O")
        return all(index in (0, None) for loop, index in zip(self.tn.spatial, combo) if loop.dim not in relevant)

    def writes(self) -> Iterator[dict[str, Any]]:
        """STORE / ACCUMULATE the current O tile of every instance group."""
        addr = self.port.addresses[self.half]
        for combo in self.combos(self.port.separate):
            region = self.region(combo)
            key = tuple(map(tuple, region))
            first = key not in self.written
            self.written.add(key)
            add = not first and not (self.readback and self.is_leader(combo))
            yield {"op": "STORE" if first else "ACCUMULATE", "tensor": "O", "region": region, "addr": addr,
                   "from": list(combo), "add": add}

    def begin(self, idx: list[int], step: int, changed: int) -> Iterator[dict[str, Any]]:
        """Commands that start a new residency of the tile at this step."""
        t = self.tn.tensor
        self.base = self.temporal_base(idx)
        sliding = (self.tn.slides and step > 0 and not self.port.streamed and changed == self.tn.reuse
                   and self.outer[changed].dim in _WINDOW_AXIS)
        if not sliding:
            self.half = (self.half + 1) % len(self.port.addresses)
        addr = self.port.addresses[self.half]
        if t == "O":
            key = tuple(idx[i] for i in self.tn.temporal if self.outer[i].dim in self.workload.relevant("O"))
            self.readback = key in self.seen and not self.port.streamed
            self.seen.add(key)
            if not self.readback:
                yield {"op": "ZERO", "tensor": "O", "addr": addr}
                return
        for combo in self.combos(self.port.select):
            region = self.region(combo)
            if sliding:
                axis, shift = self._window_shift(self.outer[changed])
                if shift < region[axis][1] - region[axis][0]:
                    region[axis][0] = region[axis][1] - shift
            yield {"op": "LOAD", "tensor": t, "region": region, "addr": addr, "to": list(combo)}

    def _window_shift(self, loop: NestLoop) -> tuple[int, int]:
        """(axis of I, rows or columns the window moves) when sliding-window loop `loop` advances."""
        (sh, sw), (dh, dw) = self.workload.stride, self.workload.dilation
        step = {"P": sh, "R": dh, "Q": sw, "S": dw}[loop.dim]
        return _WINDOW_AXIS[loop.dim], step * loop.stride


def compute_ranges(nest: LayerNest, base: dict[str, int]) -> dict[str, list[list[int]]]:
    """Per dim, the [start, stop) ranges one step covers over all compute instances."""
    ranges = {}
    for d in DIMS:
        offsets = {0}
        for loop in nest.spatial:
            if loop.dim == d:
                offsets = {o + i * loop.stride for o in offsets for i in range(loop.factor)}
        merged: list[list[int]] = []
        for start in sorted(offsets):
            if merged and merged[-1][1] == base[d] + start:
                merged[-1][1] += nest.inner[d]
            else:
                merged.append([base[d] + start, base[d] + start + nest.inner[d]])
        ranges[d] = merged
    return ranges


def layer_commands(layer: str, workload: Workload, mapping: Mapping, arch: Arch,
                   buffers: tuple[BufferEntry, ...]) -> Iterator[dict[str, Any]]:
    """The command stream of one layer: LAYER, then per step the tile changes and a COMPUTE, then END."""
    nest = layer_nest(workload, mapping, arch)
    tensor_ports = ports(workload, mapping, arch, buffers, nest)
    yield header(layer, nest, tensor_ports)
    walkers = {t: _Walker(workload, p, nest.outer) for t, p in tensor_ports.items()}
    factors = [loop.factor for loop in nest.outer]
    idx = [0] * len(factors)
    changed = 0
    count = 0
    for step in range(nest.steps):
        for t in TENSORS:
            walker = walkers[t]
            if walker.ends_residency(step, changed):
                if t == "O" and step > 0:
                    yield from walker.writes()
                yield from walker.begin(idx, step, changed)
        base = coordinates(nest.outer, idx)
        yield {"op": "COMPUTE", "step": step, "tile": compute_ranges(nest, base)}
        count += 1
        changed = len(factors) - 1
        while changed >= 0:
            idx[changed] += 1
            if idx[changed] < factors[changed]:
                break
            idx[changed] = 0
            changed -= 1
    yield from walkers["O"].writes()
    yield {"op": "END", "steps": count}


def write_commands(path: Path, layer: str, workload: Workload, mapping: Mapping, arch: Arch,
                   buffers: tuple[BufferEntry, ...]) -> int:
    """Write one layer's stream as JSON Lines to `path`; returns the number of records."""
    lines = 0
    with path.open("w") as out:
        for record in layer_commands(layer, workload, mapping, arch, buffers):
            out.write(json.dumps(record, separators=(",", ":")))
            out.write("\n")
            lines += 1
    return lines


def stream_length(workload: Workload, mapping: Mapping, arch: Arch) -> int:
    """Records the stream will hold, without writing it (to keep an executable schedule small)."""
    nest = layer_nest(workload, mapping, arch)
    total = nest.steps + 2
    for t in TENSORS:
        tn = nest.tensors[t]
        residencies = prod(nest.outer[i].factor for i in tn.temporal if tn.reuse is not None and i <= tn.reuse)
        groups = prod(loop.factor for loop in tn.spatial)
        total += residencies * groups * (2 if t == "O" else 1)
    return total
