"""VGG-16 (configuration D) in torchvision's layout, without batch norm."""
from __future__ import annotations

from dataclasses import dataclass

import onnx
from onnx import TensorProto

from accelmap.zoo.builder import GraphBuilder, tensor

# Output channels of each 3x3 conv; "M" is a 2x2/2 MaxPool.
FEATURES = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")
HIDDEN = 4096
CLASSES = 1000


@dataclass(frozen=True)
class VggSpec:
    """One VGG-16: channel and hidden-unit divisor, and the square input resolution (a multiple of 32)."""

    name: str
    width_div: int = 1
    resolution: int = 224


VGG16 = VggSpec("vgg16")
VGG16_W8 = VggSpec("vgg16_w8", width_div=8, resolution=64)


def vgg16(spec: VggSpec) -> onnx.ModelProto:
    """Build VGG-16: 13 conv+ReLU layers in 5 pooled blocks, then three fully connected layers."""
    b = GraphBuilder(spec.name)
    x, channels, module = "input", 3, 0  # `module` is the index in torchvision's `features`
    for layer in FEATURES:
        if layer == "M":
            x = b.op("MaxPool", [x], f"/features/{module}", kernel_shape=[2, 2], strides=[2, 2])
            module += 1
            continue
        c_out = layer // spec.width_div
        x = b.conv(x, f"/features/{module}", channels, c_out, kernel=3, bias=True)
        x = b.op("Relu", [x], f"/features/{module + 1}")
        channels, module = c_out, module + 2
    side = spec.resolution // 32
    hidden = HIDDEN // spec.width_div
    x = b.op("Flatten", [x], "", axis=1)
    x = b.gemm(x, "/classifier/0", channels * side * side, hidden)
    x = b.op("Relu", [x], "/classifier/1")
    x = b.op("Dropout", [x], "/classifier/2")
    x = b.gemm(x, "/classifier/3", hidden, hidden)
    x = b.op("Relu", [x], "/classifier/4")
    x = b.op("Dropout", [x], "/classifier/5")
    x = b.gemm(x, "/classifier/6", hidden, CLASSES)
    resolution = spec.resolution
    return b.model([tensor("input", TensorProto.FLOAT, [1, 3, resolution, resolution])], x,
                   tensor("output", TensorProto.FLOAT, [1, CLASSES]))
