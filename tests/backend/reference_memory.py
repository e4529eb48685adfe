"""Simulated on-chip memories for the executor: per buffer, one numpy row per instance, exact capacity.

A buffer's row has one slot per `unit` bits, where `unit` is the gcd of the
word widths of the tensors it holds; a word of `word_bits` occupies
`word_bits // unit` slots and its value sits in the first. So a 24-bit psum
and an 8-bit input share one address space of exactly the declared bits, and
an address or tile past the end is caught, not silently wrapped. Rows are
allocated zero-filled on first use (untouched pages cost nothing).
"""
from __future__ import annotations

from dataclasses import dataclass
from math import gcd, prod

import numpy as np

from accelmap.errors import ScheduleError


@dataclass(frozen=True)
class BufferSpec:
    """One physical buffer: where it is, how many instances exist, its capacity in bits and slot width."""

    level: str
    buffer: str
    instances: int
    capacity_bits: int
    unit: int


def buffer_spec(level: str, buffer: str, instances: int, capacity_bits: int, word_bits: list[int]) -> BufferSpec:
    """The spec of a buffer holding tensors of the given word widths."""
    unit = 0
    for bits in word_bits:
        unit = gcd(unit, bits)
    return BufferSpec(level, buffer, instances, capacity_bits, unit)


class Memories:
    """Every buffer the executor touches, keyed by (level, buffer), holding values of `dtype`."""

    def __init__(self, layer: str, dtype: np.dtype):
        self.layer, self.dtype = layer, dtype
        self.arrays: dict[tuple[str, str], np.ndarray] = {}

    def tiles(self, spec: BufferSpec, addr: int, word_bits: int, shape: tuple[int, ...], tensor: str) -> np.ndarray:
        """A writable view [instance, *shape] of the tile at word address `addr` in every instance.

        Raises ScheduleError naming the layer when the tile does not lie inside the buffer.
        """
        start, stop = addr * word_bits, (addr + prod(shape)) * word_bits
        if addr < 0 or stop > spec.capacity_bits:
            raise ScheduleError(f"layer {self.layer!r}: tile of {tensor} at {spec.level}/{spec.buffer} "
                                f"words {addr}..{addr + prod(shape)} (bits {start}..{stop}) lies outside the "
                                f"buffer's {spec.capacity_bits} bits")
        key = (spec.level, spec.buffer)
        array = self.arrays.get(key)
        if array is None:
            array = self.arrays[key] = np.zeros((spec.instances, -(-spec.capacity_bits // spec.unit)), self.dtype)
        step = word_bits // spec.unit
        return array[:, start // spec.unit: stop // spec.unit: step].reshape((spec.instances,) + shape)
