"""Converters for element-wise activations; the activation-into-layer rule fuses them."""
from __future__ import annotations

from accelmap.frontend.lowering import Lowering, OnnxNode
from accelmap.frontend.registry import converter


@converter("Relu", since=1)
def relu(node: OnnxNode, ctx: Lowering) -> None:
    """Relu: a host op until fused into the producing layer."""
    ctx.host(node)
