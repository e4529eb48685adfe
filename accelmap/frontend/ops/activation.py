"""Converters for element-wise activations: host ops that the activation-into-layer rule
fuses into the producing layer as post-ops."""
from __future__ import annotations

import numpy as np

from accelmap.frontend.lowering import Lowering, OnnxNode
from accelmap.frontend.registry import converter

FLOAT_LOWEST = float(np.finfo(np.float32).min)
FLOAT_MAX = float(np.finfo(np.float32).max)


@converter("Relu", since=1)
def relu(node: OnnxNode, ctx: Lowering) -> None:
    """Relu: max(x, 0)."""
    ctx.host(node)


@converter("Clip", since=1)
def clip_1(node: OnnxNode, ctx: Lowering, *, min: float = FLOAT_LOWEST, max: float = FLOAT_MAX) -> None:
    """Clip before opset 11: the bounds are attributes (default: the float32 range)."""
    ctx.host(node, min=float(min), max=float(max))


@converter("Clip", since=11)
def clip_11(node: OnnxNode, ctx: Lowering) -> None:
    """Clip from opset 11: the bounds are optional constant inputs, passed on as attributes."""
    ctx.host(node, inputs=node.inputs[:1], min=_bound(node, ctx, 1, FLOAT_LOWEST),
             max=_bound(node, ctx, 2, FLOAT_MAX))


def _bound(node: OnnxNode, ctx: Lowering, index: int, default: float) -> float:
    """The scalar value of Clip's optional input `index` (1 = min, 2 = max), or `default` if omitted."""
    if len(node.inputs) <= index or not node.inputs[index]:
        return default
    what = "the min bound" if index == 1 else "the max bound"
    return float(ctx.require_const(node, node.inputs[index], what).item())


@converter("LeakyRelu", since=1)
def leaky_relu(node: OnnxNode, ctx: Lowering, *, alpha: float = 0.01) -> None:
    """LeakyRelu: x if x >= 0 else alpha * x."""
    ctx.host(node, alpha=float(alpha))


@converter("Sigmoid", since=1)
def sigmoid(node: OnnxNode, ctx: Lowering) -> None:
    """Sigmoid: 1 / (1 + exp(-x))."""
    ctx.host(node)


@converter("HardSigmoid", since=1)
def hard_sigmoid(node: OnnxNode, ctx: Lowering, *, alpha: float = 0.2, beta: float = 0.5) -> None:
    """HardSigmoid: clip(alpha * x + beta, 0, 1)."""
    ctx.host(node, alpha=float(alpha), beta=float(beta))


@converter("HardSwish", since=14)
def hard_swish(node: OnnxNode, ctx: Lowering) -> None:
    """HardSwish: x * clip(x / 6 + 1/2, 0, 1)."""
    ctx.host(node)


@converter("Tanh", since=1)
def tanh(node: OnnxNode, ctx: Lowering) -> None:
    """Tanh: the hyperbolic tangent."""
    ctx.host(node)
