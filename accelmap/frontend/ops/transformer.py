"""Converters for transformer ops: LayerNormalization (opset 17), Gelu (opset 20) and
RMSNormalization (opset 23), host ops.

Older exports spell them out (ReduceMean/Sub/Pow/.../Add, the Erf form of
GELU, Pow/ReduceMean/Add/Sqrt/Reciprocal/Mul for RMSNorm); those lower op by
op through the math and reduce converters.
"""
from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper

from accelmap.errors import UnsupportedOp
from accelmap.frontend.lowering import Lowering, OnnxNode
from accelmap.frontend.ops.tensor import normalise_axis
from accelmap.frontend.registry import converter

STASH_TYPES = (TensorProto.FLOAT, TensorProto.DOUBLE)
GELU_APPROXIMATIONS = ("none", "tanh")


@converter("LayerNormalization", since=17)
def layer_normalization(node: OnnxNode, ctx: Lowering, *, axis: int = -1, epsilon: float = 1e-5,
                        stash_type: int = TensorProto.FLOAT) -> None:
    """LayerNormalization over axes axis..rank-1: a host op producing only the normalised output Y.

    `stash_type` (the statistics' precision) is normalised to a numpy dtype name.
    """
    if any(node.outputs[1:]):
        raise UnsupportedOp(f"{node.ref}: LayerNormalization's Mean and InvStdDev outputs are not "
                            f"supported (training only); only Y is")
    if stash_type not in STASH_TYPES:
        raise UnsupportedOp(f"{node.ref}: LayerNormalization stash_type "
                            f"{TensorProto.DataType.Name(stash_type)} is not supported (float or double)")
    bias = node.inputs[2] if len(node.inputs) > 2 else ""
    ctx.host(node, inputs=(node.inputs[0], node.inputs[1], bias), outputs=node.outputs[:1],
             axis=normalise_axis(node, axis, len(ctx.shape(node.inputs[0]))), epsilon=float(epsilon),
             stash_type=np.dtype(helper.tensor_dtype_to_np_dtype(stash_type)).name)


@converter("RMSNormalization", since=23)
def rms_normalization(node: OnnxNode, ctx: Lowering, *, axis: int = -1, epsilon: float = 1e-5,
                      stash_type: int = TensorProto.FLOAT) -> None:
    """RMSNormalization over axes axis..rank-1 (LLaMA's RMSNorm, fused): a host op.

    `stash_type` (the statistic's precision) is normalised to a numpy dtype name.
    """
    if stash_type not in STASH_TYPES:
        raise UnsupportedOp(f"{node.ref}: RMSNormalization stash_type "
                            f"{TensorProto.DataType.Name(stash_type)} is not supported (float or double)")
    ctx.host(node, axis=normalise_axis(node, axis, len(ctx.shape(node.inputs[0]))), epsilon=float(epsilon),
             stash_type=np.dtype(helper.tensor_dtype_to_np_dtype(stash_type)).name)


@converter("Gelu", since=20)
def gelu(node: OnnxNode, ctx: Lowering, *, approximate: str = "none") -> None:
    """Gelu, exact (erf) or with the tanh approximation: a host op."""
    if approximate not in GELU_APPROXIMATIONS:
        raise UnsupportedOp(f"{node.ref}: Gelu approximate={approximate!r}; "
                            f"expected one of {GELU_APPROXIMATIONS}")
    ctx.host(node, approximate=approximate)
