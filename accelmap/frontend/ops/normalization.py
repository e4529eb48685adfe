"""Converters for normalisation ops: BatchNormalization (folded later when it can be), LRN and
InstanceNormalization."""
from __future__ import annotations

from accelmap.errors import UnsupportedOp
from accelmap.frontend.lowering import Lowering, OnnxNode
from accelmap.frontend.registry import converter


@converter("BatchNormalization", since=1)
def batch_normalization(node: OnnxNode, ctx: Lowering, *, epsilon: float = 1e-5, momentum: float = 0.9,
                        spatial: int = 1, training_mode: int = 0, is_test: int = 1,
                        consumed_inputs: tuple[int, ...] = ()) -> None:
    """Inference-mode BatchNormalization: a host op; the bn-into-conv rule folds it where it can."""
    del momentum, is_test, consumed_inputs  # training-only or legacy attributes
    if training_mode or len([o for o in node.outputs if o]) > 1:
        raise UnsupportedOp(f"{node.ref}: BatchNormalization in training mode is not supported")
    if not spatial:
        raise UnsupportedOp(f"{node.ref}: BatchNormalization with spatial=0 is not supported")
    ctx.host(node, outputs=node.outputs[:1], epsilon=float(epsilon))


@converter("LRN", since=1)
def lrn(node: OnnxNode, ctx: Lowering, *, size: int, alpha: float = 1e-4, beta: float = 0.75,
        bias: float = 1.0) -> None:
    """Local response normalisation across `size` neighbouring channels."""
    ctx.host(node, size=int(size), alpha=float(alpha), beta=float(beta), bias=float(bias))


@converter("InstanceNormalization", since=6)
def instance_normalization(node: OnnxNode, ctx: Lowering, *, epsilon: float = 1e-5) -> None:
    """InstanceNormalization (per sample and channel over the spatial axes, then scale and bias): a host op."""
    if len(ctx.shape(node.inputs[0])) < 3:
        raise UnsupportedOp(f"{node.ref}: InstanceNormalization needs an input of rank 3 or more (N, C, ...)")
    ctx.host(node, epsilon=float(epsilon))
