"""The buffer plan: where each kept tile lives in each on-chip buffer.

A level's buffers are its partitions (Eyeriss' filter / ifmap / psum
scratchpads) or, without partitions, the level as one buffer. Inside a
buffer the kept tiles sit side by side from address 0, widest words first
(so every tile starts on a word boundary of its own width). A double-buffered
level gives each tile two halves: ping in the buffer's lower half, pong at
the same offset in the upper half. Addresses are relative to the buffer, in
words of the tile's tensor and in bits.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import prod

from accelmap.arch.spec import Arch, Level
from accelmap.backend.outdir.nest import inside, nest_loops
from accelmap.errors import ScheduleError
from accelmap.ir.workload import TENSORS, Workload
from accelmap.mapper.mapping import Mapping


@dataclass(frozen=True)
class AddressRange:
    """[start, stop) of one tile copy, in words of its tensor and in bits."""

    start_word: int
    stop_word: int
    start_bit: int
    stop_bit: int


@dataclass(frozen=True)
class BufferEntry:
    """One tensor's tile at one on-chip level: its shape and where it lives.

    `buffer` is the partition's name, or the level's name when the level is
    not partitioned; `halves` holds one range, or ping and pong when the
    level is double-buffered.
    """

    level: str
    buffer: str
    tensor: str
    tile_shape: tuple[int, ...]
    word_bits: int
    halves: tuple[AddressRange, ...]

    @property
    def tile_words(self) -> int:
        """Words of the tile."""
        return prod(self.tile_shape)

    @property
    def tile_bits(self) -> int:
        """Bits of the tile."""
        return self.tile_words * self.word_bits


def level_buffers(level: Level) -> list[tuple[str, frozenset[str], int | None]]:
    """(name, tensors, capacity in bits) of each buffer of `level`."""
    if level.partitions:
        return [(part.name, part.tensors, part.capacity_bits) for part in level.partitions]
    return [(level.name, level.keeps, level.capacity_bits)]


def buffer_of(level: Level, tensor: str) -> tuple[str, int | None]:
    """(name, capacity bits) of the buffer of `level` that holds `tensor`."""
    for name, tensors, capacity in level_buffers(level):
        if tensor in tensors:
            return name, capacity
    raise ScheduleError(f"level {level.name} has no buffer for tensor {tensor}")


def tile_shapes(workload: Workload, mapping: Mapping, arch: Arch) -> dict[tuple[int, str], tuple[int, ...]]:
    """Tile shape of every (on-chip level index, kept tensor)."""
    loops = nest_loops(mapping, arch)
    return {(i, t): workload.tile_shape(t, inside(loops, i))
            for i in range(1, len(arch.levels)) for t in TENSORS if t in mapping.keep[i]}


def plan_buffers(layer: str, workload: Workload, mapping: Mapping, arch: Arch) -> tuple[BufferEntry, ...]:
    """Lay out every kept tile of layer `layer`; ScheduleError naming the layer when one does not fit."""
    shapes = tile_shapes(workload, mapping, arch)
    entries = []
    for i, level in enumerate(arch.levels[1:], start=1):
        for name, tensors, _ in level_buffers(level):
            kept = sorted((t for t in TENSORS if t in tensors and (i, t) in shapes),
                          key=lambda t: (-level.tensors[t].word_bits, TENSORS.index(t)))
            if kept:
                entries += _lay_out(layer, level, name, level.usable_bits(kept[0]),
                                    [(t, shapes[i, t], level.tensors[t].word_bits) for t in kept])
    return tuple(entries)


def _lay_out(layer: str, level: Level, buffer: str, usable: int | None,
             tiles: list[tuple[str, tuple[int, ...], int]]) -> list[BufferEntry]:
    """Place `tiles` (tensor, shape, word bits) side by side in one buffer of `usable` bits
    (`Level.usable_bits`: a double-buffered one's second half starts there, on a word of every tile)."""
    offsets, end = [], 0
    for tensor, shape, bits in tiles:
        start = -(-end // bits) * bits
        offsets.append(start)
        end = start + prod(shape) * bits
    if usable is not None and end > usable:
        need = ", ".join(f"{t} {prod(s) * b} bits" for t, s, b in tiles)
        half = " (half of it, double-buffered)" if level.double_buffered else ""
        raise ScheduleError(f"layer {layer!r}: tiles at {level.name}/{buffer} need {end} bits ({need}); "
                            f"the buffer offers {usable}{half}")
    pong = usable if usable is not None else end
    entries = []
    for (tensor, shape, bits), start in zip(tiles, offsets):
        bases = (0, pong) if level.double_buffered else (0,)
        halves = tuple(AddressRange((base + start) // bits, (base + start) // bits + prod(shape),
                                    base + start, base + start + prod(shape) * bits) for base in bases)
        entries.append(BufferEntry(level.name, buffer, tensor, shape, bits, halves))
    return entries


def check_plan(entries: tuple[BufferEntry, ...], workload: Workload, mapping: Mapping, arch: Arch) -> list[str]:
    """Problems with a recorded plan: tiles the mapping does not imply, ranges out of their buffer, overlaps."""
    problems = []
    shapes = tile_shapes(workload, mapping, arch)
    want = {(arch.levels[i].name, t): shape for (i, t), shape in shapes.items()}
    got = {(e.level, e.tensor): e for e in entries}
    for key in sorted(set(want) - set(got)):
        problems.append(f"buffer plan has no tile of {key[1]} at {key[0]}, which keeps it")
    for key in sorted(set(got) - set(want)):
        problems.append(f"buffer plan places {key[1]} at {key[0]}, which does not keep it")
    levels = {level.name: level for level in arch.levels}
    used: dict[tuple[str, str], list[tuple[int, int, str]]] = {}
    for (name, tensor), entry in sorted(got.items()):
        if (name, tensor) not in want:
            continue
        level = levels[name]
        where = f"tile of {tensor} at {name}/{entry.buffer}"
        if entry.tile_shape != want[name, tensor]:
            problems.append(f"{where} is {list(entry.tile_shape)}, the mapping's tile is {list(want[name, tensor])}")
        buffer, _ = buffer_of(level, tensor)
        if entry.buffer != buffer or entry.word_bits != level.tensors[tensor].word_bits:
            problems.append(f"{where}: the arch puts it in {buffer} with {level.tensors[tensor].word_bits}-bit words")
        problems += _check_halves(where, entry, level, level.usable_bits(tensor))
        used.setdefault((name, entry.buffer), []).extend((h.start_bit, h.stop_bit, tensor) for h in entry.halves)
    for (name, buffer), ranges in used.items():
        ranges.sort()
        for (a0, a1, t), (b0, b1, u) in zip(ranges, ranges[1:]):
            if b0 < a1:
                problems.append(f"tiles of {t} and {u} overlap in {name}/{buffer} (bits {b0}..{min(a1, b1)})")
    return problems


def _check_halves(where: str, entry: BufferEntry, level: Level, half: int | None) -> list[str]:
    """Problems with one entry's address ranges (`half`: the usable bits of each): count, size, word
    alignment, fit."""
    want = 2 if level.double_buffered else 1
    if len(entry.halves) != want:
        return [f"{where} has {len(entry.halves)} address ranges, {level.name} needs {want}"]
    problems = []
    for index, rng in enumerate(entry.halves):
        words = rng.stop_word - rng.start_word
        if (rng.start_bit != rng.start_word * entry.word_bits or rng.stop_bit != rng.stop_word * entry.word_bits
                or words != entry.tile_words):
            problems.append(f"{where}: range {index} (words {rng.start_word}..{rng.stop_word}, bits "
                            f"{rng.start_bit}..{rng.stop_bit}) does not hold {entry.tile_words} words")
        if half is None:
            continue
        low, high = index * half, (index + 1) * half
        if rng.start_bit < low or rng.stop_bit > high:
            problems.append(f"{where} needs {entry.tile_bits} bits at bits {rng.start_bit}..{rng.stop_bit}; "
                            f"the buffer offers bits {low}..{high}")
    return problems
