"""Converters for reductions: ReduceMean, ReduceSum, ReduceMax (axes as attribute, later as input)
and GlobalMaxPool. All are host ops with `axes` resolved to a non-empty tuple of non-negative axes.
"""
from __future__ import annotations

from collections.abc import Sequence

from accelmap.frontend.lowering import Lowering, OnnxNode
from accelmap.frontend.ops.tensor import normalise_axes
from accelmap.frontend.registry import converter


def _axes_input(node: OnnxNode, ctx: Lowering) -> tuple[int, ...]:
    """The optional constant `axes` input (empty if omitted)."""
    if len(node.inputs) < 2 or not node.inputs[1]:
        return ()
    return tuple(int(a) for a in ctx.require_const(node, node.inputs[1], "the reduced axes").reshape(-1))


def _emit_reduce(node: OnnxNode, ctx: Lowering, axes: Sequence[int], keepdims: int,
                 noop_with_empty_axes: int = 0) -> None:
    """Emit the reduction; empty axes reduce everything, or pass the input through if noop_with_empty_axes."""
    rank = len(ctx.shape(node.inputs[0]))
    if not axes and noop_with_empty_axes:
        ctx.alias(node.outputs[0], node.inputs[0])
        return
    resolved = tuple(sorted(normalise_axes(node, axes, rank))) if axes else tuple(range(rank))
    ctx.host(node, inputs=node.inputs[:1], axes=resolved, keepdims=int(keepdims))


@converter("ReduceMean", since=1)
def reduce_mean_attribute(node: OnnxNode, ctx: Lowering, *, axes: tuple[int, ...] = (), keepdims: int = 1) -> None:
    """ReduceMean, opsets 1-17: axes as an attribute (all axes if absent)."""
    _emit_reduce(node, ctx, axes, keepdims)


@converter("ReduceMean", since=18)
def reduce_mean_input(node: OnnxNode, ctx: Lowering, *, keepdims: int = 1, noop_with_empty_axes: int = 0) -> None:
    """ReduceMean, opset 18+: axes as an optional constant input."""
    _emit_reduce(node, ctx, _axes_input(node, ctx), keepdims, noop_with_empty_axes)


@converter("ReduceSum", since=1)
def reduce_sum_attribute(node: OnnxNode, ctx: Lowering, *, axes: tuple[int, ...] = (), keepdims: int = 1) -> None:
    """ReduceSum, opsets 1-12: axes as an attribute (all axes if absent)."""
    _emit_reduce(node, ctx, axes, keepdims)


@converter("ReduceSum", since=13)
def reduce_sum_input(node: OnnxNode, ctx: Lowering, *, keepdims: int = 1, noop_with_empty_axes: int = 0) -> None:
    """ReduceSum, opset 13+: axes as an optional constant input."""
    _emit_reduce(node, ctx, _axes_input(node, ctx), keepdims, noop_with_empty_axes)


@converter("ReduceMax", since=1)
def reduce_max_attribute(node: OnnxNode, ctx: Lowering, *, axes: tuple[int, ...] = (), keepdims: int = 1) -> None:
    """ReduceMax, opsets 1-17: axes as an attribute (all axes if absent)."""
    _emit_reduce(node, ctx, axes, keepdims)


@converter("ReduceMax", since=18)
def reduce_max_input(node: OnnxNode, ctx: Lowering, *, keepdims: int = 1, noop_with_empty_axes: int = 0) -> None:
    """ReduceMax, opset 18+: axes as an optional constant input."""
    _emit_reduce(node, ctx, _axes_input(node, ctx), keepdims, noop_with_empty_axes)


@converter("GlobalMaxPool", since=1)
def global_max_pool(node: OnnxNode, ctx: Lowering) -> None:
    """GlobalMaxPool (maximum over all spatial axes, kept as unit axes): a host op."""
    ctx.host(node)
