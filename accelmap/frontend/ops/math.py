"""Converters for element-wise arithmetic, comparison, logic and casts: all host ops.

Their operands broadcast numpy-style (multidirectional from opset 7), so each
op keeps its ONNX inputs; only Cast's target type and Elu's alpha are
normalised into attributes.
"""
from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper

from accelmap.errors import UnsupportedOp
from accelmap.frontend.lowering import Lowering, OnnxNode
from accelmap.frontend.registry import converter

CASTABLE = (TensorProto.BOOL, TensorProto.INT8, TensorProto.INT16, TensorProto.INT32, TensorProto.INT64,
            TensorProto.UINT8, TensorProto.UINT16, TensorProto.UINT32, TensorProto.UINT64,
            TensorProto.FLOAT16, TensorProto.FLOAT, TensorProto.DOUBLE)


@converter("Sub", since=7)
def sub(node: OnnxNode, ctx: Lowering) -> None:
    """Sub (A - B, broadcast): a host op."""
    ctx.host(node)


@converter("Div", since=7)
def div(node: OnnxNode, ctx: Lowering) -> None:
    """Div (A / B, broadcast; integers truncate): a host op."""
    ctx.host(node)


@converter("Pow", since=7)
def power(node: OnnxNode, ctx: Lowering) -> None:
    """Pow (X ** Y, broadcast, result in X's type): a host op."""
    ctx.host(node)


@converter("Sqrt", since=6)
def sqrt(node: OnnxNode, ctx: Lowering) -> None:
    """Sqrt: a host op."""
    ctx.host(node)


@converter("Neg", since=6)
def neg(node: OnnxNode, ctx: Lowering) -> None:
    """Neg: a host op."""
    ctx.host(node)


@converter("Exp", since=6)
def exp(node: OnnxNode, ctx: Lowering) -> None:
    """Exp: a host op."""
    ctx.host(node)


@converter("Sin", since=7)
def sin(node: OnnxNode, ctx: Lowering) -> None:
    """Sin (rotary-embedding tables computed from position ids): a host op."""
    ctx.host(node)


@converter("Cos", since=7)
def cos(node: OnnxNode, ctx: Lowering) -> None:
    """Cos (rotary-embedding tables computed from position ids): a host op."""
    ctx.host(node)


@converter("Reciprocal", since=6)
def reciprocal(node: OnnxNode, ctx: Lowering) -> None:
    """Reciprocal (1 / x; torch's rsqrt exports as Sqrt then Reciprocal): a host op."""
    ctx.host(node)


@converter("Abs", since=6)
def absolute(node: OnnxNode, ctx: Lowering) -> None:
    """Abs: a host op."""
    ctx.host(node)


@converter("Log", since=6)
def log(node: OnnxNode, ctx: Lowering) -> None:
    """Log (natural logarithm): a host op."""
    ctx.host(node)


@converter("Erf", since=9)
def erf(node: OnnxNode, ctx: Lowering) -> None:
    """Erf (the error function, as in exported GELU): a host op."""
    ctx.host(node)


@converter("Where", since=9)
def where(node: OnnxNode, ctx: Lowering) -> None:
    """Where (condition ? X : Y, broadcast): a host op."""
    ctx.host(node)


@converter("Equal", since=7)
def equal(node: OnnxNode, ctx: Lowering) -> None:
    """Equal (A == B, broadcast, bool result): a host op."""
    ctx.host(node)


@converter("Less", since=7)
def less(node: OnnxNode, ctx: Lowering) -> None:
    """Less (A < B, broadcast, bool result): a host op."""
    ctx.host(node)


@converter("Greater", since=7)
def greater(node: OnnxNode, ctx: Lowering) -> None:
    """Greater (A > B, broadcast, bool result): a host op."""
    ctx.host(node)


@converter("GreaterOrEqual", since=12)
def greater_or_equal(node: OnnxNode, ctx: Lowering) -> None:
    """GreaterOrEqual (A >= B, broadcast, bool result): a host op."""
    ctx.host(node)


