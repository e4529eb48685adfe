"""Converters for element-wise arithmetic with numpy broadcasting (opset 7 on)."""
from __future__ import annotations

from accelmap.frontend.lowering import Lowering, OnnxNode
from accelmap.frontend.registry import converter


@converter("Add", since=7)
def add(node: OnnxNode, ctx: Lowering) -> None:
    """Add: a host op (a residual join); a constant bias after a layer becomes its post-op."""
    ctx.host(node)


@converter("Mul", since=7)
def mul(node: OnnxNode, ctx: Lowering) -> None:
    """Mul: a host op; a constant scale after a layer becomes its post-op."""
    ctx.host(node)


@converter("Sum", since=6)
def sum_(node: OnnxNode, ctx: Lowering) -> None:
    """Sum of any number of inputs (equal shapes at opset 6-7, numpy broadcasting from 8)."""
    ctx.host(node)
