"""Converters for data-movement ops: Transpose, Gather, Split, Slice, Squeeze, Unsqueeze, Expand,
Range, Tile, Pad, Trilu, CumSum and ConstantOfShape. All are host ops (or constants).

Opset versions that moved an attribute into an input (Split's sizes,
Slice's starts/ends, Squeeze's axes, Pad's pads...) resolve that input from a
constant and emit the same normalised attributes as the older version, so
one host kernel serves them all.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from accelmap.errors import UnsupportedOp
from accelmap.frontend.lowering import Lowering, OnnxNode
from accelmap.frontend.registry import converter

PAD_MODES = ("constant", "reflect", "edge")


def normalise_axis(node: OnnxNode, axis: int, rank: int) -> int:
    """`axis` in [-rank, rank) made non-negative; UnsupportedOp naming the node if out of range."""
    if not -rank <= axis < rank:
        raise UnsupportedOp(f"{node.ref}: {node.op_type} axis {axis} is out of range for rank {rank}")
    return axis % rank


def normalise_axes(node: OnnxNode, axes: Sequence[int], rank: int) -> tuple[int, ...]:
    """Several axes made non-negative, in the given order; UnsupportedOp on an out-of-range or repeated axis."""
    resolved = [normalise_axis(node, int(a), rank) for a in axes]
    if len(set(resolved)) != len(resolved):
        raise UnsupportedOp(f"{node.ref}: {node.op_type} axes {tuple(axes)} repeat an axis")
    return tuple(resolved)


def _optional_input(node: OnnxNode, index: int) -> str:
    """The name of input `index`, or "" if it is omitted."""
    return node.inputs[index] if len(node.inputs) > index else ""


def _const_ints(node: OnnxNode, ctx: Lowering, index: int, what: str) -> tuple[int, ...] | None:
    """Optional input `index` as a tuple of ints (must be constant), or None if omitted."""
    name = _optional_input(node, index)
    if not name:
        return None
    return tuple(int(v) for v in ctx.require_const(node, name, what).reshape(-1))


@converter("Transpose", since=1)
def transpose(node: OnnxNode, ctx: Lowering, *, perm: tuple[int, ...] = ()) -> None:
    """Transpose: a host op with `perm` filled in (reversed axes by default)."""
    rank = len(ctx.shape(node.inputs[0]))
    resolved = normalise_axes(node, perm, rank) if perm else tuple(reversed(range(rank)))
    if len(resolved) != rank:
        raise UnsupportedOp(f"{node.ref}: Transpose perm {tuple(perm)} is not a permutation of {rank} axes")
    ctx.host(node, perm=resolved)


@converter("Gather", since=1)
def gather(node: OnnxNode, ctx: Lowering, *, axis: int = 0) -> None:
    """Gather (embedding lookup, index selection; negative indices allowed): a host op."""
    ctx.host(node, axis=normalise_axis(node, axis, len(ctx.shape(node.inputs[0]))))


def _emit_split(node: OnnxNode, ctx: Lowering, axis: int, sizes: tuple[int, ...] | None) -> None:
    """Emit Split with explicit sizes; without them, equal parts, one per output."""
    shape = ctx.shape(node.inputs[0])
    axis = normalise_axis(node, axis, len(shape))
    if sizes is None:
        parts = len(node.outputs)
        if shape[axis] % parts:
            raise UnsupportedOp(f"{node.ref}: Split cannot cut length {shape[axis]} into {parts} "
                                f"equal parts; give the sizes")
        sizes = (shape[axis] // parts,) * parts
    if sum(sizes) != shape[axis] or len(sizes) != len(node.outputs):
        raise UnsupportedOp(f"{node.ref}: Split sizes {sizes} do not cover axis {axis} "
                            f"(length {shape[axis]}) with {len(node.outputs)} outputs")
    ctx.host(node, inputs=node.inputs[:1], axis=axis, split=tuple(sizes))


@converter("Split", since=2)
def split_attribute(node: OnnxNode, ctx: Lowering, *, axis: int = 0, split: tuple[int, ...] = ()) -> None:
    """Split, opsets 2-12: sizes in the `split` attribute (equal parts if absent)."""
    _emit_split(node, ctx, axis, tuple(split) or None)


@converter("Split", since=13)
def split_input(node: OnnxNode, ctx: Lowering, *, axis: int = 0) -> None:
    """Split, opsets 13-17: sizes in the optional constant input `split` (equal parts if absent)."""
    _emit_split(node, ctx, axis, _const_ints(node, ctx, 1, "the split sizes"))


@converter("Split", since=18)
def split_num_outputs(node: OnnxNode, ctx: Lowering, *, axis: int = 0, num_outputs: int = 0) -> None:
    """Split, opset 18+: the `split` input, or `num_outputs` parts of ceil(length / num_outputs), the last smaller."""
    sizes = _const_ints(node, ctx, 1, "the split sizes")
    if sizes is None and num_outputs:
        shape = ctx.shape(node.inputs[0])
        length = shape[normalise_axis(node, axis, len(shape))]
        chunk = -(-length // num_outputs)
        sizes = (chunk,) * (num_outputs - 1) + (length - chunk * (num_outputs - 1),)
    _emit_split(node, ctx, axis, sizes)


def _clamp_slice(start: int, end: int, step: int, length: int) -> tuple[int, int, int]:
    """ONNX Slice clamping: negatives count from the end; a negative step may end at -1 (through 0)."""
    start, end = (start + length if start < 0 else start), (end + length if end < 0 else end)
    if step > 0:
        return min(max(start, 0), length), min(max(end, 0), length), step
    return min(max(start, 0), length - 1), min(max(end, -1), length - 1), step


def _emit_slice(node: OnnxNode, ctx: Lowering, starts: Sequence[int], ends: Sequence[int],
                axes: Sequence[int] | None, steps: Sequence[int] | None) -> None:
    """Emit Slice with one clamped (start, end, step) per input axis."""
    shape = ctx.shape(node.inputs[0])
    axes = list(axes) if axes else list(range(len(starts)))
    steps = list(steps) if steps else [1] * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise UnsupportedOp(f"{node.ref}: Slice starts/ends/axes/steps differ in length")
    if 0 in steps:
        raise UnsupportedOp(f"{node.ref}: Slice step 0")
    bounds = [(0, n, 1) for n in shape]
    for axis, start, end, step in zip(normalise_axes(node, axes, len(shape)), starts, ends, steps):
        bounds[axis] = _clamp_slice(int(start), int(end), int(step), shape[axis])
    ctx.host(node, inputs=node.inputs[:1], starts=tuple(b[0] for b in bounds), ends=tuple(b[1] for b in bounds),
             steps=tuple(b[2] for b in bounds))


@converter("Slice", since=1)
def slice_attribute(node: OnnxNode, ctx: Lowering, *, starts: tuple[int, ...], ends: tuple[int, ...],
                    axes: tuple[int, ...] = ()) -> None:
    """Slice, opsets 1-9: starts, ends and axes as attributes, step 1."""
    _emit_slice(node, ctx, starts, ends, axes, None)


@converter("Slice", since=10)
def slice_input(node: OnnxNode, ctx: Lowering) -> None:
    """Slice, opset 10+: constant inputs starts, ends, axes, steps (negative and out-of-range clamp)."""
    starts = _const_ints(node, ctx, 1, "the slice starts")
    ends = _const_ints(node, ctx, 2, "the slice ends")
    _emit_slice(node, ctx, starts, ends, _const_ints(node, ctx, 3, "the slice axes"),
                _const_ints(node, ctx, 4, "the slice steps"))


def _emit_squeeze(node: OnnxNode, ctx: Lowering, axes: Sequence[int]) -> None:
    """Emit Squeeze; no axes means every unit axis."""
    shape = ctx.shape(node.inputs[0])
    resolved = tuple(sorted(normalise_axes(node, axes, len(shape)))) if axes \
        else tuple(i for i, n in enumerate(shape) if n == 1)
    if any(shape[a] != 1 for a in resolved):
        raise UnsupportedOp(f"{node.ref}: Squeeze axes {tuple(axes)} of shape {shape} are not all 1")
    ctx.host(node, inputs=node.inputs[:1], axes=resolved)


@converter("Squeeze", since=1)
def squeeze_attribute(node: OnnxNode, ctx: Lowering, *, axes: tuple[int, ...] = ()) -> None:
    """Squeeze, opsets 1-12: axes as an attribute."""
    _emit_squeeze(node, ctx, axes)


@converter("Squeeze", since=13)
def squeeze_input(node: OnnxNode, ctx: Lowering) -> None:
    """Squeeze, opset 13+: axes as an optional constant input."""
    _emit_squeeze(node, ctx, _const_ints(node, ctx, 1, "the squeezed axes") or ())


def _emit_unsqueeze(node: OnnxNode, ctx: Lowering, axes: Sequence[int]) -> None:
    """Emit Unsqueeze with axes counted in the output's rank."""
    rank = len(ctx.shape(node.inputs[0])) + len(axes)
    ctx.host(node, inputs=node.inputs[:1], axes=tuple(sorted(normalise_axes(node, axes, rank))))


