"""Multiply-accumulates done on the host: the MACs of host ops that are products, not element-wise.

Only a host Einsum of two or more operands (a contraction that is not a
matmul) and a host ConvTranspose (strided or otherwise not a conv) multiply
and accumulate; element-wise ops, norms and pools are counted as traffic,
not MACs.
"""
from __future__ import annotations

from math import prod


def host_macs(op: str, input_shapes: list[tuple[int, ...] | None], attrs: dict) -> int:
    """MACs of one host op from its input shapes (None for an omitted input) and normalised attributes."""
    if op == "Einsum" and len(input_shapes) >= 2:
        operands = attrs["equation"].split("->")[0].split(",")
        sizes = {letter: n for subscripts, shape in zip(operands, input_shapes) for letter, n in zip(subscripts, shape)}
        return prod(sizes.values())
    if op == "ConvTranspose":
        x, w = input_shapes[0], input_shapes[1]
        return prod(x) * w[1] * prod(w[2:])  # every input element scatters into K channels x kernel taps
    return 0
