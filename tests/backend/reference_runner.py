"""The reference simulator: runs a command stream record by record against simulated memories.

The format-1 executor, kept in the tests: the stream a loop program expands
to (`accelmap stream`) is run through it, so the program's semantics are
checked tile by tile, with modular addressing in memories of exact
capacity, independently of the product's executor. docs/command-stream.md: DRAM tensors are numpy arrays
in canonical layout (padding materialised as zeros), each keeper instance a
`Memories` buffer, every tile addressed modulo its extents. Counters use
the cost model's words: `fills` (words written into the keeper's instances),
`reads` (words read at DRAM), and for O `updates`, `first_writes`, `overwrites`, `rmw`
(words arriving at DRAM) and `writebacks` (words leaving the keeper).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import product
from math import prod
from typing import Any

import numpy as np

from accelmap.arch.spec import Arch
from accelmap.backend.outdir.buffers import buffer_of
from .reference_memory import BufferSpec, Memories, buffer_spec
from .reference_stream import MAC_LEVEL, Port, ports
from accelmap.backend.outdir.nest import LayerNest, coordinates, layer_nest
from accelmap.backend.outdir.schedule import LayerPlan
from accelmap.errors import ScheduleError
from accelmap.ir.kernels import conv_nest
from accelmap.ir.workload import DIMS, TENSORS, Workload


@dataclass(frozen=True)
class TensorCounts:
    """Words one tensor moved across the DRAM boundary of one layer, in the cost model's terms."""

    tensor: str
    level: str
    fills: int
    reads: int
    updates: int
    first_writes: int
    overwrites: int
    rmw: int
    writebacks: int


class _Counter:
    """Mutable tallies behind `TensorCounts`."""

    def __init__(self) -> None:
        self.fills = self.reads = self.updates = self.first_writes = self.overwrites = self.rmw = 0
        self.writebacks = 0


class _BoxMap:
    """Where each compute instance's box starts on a tensor's dims, as one matrix product per step.

    `starts(base)` = (base + instance offsets) @ coefficients + index offsets;
    `extents` are the box's extents on the tensor's dims; `spans` hold, per
    tensor dim, each instance's box coordinates for base 0, shaped to
    broadcast into a gather index behind the instance axis (`owner_shape`).
    """

    def __init__(self, workload: Workload, tensor: str, inner: dict[str, int], offsets: np.ndarray):
        indices = workload.indices(tensor)
        self.coefficients = np.zeros((len(DIMS), len(indices)), dtype=np.int64)
        for j, index in enumerate(indices):
            for d, coef in index.terms:
                self.coefficients[DIMS.index(d), j] = coef
        constant = np.array([index.offset for index in indices], dtype=np.int64)
        self.instance_starts = offsets @ self.coefficients + constant
        self.extents = np.array([index.extent(inner) for index in indices], dtype=np.int64)
        count, rank = len(offsets), len(indices)
        self.owner_shape = (count,) + (1,) * rank
        self.spans = []
        for j, extent in enumerate(self.extents):
            shape = [count] + [1] * rank
            shape[1 + j] = int(extent)
            self.spans.append((self.instance_starts[:, j:j + 1] + np.arange(extent)).reshape(shape))

    def starts(self, base: np.ndarray) -> np.ndarray:
        """[instance, tensor dim] start of every compute instance's box for a step at `base`."""
        return base @ self.coefficients + self.instance_starts

    def index(self, base: np.ndarray, tile: tuple[int, ...]) -> list[np.ndarray]:
        """Per tensor dim, the broadcast tile slots of every compute instance's box (coordinates mod extents)."""
        shift = base @ self.coefficients
        return [(span + offset) % size for span, offset, size in zip(self.spans, shift, tile)]