@converter("Unsqueeze", since=1)
def unsqueeze_attribute(node: OnnxNode, ctx: Lowering, *, axes: tuple[int, ...]) -> None:
    """Unsqueeze, opsets 1-12: axes as an attribute."""
    _emit_unsqueeze(node, ctx, axes)


@converter("Unsqueeze", since=13)
def unsqueeze_input(node: OnnxNode, ctx: Lowering) -> None:
    """Unsqueeze, opset 13+: axes as a constant input."""
    _emit_unsqueeze(node, ctx, _const_ints(node, ctx, 1, "the inserted axes"))


@converter("Expand", since=8)
def expand(node: OnnxNode, ctx: Lowering) -> None:
    """Expand: a host op broadcasting to the (constant) shape input, normalised to the output shape."""
    requested = _const_ints(node, ctx, 1, "the target shape")
    try:
        shape = np.broadcast_shapes(ctx.shape(node.inputs[0]), requested)
    except ValueError:
        raise UnsupportedOp(f"{node.ref}: Expand of {ctx.shape(node.inputs[0])} to {requested} "
                            f"does not broadcast") from None
    ctx.host(node, inputs=node.inputs[:1], shape=tuple(int(n) for n in shape))


@converter("Range", since=11)
def range_(node: OnnxNode, ctx: Lowering) -> None:
    """Range with run-time start/limit/delta (constant ones are folded): a host op.

    Its length depends on the values, so the model must declare the output's
    static shape.
    """
    ctx.host(node)


