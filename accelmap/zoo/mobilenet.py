"""MobileNetV2 in torchvision's layout: inverted residuals, depthwise 3x3 convs, ReLU6 as Clip(0, 6)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto

from accelmap.zoo.builder import GraphBuilder, tensor

# (expansion t, output channels c, repeats n, first stride s), as in the paper's Table 2.
INVERTED_RESIDUALS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                      (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
STEM_CHANNELS = 32
LAST_CHANNELS = 1280
CLASSES = 1000
# Scale of the projection's BatchNormalization on residual blocks: keeps the
# variance growth of the residual sum small, so activations stay O(1).
RESIDUAL_GAMMA = 0.3


@dataclass(frozen=True)
class MobileNetSpec:
    """One MobileNetV2: every channel count is divided by `width_div`, then rounded to a multiple of 8."""

    name: str
    width_div: int = 1


MOBILENETV2 = MobileNetSpec("mobilenetv2")
MOBILENETV2_W4 = MobileNetSpec("mobilenetv2_w4", width_div=4)


def mobilenetv2(spec: MobileNetSpec) -> onnx.ModelProto:
    """Build a 224x224 ImageNet MobileNetV2: stem, 17 inverted residuals, 1x1 conv, pool, classifier."""
    b = GraphBuilder(spec.name)
    b.constant("relu6.min", np.array(0.0, dtype=np.float32))
    b.constant("relu6.max", np.array(6.0, dtype=np.float32))
    channels = _divisible(STEM_CHANNELS / spec.width_div)
    x = _conv_bn_relu6(b, "input", "/features/0", 3, channels, kernel=3, stride=2)
    feature = 1
    for expansion, c, repeats, first_stride in INVERTED_RESIDUALS:
        c_out = _divisible(c / spec.width_div)
        for index in range(repeats):
            # Residual on every block after a stage's first: the full-width rule
            # (stride 1, equal channels), kept so reduced widths share the topology.
            x = _inverted_residual(b, x, f"/features/{feature}", channels, c_out, expansion,
                                   stride=first_stride if index == 0 else 1, residual=index > 0)
            channels = c_out
            feature += 1
    last = LAST_CHANNELS // spec.width_div
    x = _conv_bn_relu6(b, x, f"/features/{feature}", channels, last, kernel=1)
    x = b.op("GlobalAveragePool", [x], "")
    x = b.op("Flatten", [x], "", axis=1)
    x = b.gemm(x, "/classifier/1", last, CLASSES)
    return b.model([tensor("input", TensorProto.FLOAT, [1, 3, 224, 224])], x,
                   tensor("output", TensorProto.FLOAT, [1, CLASSES]))


def _inverted_residual(b: GraphBuilder, x: str, scope: str, c_in: int, c_out: int, expansion: int,
                       stride: int, residual: bool) -> str:
    """Expand (1x1, skipped when t=1), depthwise 3x3, linear 1x1 projection, optional residual Add."""
    hidden = c_in * expansion
    y, layer = x, 0
    if expansion != 1:
        y = _conv_bn_relu6(b, y, f"{scope}/conv/{layer}", c_in, hidden, kernel=1)
        layer += 1
    y = _conv_bn_relu6(b, y, f"{scope}/conv/{layer}", hidden, hidden, kernel=3, stride=stride, group=hidden)
    y = b.conv(y, f"{scope}/conv/{layer + 1}", hidden, c_out, kernel=1)
    y = b.batch_norm(y, f"{scope}/conv/{layer + 2}", c_out, gamma=RESIDUAL_GAMMA if residual else 1.0)
    return b.op("Add", [x, y], scope) if residual else y


def _conv_bn_relu6(b: GraphBuilder, x: str, scope: str, c_in: int, c_out: int, kernel: int,
                   stride: int = 1, group: int = 1) -> str:
    """torchvision's Conv2dNormActivation: conv (index 0), BatchNormalization (1), ReLU6 (2)."""
    x = b.conv(x, f"{scope}/0", c_in, c_out, kernel=kernel, stride=stride, group=group)
    x = b.batch_norm(x, f"{scope}/1", c_out)
    return b.op("Clip", [x, "relu6.min", "relu6.max"], f"{scope}/2")


def _divisible(channels: float, divisor: int = 8) -> int:
    """torchvision's `_make_divisible`: round to the nearest multiple, never below 90% of the request."""
    rounded = max(divisor, int(channels + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * channels else rounded
