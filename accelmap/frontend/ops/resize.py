"""Converters for Resize (opset 10, 11+) and Upsample (opsets 7, 9): host ops sharing one kernel.

Every version is normalised to: mode (nearest or linear), a coordinate
transformation, a nearest rounding mode, and per-axis `scales` (output /
input, as given or derived from the sizes) and `sizes` (the output shape).
Before opset 11 the coordinates are "asymmetric" (x / scale); nearest then
rounds down when upsampling and up when downsampling, as onnxruntime does.
"""
from __future__ import annotations

from collections.abc import Sequence

from accelmap.errors import UnsupportedOp
from accelmap.frontend.lowering import Lowering, OnnxNode
from accelmap.frontend.ops.tensor import normalise_axes
from accelmap.frontend.registry import converter

MODES = ("nearest", "linear")
TRANSFORMS = ("half_pixel", "pytorch_half_pixel", "asymmetric", "align_corners")
NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")


def _emit_resize(node: OnnxNode, ctx: Lowering, mode: str, transform: str, nearest_mode: str,
                 scales: Sequence[float] | None) -> None:
    """Emit Resize/Upsample; without `scales`, each axis' scale is output size / input size."""
    if mode not in MODES:
        raise UnsupportedOp(f"{node.ref}: {node.op_type} mode {mode!r} is not supported; use one of {MODES}")
    if transform not in TRANSFORMS:
        raise UnsupportedOp(f"{node.ref}: {node.op_type} coordinate_transformation_mode {transform!r} "
                            f"is not supported; use one of {TRANSFORMS}")
    if nearest_mode not in NEAREST_MODES:
        raise UnsupportedOp(f"{node.ref}: {node.op_type} nearest_mode {nearest_mode!r} is not an ONNX value")
    in_shape = ctx.shape(node.inputs[0])
    sizes = ctx.shape(node.outputs[0])
    scales = tuple(float(s) for s in scales) if scales else tuple(o / i for o, i in zip(sizes, in_shape))
    ctx.host(node, inputs=node.inputs[:1], mode=mode, coordinate_transformation_mode=transform,
             nearest_mode=nearest_mode, scales=scales, sizes=sizes)


def _legacy_nearest_mode(node: OnnxNode, mode: str, scales: Sequence[float]) -> str:
    """Rounding of nearest Resize-10 / Upsample: down when upsampling, up when downsampling (onnxruntime).

    Linear mode does not round; "floor" then only fills the attribute.
    """
    if mode == "nearest" and any(s < 1 for s in scales) and any(s > 1 for s in scales):
        raise UnsupportedOp(f"{node.ref}: {node.op_type} before opset 11 that upsamples some axes and "
                            f"downsamples others ({tuple(scales)}) is not supported")
    return "ceil" if mode == "nearest" and any(s < 1 for s in scales) else "floor"


def _scales_input(node: OnnxNode, ctx: Lowering, index: int) -> tuple[float, ...] | None:
    """The constant scales input at `index`, or None if omitted or empty."""
    if len(node.inputs) <= index or not node.inputs[index]:
        return None
    scales = ctx.require_const(node, node.inputs[index], "the scales").reshape(-1)
    return tuple(float(s) for s in scales) or None


@converter("Upsample", since=7)
def upsample_attribute(node: OnnxNode, ctx: Lowering, *, scales: tuple[float, ...], mode: str = "nearest") -> None:
    """Upsample, opsets 7-8: scales (>= 1) as an attribute, asymmetric coordinates."""
    _emit_resize(node, ctx, mode, "asymmetric", _legacy_nearest_mode(node, mode, scales), scales)


@converter("Upsample", since=9)
def upsample_input(node: OnnxNode, ctx: Lowering, *, mode: str = "nearest") -> None:
    """Upsample, opset 9 (deprecated from 10): scales as a constant input, asymmetric coordinates."""
    scales = _scales_input(node, ctx, 1)
    _emit_resize(node, ctx, mode, "asymmetric", _legacy_nearest_mode(node, mode, scales or ()), scales)


@converter("Resize", since=10)
def resize_scales(node: OnnxNode, ctx: Lowering, *, mode: str = "nearest") -> None:
    """Resize, opset 10: scales as a constant input, asymmetric coordinates."""
    scales = _scales_input(node, ctx, 1)
    _emit_resize(node, ctx, mode, "asymmetric", _legacy_nearest_mode(node, mode, scales or ()), scales)


@converter("Resize", since=11)
def resize(node: OnnxNode, ctx: Lowering, *, mode: str = "nearest",
           coordinate_transformation_mode: str = "half_pixel", nearest_mode: str = "round_prefer_floor",
           cubic_coeff_a: float = -0.75, exclude_outside: int = 0, extrapolation_value: float = 0.0,
           antialias: int = 0, axes: tuple[int, ...] = (), keep_aspect_ratio_policy: str = "stretch") -> None:
    """Resize, opset 11+: inputs X, roi, scales, sizes (scales or sizes given).

    roi, cubic_coeff_a, exclude_outside and extrapolation_value only matter
    for cubic mode or tf_crop_and_resize, which are rejected; opset 18's
    `axes` restricts scales/sizes to some axes; antialias and aspect-ratio
    policies other than "stretch" are not supported.
    """
    del cubic_coeff_a, exclude_outside, extrapolation_value
    if antialias:
        raise UnsupportedOp(f"{node.ref}: Resize with antialias=1 is not supported")
    if keep_aspect_ratio_policy != "stretch":
        raise UnsupportedOp(f"{node.ref}: Resize keep_aspect_ratio_policy={keep_aspect_ratio_policy!r} "
                            f"is not supported (only 'stretch')")
    scales = _scales_input(node, ctx, 2)
    if scales is not None and axes:
        rank = len(ctx.shape(node.inputs[0]))
        given = dict(zip(normalise_axes(node, axes, rank), scales))
        scales = tuple(given.get(axis, 1.0) for axis in range(rank))
    _emit_resize(node, ctx, mode, coordinate_transformation_mode, nearest_mode, scales)