@converter("Tile", since=6)
def tile(node: OnnxNode, ctx: Lowering) -> None:
    """Tile: a host op with the constant `repeats` input as an attribute."""
    repeats = _const_ints(node, ctx, 1, "the repeats")
    if len(repeats) != len(ctx.shape(node.inputs[0])) or min(repeats, default=0) < 0:
        raise UnsupportedOp(f"{node.ref}: Tile repeats {repeats} must be one non-negative count per axis")
    ctx.host(node, inputs=node.inputs[:1], repeats=repeats)


def _emit_pad(node: OnnxNode, ctx: Lowering, mode: str, pads: Sequence[int], value: float,
              axes: Sequence[int] | None) -> None:
    """Emit Pad with pads (begins..., ends...) for every axis of the input."""
    rank = len(ctx.shape(node.inputs[0]))
    if mode not in PAD_MODES:
        raise UnsupportedOp(f"{node.ref}: Pad mode {mode!r} is not supported; use one of {PAD_MODES}")
    axes = normalise_axes(node, axes, rank) if axes else tuple(range(rank))
    if len(pads) != 2 * len(axes):
        raise UnsupportedOp(f"{node.ref}: Pad has {len(pads)} pads for {len(axes)} axes")
    full = [0] * (2 * rank)
    for i, axis in enumerate(axes):
        full[axis], full[rank + axis] = int(pads[i]), int(pads[len(axes) + i])
    ctx.host(node, inputs=node.inputs[:1], pads=tuple(full), mode=mode, value=float(value))


@converter("Pad", since=2)
def pad_attribute(node: OnnxNode, ctx: Lowering, *, pads: tuple[int, ...], mode: str = "constant",
                  value: float = 0.0) -> None:
    """Pad, opsets 2-10: pads and the fill value as attributes."""
    _emit_pad(node, ctx, mode, pads, value, None)


@converter("Pad", since=11)
def pad_input(node: OnnxNode, ctx: Lowering, *, mode: str = "constant") -> None:
    """Pad, opset 11+: constant inputs pads, constant_value (default 0) and axes (opset 18)."""
    pads = _const_ints(node, ctx, 1, "the pads")
    fill = _optional_input(node, 2)
    value = float(ctx.require_const(node, fill, "the pad value").reshape(-1)[0]) if fill else 0.0
    _emit_pad(node, ctx, mode, pads, value, _const_ints(node, ctx, 3, "the padded axes"))


@converter("Trilu", since=14)
def trilu(node: OnnxNode, ctx: Lowering, *, upper: int = 1) -> None:
    """Trilu: keep the upper (or lower) triangle of the last two axes from diagonal k (constant input, default 0)."""
    if len(ctx.shape(node.inputs[0])) < 2:
        raise UnsupportedOp(f"{node.ref}: Trilu needs a tensor of rank 2 or more")
    k = _const_ints(node, ctx, 1, "the diagonal k")
    ctx.host(node, inputs=node.inputs[:1], upper=int(upper), k=k[0] if k else 0)


@converter("CumSum", since=11)
def cumsum(node: OnnxNode, ctx: Lowering, *, exclusive: int = 0, reverse: int = 0) -> None:
    """CumSum along the constant `axis` input (position ids from an attention mask), optionally exclusive
    or from the end: a host op."""
    (axis,) = _const_ints(node, ctx, 1, "the axis")
    ctx.host(node, inputs=node.inputs[:1], axis=normalise_axis(node, axis, len(ctx.shape(node.inputs[0]))),
             exclusive=int(exclusive), reverse=int(reverse))


@converter("ConstantOfShape", since=9)
def constant_of_shape(node: OnnxNode, ctx: Lowering, *, value: np.ndarray | None = None) -> None:
    """ConstantOfShape whose shape input is computed at run time (a constant one is folded before
    lowering): when shape inference still fixes its output shape, the output is that constant."""
    if node.outputs[0] not in ctx.tensors:
        raise UnsupportedOp(f"{node.ref}: ConstantOfShape's shape ({node.inputs[0]!r}) is computed at run time "
                            f"and shape inference cannot fix its output shape; give the model's symbolic inputs "
                            f"sizes with --input-shape")
    fill = np.zeros(1, np.float32) if value is None else np.asarray(value).reshape(-1)
    ctx.alias(node.outputs[0], ctx.add_constant(node.outputs[0], np.full(ctx.shape(node.outputs[0]), fill[0])))
