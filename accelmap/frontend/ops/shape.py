"""Converters for ops that move data without arithmetic: Flatten, Reshape, Concat, and the
inference-time identities Identity and Dropout (which only rename a tensor)."""
from __future__ import annotations

from math import prod

import numpy as np

from accelmap.errors import UnsupportedOp
from accelmap.frontend.lowering import Lowering, OnnxNode
from accelmap.frontend.ops.tensor import normalise_axis
from accelmap.frontend.registry import converter


@converter("Flatten", since=1)
def flatten(node: OnnxNode, ctx: Lowering, *, axis: int = 1) -> None:
    """Flatten: a 2-D view, the axes before `axis` in rows and the rest in columns."""
    rank = len(ctx.shape(node.inputs[0]))
    if not -rank <= axis <= rank:
        raise UnsupportedOp(f"{node.ref}: Flatten axis {axis} is out of range for rank {rank}")
    ctx.host(node, axis=axis + rank if axis < 0 else axis)


def _reshape(node: OnnxNode, ctx: Lowering, allowzero: int) -> None:
    """Emit Reshape with the target shape resolved: 0 copies the input's dim (unless
    `allowzero`), -1 takes what is left."""
    in_shape = ctx.shape(node.inputs[0])
    target = [int(d) for d in ctx.require_const(node, node.inputs[1], "the target shape").reshape(-1)]
    shape = [in_shape[i] if d == 0 and not allowzero else d for i, d in enumerate(target)]
    known = prod(d for d in shape if d != -1)
    if shape.count(-1) > 1 or any(d < -1 for d in shape) or (-1 in shape and known == 0):
        raise UnsupportedOp(f"{node.ref}: Reshape target {tuple(target)} is not a valid ONNX shape "
                            f"for input {in_shape}")
    if -1 in shape:
        shape[shape.index(-1)] = prod(in_shape) // known
    if prod(shape) != prod(in_shape):
        raise UnsupportedOp(f"{node.ref}: cannot reshape {in_shape} to {tuple(target)}")
    ctx.host(node, inputs=node.inputs[:1], shape=tuple(shape))


@converter("Reshape", since=5)
def reshape_5(node: OnnxNode, ctx: Lowering) -> None:
    """Reshape from opset 5: the target shape is a constant input."""
    _reshape(node, ctx, allowzero=0)


@converter("Reshape", since=14)
def reshape_14(node: OnnxNode, ctx: Lowering, *, allowzero: int = 0) -> None:
    """Reshape from opset 14: `allowzero` makes a 0 in the target a real zero-size dim."""
    _reshape(node, ctx, allowzero=int(allowzero))


@converter("Concat", since=4)
def concat(node: OnnxNode, ctx: Lowering, *, axis: int) -> None:
    """Concat along `axis`."""
    rank = len(ctx.shape(node.inputs[0]))
    ctx.host(node, axis=normalise_axis(node, axis, rank))


@converter("Identity", since=1)
def identity(node: OnnxNode, ctx: Lowering) -> None:
    """Identity: the output is another name for the input."""
    ctx.alias(node.outputs[0], node.inputs[0])


def _dropout_at_inference(node: OnnxNode, ctx: Lowering, mask_value: bool, mask_dtype: str) -> None:
    """Dropout is the identity at inference; its optional mask output is a constant."""
    ctx.alias(node.outputs[0], node.inputs[0])
    if len(node.outputs) > 1 and node.outputs[1]:
        mask = np.full(ctx.shape(node.inputs[0]), mask_value, dtype=mask_dtype)
        ctx.alias(node.outputs[1], ctx.add_constant(f"{node.name}/mask", mask))


@converter("Dropout", since=7)
def dropout_7(node: OnnxNode, ctx: Lowering, *, ratio: float = 0.5) -> None:
    """Dropout from opset 7: the ratio is an attribute, unused at inference.

    The spec leaves the inference-time mask open; it is zeros of the input's
    type, as onnxruntime (the oracle `accelmap validate` compares with) returns.
    """
    del ratio  # dropping happens only in training
    _dropout_at_inference(node, ctx, False, ctx.dtype(node.inputs[0]))


@converter("Dropout", since=10)
def dropout_10(node: OnnxNode, ctx: Lowering, *, ratio: float = 0.5) -> None:
    """Dropout from opset 10: as opset 7, but the mask is boolean (all false, as onnxruntime returns)."""
    del ratio  # dropping happens only in training
    _dropout_at_inference(node, ctx, False, "bool")


@converter("Dropout", since=12)
def dropout_12(node: OnnxNode, ctx: Lowering, *, seed: int = 0) -> None:
    """Dropout from opset 12: ratio and training_mode are inputs; training_mode must be a constant
    false, and the mask is then all true (every element kept)."""
    del seed  # dropping happens only in training
    if len(node.inputs) > 2 and node.inputs[2]:
        if ctx.require_const(node, node.inputs[2], "training_mode").any():
            raise UnsupportedOp(f"{node.ref}: Dropout with training_mode=true is not supported "
                                f"(accelmap compiles for inference)")
    _dropout_at_inference(node, ctx, True, "bool")