class StreamRunner:
    """Executes one layer's stream against `dram` (canonical tensors); `run(path)` returns the counts."""

    def __init__(self, plan: LayerPlan, arch: Arch, dram: dict[str, np.ndarray]):
        self.plan, self.arch, self.name = plan, arch, plan.name
        self.workload: Workload = plan.workload
        self.nest: LayerNest = layer_nest(plan.workload, plan.mapping, arch)
        self.ports: dict[str, Port] = ports(plan.workload, plan.mapping, arch, plan.buffers, self.nest)
        self.specs = {t: self._spec(t, p) for t, p in self.ports.items()}
        self.dram = dram
        self.written = np.zeros(dram["O"].shape, dtype=bool)
        self.memories = Memories(plan.name, dram["O"].dtype)
        self.current = {t: p.addresses[0] for t, p in self.ports.items()}
        self.held: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
        self.counts = {t: _Counter() for t in TENSORS}
        self.line = 0
        compute = list(product(*(range(loop.factor) for loop in self.nest.spatial)))
        offsets = np.array([[coordinates(self.nest.spatial, c)[d] for d in DIMS] for c in compute], dtype=np.int64)
        self.owner = {t: np.arange(len(compute)) // (len(compute) // p.nest.instances) for t, p in self.ports.items()}
        self.boxes = {t: _BoxMap(self.workload, t, self.nest.inner, offsets) for t in TENSORS}
        inner = self.nest.inner
        below_o = self.nest.spatial[len(self.ports["O"].nest.spatial):]
        self.shared_sums = any(loop.dim not in self.workload.relevant("O") for loop in below_o)
        self.coverage = [inner[d] * prod(loop.factor for loop in self.nest.spatial if loop.dim == d) for d in DIMS]
        self.folded = Workload(tuple((d, inner[d] * len(compute) if d == "G" else inner[d]) for d in DIMS),
                               self.workload.stride, self.workload.dilation)

    def _spec(self, tensor: str, port: Port) -> BufferSpec:
        """The buffer the tensor's tiles live in (a one-tile register per MAC for a streamed tensor)."""
        if port.streamed:
            return buffer_spec(MAC_LEVEL, port.buffer, port.nest.instances, port.nest.tile_words * port.word_bits,
                               [port.word_bits])
        level = self.arch.levels[port.nest.keeper]
        buffer, capacity = buffer_of(level, tensor)
        entries = [e for e in self.plan.buffers if e.level == level.name and e.buffer == buffer]
        if capacity is None:
            capacity = max(h.stop_bit for e in entries for h in e.halves)
        return buffer_spec(level.name, buffer, port.nest.instances, capacity, [e.word_bits for e in entries])

    def fail(self, message: str) -> ScheduleError:
        """A ScheduleError naming the layer and the stream line."""
        return ScheduleError(f"layer {self.name!r}: stream record {self.line}: {message}")

    def run(self, stream) -> dict[str, TensorCounts]:
        """Execute every record of `stream` (records, or JSON lines); returns the words moved per tensor."""
        steps, ended = 0, False
        handlers = {"LOAD": self._load, "ZERO": self._zero, "COMPUTE": self._compute, "STORE": self._write,
                    "ACCUMULATE": self._write}
        for self.line, text in enumerate(stream, start=1):
            record = text if isinstance(text, dict) else self._parse(text)
            op = record.get("op")
            if ended:
                raise self.fail("records after END")
            if self.line == 1:
                if op != "LAYER" or record.get("layer") != self.name:
                    raise self.fail(f"the stream must start with a LAYER record for {self.name!r}")
            elif op == "END":
                ended = True
                if record.get("steps") != steps:
                    raise self.fail(f"END says {record.get('steps')} steps, the stream computed {steps}")
            elif op in handlers:
                try:
                    handlers[op](record)
                except (KeyError, TypeError, ValueError, IndexError) as err:
                    raise self.fail(f"malformed {op} record ({type(err).__name__}: {err})") from None
                steps += op == "COMPUTE"
            else:
                raise self.fail(f"unknown command {op!r}")
        if not ended:
            raise self.fail("the stream ends without an END record (truncated?)")
        return {t: TensorCounts(t, p.level, **vars(self.counts[t])) for t, p in self.ports.items()}

    def _parse(self, text: str) -> dict[str, Any]:
        try:
            record = json.loads(text)
        except json.JSONDecodeError as err:
            raise self.fail(f"not JSON ({err})") from None
        if not isinstance(record, dict):
            raise self.fail("a record must be a JSON object")
        return record

    # -- addressing --------------------------------------------------------------------------------

    def _tiles(self, tensor: str, addr: int) -> np.ndarray:
        """The tile view [instance, *tile] of `tensor` at `addr`; the address must be a planned one."""
        port = self.ports[tensor]
        if addr not in port.addresses:
            raise self.fail(f"{tensor} tile address {addr} is not in the buffer plan "
                            f"({port.level}/{port.buffer} holds it at {list(port.addresses)})")
        return self.memories.tiles(self.specs[tensor], addr, port.word_bits, port.nest.tile_shape, tensor)

    def _targets(self, tensor: str, combo: list[int | None]) -> tuple[np.ndarray, list[tuple[int, ...]]]:
        """Instance numbers (and index tuples) a `to` / `from` list names: every index where it says null."""
        loops = self.ports[tensor].nest.spatial
        if len(combo) != len(loops):
            raise self.fail(f"{tensor} instance list has {len(combo)} entries, the keeper has {len(loops)} loops")
        ranges = []
        for loop, index in zip(loops, combo):
            if index is not None and not 0 <= index < loop.factor:
                raise self.fail(f"{tensor} instance index {index} outside 0..{loop.factor - 1}")
            ranges.append(range(loop.factor) if index is None else (index,))
        combos = list(product(*ranges))
        factors = [loop.factor for loop in loops]
        ids = [int(np.ravel_multi_index(c, factors)) if c else 0 for c in combos]
        return np.array(ids, dtype=np.int64), combos

    def _region(self, tensor: str, region: list[list[int]], whole: bool) -> tuple[slice, ...]:
        """Slices of the DRAM tensor for `region`; it must lie in the tensor and fit the tile."""
        shape, tile = self.dram[tensor].shape, self.ports[tensor].nest.tile_shape
        if len(region) != len(shape):
            raise self.fail(f"{tensor} region has {len(region)} dims, the tensor has {len(shape)}")
        for (start, stop), size, extent in zip(region, shape, tile):
            if not 0 <= start < stop <= size:
                raise self.fail(f"{tensor} region {region} lies outside the tensor {list(shape)} in DRAM")
            if stop - start > extent or (whole and stop - start != extent):
                raise self.fail(f"{tensor} region {region} does not fit its {list(tile)} tile "
                                f"(a tile that overflows its buffer)")
        return tuple(slice(a, b) for a, b in region)

    def _slots(self, ids: np.ndarray, region: list[list[int]], tensor: str) -> tuple[np.ndarray | slice, ...]:
        """Index of a region in the tiles of instances `ids`: coordinates modulo the tile extents.

        Plain slices when no dim wraps around the tile, else an open mesh.
        """
        tile = self.ports[tensor].nest.tile_shape
        starts = [a % e for (a, _), e in zip(region, tile)]
        if all(s + (b - a) <= e for s, (a, b), e in zip(starts, region, tile)):
            return (ids, *(slice(s, s + b - a) for s, (a, b) in zip(starts, region)))
        return np.ix_(ids, *[np.arange(a, b) % e for (a, b), e in zip(region, tile)])

    # -- commands ----------------------------------------------------------------------------------

    def _load(self, record: dict[str, Any]) -> None:
        tensor, region, addr = record["tensor"], record["region"], record["addr"]
        data = self.dram[tensor][self._region(tensor, region, whole=tensor == "O")]
        ids, combos = self._targets(tensor, record["to"])
        tiles = self._tiles(tensor, addr)
        if tensor == "O":
            irrelevant = [loop.dim not in self.workload.relevant("O") for loop in self.ports["O"].nest.spatial]
            leader = np.array([all(i == 0 for i, skip in zip(c, irrelevant) if skip) for c in combos], dtype=bool)
            tiles[self._slots(ids[leader], region, tensor)] = data
            tiles[self._slots(ids[~leader], region, tensor)] = 0.0
        else:
            tiles[self._slots(ids, region, tensor)] = data
            self._hold(tensor, addr, ids, region)
        self.current[tensor] = addr
        count = self.counts[tensor]
        count.reads += data.size
        count.fills += data.size * len(ids)

    def _hold(self, tensor: str, addr: int, ids: np.ndarray, region: list[list[int]]) -> None:
        """Track which coordinates each tile holds: a whole tile, or new rows / columns extending it."""
        port = self.ports[tensor]
        lo, hi = self.held.setdefault((tensor, addr), (np.zeros((port.nest.instances, len(region)), np.int64),
                                                       np.zeros((port.nest.instances, len(region)), np.int64)))
        start, stop = np.array(region, dtype=np.int64).T
        if (stop - start == np.array(port.nest.tile_shape)).all():
            lo[ids], hi[ids] = start, stop
            return
        old_lo, old_hi = lo[ids[0]].copy(), hi[ids[0]].copy()
        moved = np.flatnonzero((start != old_lo) | (stop != old_hi))
        same = (lo[ids] == old_lo).all() and (hi[ids] == old_hi).all()
        if not same or len(moved) != 1 or start[moved[0]] != old_hi[moved[0]]:
            raise self.fail(f"partial LOAD of {tensor} {region} does not extend the tile it updates "
                            f"({np.stack([old_lo, old_hi], axis=1).tolist()})")
        shift = stop[moved[0]] - start[moved[0]]
        lo[ids, moved[0]] += shift
        hi[ids, moved[0]] += shift

    def _zero(self, record: dict[str, Any]) -> None:
        if record["tensor"] != "O":
            raise self.fail("ZERO applies to O only")
        self._tiles("O", record["addr"])[...] = 0.0
        self.current["O"] = record["addr"]

    def _compute(self, record: dict[str, Any]) -> None:
        ranges, inner = record["tile"], self.nest.inner
        covered = [sum(b - a for a, b in ranges[d]) for d in DIMS]
        if covered != self.coverage:
            d = next(d for d, a, b in zip(DIMS, covered, self.coverage) if a != b)
            raise self.fail(f"COMPUTE covers {covered[DIMS.index(d)]} of {d}, the mapping's step covers "
                            f"{self.coverage[DIMS.index(d)]}")
        base = np.array([ranges[d][0][0] for d in DIMS], dtype=np.int64)
        w = self._operand("W", base)
        i = self._operand("I", base)
        count, g = len(self.owner["O"]), inner["G"]
        i_all = i.transpose(1, 0, 2, 3, 4, 5).reshape((i.shape[1], count * g) + i.shape[3:])
        result = conv_nest(i_all, w.reshape((count * g,) + w.shape[2:]), self.folded)
        result = result.reshape((result.shape[0], count, g) + result.shape[2:]).transpose(1, 0, 2, 3, 4, 5)
        view = self._box_view("O", base)
        if view is not None:
            view += result
        elif self.shared_sums:
            np.add.at(self._tiles("O", self.current["O"]), self._gather_index("O", base), result)
        else:
            self._tiles("O", self.current["O"])[self._gather_index("O", base)] += result

    def _box_view(self, tensor: str, base: np.ndarray) -> np.ndarray | None:
        """The step's box as a plain view of the tile when one compute instance covers it without
        wrapping around the tile (the common case, and much faster than a gather); else None."""
        if len(self.owner[tensor]) != 1:
            return None
        box = self.boxes[tensor]
        tile = self.ports[tensor].nest.tile_shape
        starts = [int(s) % size for s, size in zip(box.starts(base)[0], tile)]
        if any(s + e > size for s, e, size in zip(starts, box.extents, tile)):
            return None
        window = tuple(slice(s, s + int(e)) for s, e in zip(starts, box.extents))
        return self._tiles(tensor, self.current[tensor])[(slice(int(self.owner[tensor][0]), None),) + window]

    def _gather_index(self, tensor: str, base: np.ndarray) -> tuple[np.ndarray, ...]:
        """Broadcast index (instance, then one array per tensor dim) of each compute instance's box."""
        box = self.boxes[tensor]
        return (self.owner[tensor].reshape(box.owner_shape), *box.index(base, self.ports[tensor].nest.tile_shape))

    def _operand(self, tensor: str, base: np.ndarray) -> np.ndarray:
        """The part of the resident W or I tiles each compute instance reads; all of it must be resident."""
        addr = self.current[tensor]
        box = self.boxes[tensor]
        starts = box.starts(base)
        lo, hi = self.held.get((tensor, addr), (None, None))
        owner = self.owner[tensor]
        outside = None if lo is None else (starts < lo[owner]) | (starts + box.extents > hi[owner])
        if outside is None or outside.any():
            bad = 0 if outside is None else int(np.flatnonzero(outside.any(1))[0])
            region = [[int(s), int(s + e)] for s, e in zip(starts[bad], box.extents)]
            raise self.fail(f"COMPUTE reads {tensor} {region}, which is not resident in its tile")
        view = self._box_view(tensor, base)
        return view if view is not None else self._tiles(tensor, addr)[self._gather_index(tensor, base)]

    def _write(self, record: dict[str, Any]) -> None:
        region, addr = record["region"], record["addr"]
        if record["tensor"] != "O":
            raise self.fail(f"{record['op']} applies to O only")
        where = self._region("O", region, whole=True)
        ids, _ = self._targets("O", record["from"])
        value = self._tiles("O", addr)[self._slots(ids, region, "O")].sum(axis=0)
        done = self.written[where]
        count = self.counts["O"]
        if record["op"] == "STORE":
            if done.any():
                raise self.fail(f"STORE to O {region}, which was written before (use ACCUMULATE)")
            self.dram["O"][where] = value
            count.first_writes += value.size
        else:
            if not done.all():
                raise self.fail(f"ACCUMULATE to O {region}, which was never stored")
            if record["add"]:
                self.dram["O"][where] = self.dram["O"][where] + value
                count.rmw += value.size
            else:
                self.dram["O"][where] = value
                count.overwrites += value.size
        self.written[where] = True
        count.updates += value.size
        count.writebacks += value.size * len(ids)