@converter("LessOrEqual", since=12)
def less_or_equal(node: OnnxNode, ctx: Lowering) -> None:
    """LessOrEqual (A <= B, broadcast, bool result): a host op."""
    ctx.host(node)


@converter("And", since=7)
def logical_and(node: OnnxNode, ctx: Lowering) -> None:
    """And of two bool tensors (broadcast; joins causal and padding masks): a host op."""
    ctx.host(node)


@converter("Or", since=7)
def logical_or(node: OnnxNode, ctx: Lowering) -> None:
    """Or of two bool tensors (broadcast): a host op."""
    ctx.host(node)


@converter("Not", since=1)
def logical_not(node: OnnxNode, ctx: Lowering) -> None:
    """Not (logical negation of a bool tensor): a host op."""
    ctx.host(node)


@converter("Mod", since=10)
def mod(node: OnnxNode, ctx: Lowering, *, fmod: int = 0) -> None:
    """Mod: remainder with the divisor's sign (fmod=0, integers only) or C fmod (fmod=1)."""
    if not fmod and ctx.dtype(node.inputs[0]).startswith("float"):
        raise UnsupportedOp(f"{node.ref}: Mod of floating-point tensors needs fmod=1 (ONNX spec)")
    ctx.host(node, fmod=int(fmod))


@converter("Min", since=6)
def minimum(node: OnnxNode, ctx: Lowering) -> None:
    """Min of any number of inputs (broadcast): a host op."""
    ctx.host(node)


@converter("Max", since=6)
def maximum(node: OnnxNode, ctx: Lowering) -> None:
    """Max of any number of inputs (broadcast): a host op."""
    ctx.host(node)


@converter("Cast", since=6)
def cast(node: OnnxNode, ctx: Lowering, *, to: int, saturate: int = 1) -> None:
    """Cast to the TensorProto type `to`, normalised to a numpy dtype name.

    `saturate` (opset 19) only affects float8 targets, which are not supported.
    """
    del saturate
    if to not in CASTABLE:
        raise UnsupportedOp(f"{node.ref}: Cast to {TensorProto.DataType.Name(to)} is not supported; "
                            f"supported targets are bool, integers, float16, float and double")
    ctx.host(node, to=np.dtype(helper.tensor_dtype_to_np_dtype(to)).name)


@converter("PRelu", since=7)
def prelu(node: OnnxNode, ctx: Lowering) -> None:
    """PRelu (x < 0 ? slope * x : x, slope broadcast to x): a host op."""
    x, slope = ctx.shape(node.inputs[0]), ctx.shape(node.inputs[1])
    try:
        fits = np.broadcast_shapes(x, slope) == tuple(x)
    except ValueError:
        fits = False
    if not fits:
        raise UnsupportedOp(f"{node.ref}: PRelu slope of shape {slope} does not broadcast to the input {x} "
                            f"(numpy rules, from opset 7); a per-channel slope needs shape (C, 1, 1)")
    ctx.host(node)


@converter("Selu", since=6)
def selu(node: OnnxNode, ctx: Lowering, *, alpha: float = 1.67326319217681884765625,
         gamma: float = 1.05070102214813232421875) -> None:
    """Selu (gamma * (x > 0 ? x : alpha * (exp(x) - 1))): a host op."""
    ctx.host(node, alpha=float(alpha), gamma=float(gamma))


@converter("Softplus", since=1)
def softplus(node: OnnxNode, ctx: Lowering) -> None:
    """Softplus (log(1 + exp(x))): a host op."""
    ctx.host(node)


@converter("Softsign", since=1)
def softsign(node: OnnxNode, ctx: Lowering) -> None:
    """Softsign (x / (1 + |x|)): a host op."""
    ctx.host(node)


@converter("Elu", since=6)
def elu(node: OnnxNode, ctx: Lowering, *, alpha: float = 1.0) -> None:
    """Elu (x > 0 ? x : alpha * (exp(x) - 1)): a host op."""
    ctx.host(node, alpha=float(alpha))
