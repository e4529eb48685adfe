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
        sizes: dict[str, int] = {}
        for subscripts, shape in zip(operands, input_shapes):
            for label, n in zip(_labels(subscripts, len(shape)), shape):
                sizes[label] = max(sizes.get(label, 1), n)
        return prod(sizes.values())
    if op == "ConvTranspose":
        x, w = input_shapes[0], input_shapes[1]
        return prod(x) * w[1] * prod(w[2:])  # every input element scatters into K channels x kernel taps
    return 0


def _labels(subscripts: str, rank: int) -> list[str]:
    """One label per axis; the axes an ellipsis stands for are named by their place from the right,
    so that they broadcast across operands as numpy aligns them."""
    if "..." not in subscripts:
        return list(subscripts)
    head, tail = subscripts.split("...")
    extra = rank - len(head) - len(tail)
    return list(head) + [f"...{extra - i}" for i in range(extra)] + list(tail)
