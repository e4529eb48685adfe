"""Converters for Softmax and LogSoftmax, whose axis semantics changed at opset 13.

Every version becomes a host op (`Softmax` or `LogSoftmax`) normalising over
`axes` jointly: before opset 13 the input is coerced to 2-D at `axis`, so
the axes are `axis..rank-1`; from opset 13 it is the single `axis`.
"""
from __future__ import annotations

from accelmap.frontend.lowering import Lowering, OnnxNode
from accelmap.frontend.ops.tensor import normalise_axis
from accelmap.frontend.registry import converter


@converter("Softmax", since=1)
def softmax_1(node: OnnxNode, ctx: Lowering, *, axis: int = 1) -> None:
    """Softmax before opset 13: over the flattened tail from `axis` (default 1) on."""
    rank = len(ctx.shape(node.inputs[0]))
    ctx.host(node, axes=tuple(range(normalise_axis(node, axis, rank), rank)))


@converter("Softmax", since=13)
def softmax_13(node: OnnxNode, ctx: Lowering, *, axis: int = -1) -> None:
    """Softmax from opset 13: along the single `axis` (default the last)."""
    rank = len(ctx.shape(node.inputs[0]))
    ctx.host(node, axes=(normalise_axis(node, axis, rank),))


@converter("LogSoftmax", since=1)
def log_softmax_1(node: OnnxNode, ctx: Lowering, *, axis: int = 1) -> None:
    """LogSoftmax before opset 13: over the flattened tail from `axis` (default 1) on."""
    rank = len(ctx.shape(node.inputs[0]))
    ctx.host(node, axes=tuple(range(normalise_axis(node, axis, rank), rank)))


@converter("LogSoftmax", since=13)
def log_softmax_13(node: OnnxNode, ctx: Lowering, *, axis: int = -1) -> None:
    """LogSoftmax from opset 13: along the single `axis` (default the last)."""
    rank = len(ctx.shape(node.inputs[0]))
    ctx.host(node, axes=(normalise_axis(node, axis, rank),))
