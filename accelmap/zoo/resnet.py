"""ResNet-18 and ResNet-50 (v1.5) in torchvision's layout, BatchNormalization left unfolded."""
from __future__ import annotations

from dataclasses import dataclass

import onnx
from onnx import TensorProto

from accelmap.zoo.builder import GraphBuilder, tensor

STAGE_PLANES = (64, 128, 256, 512)
CLASSES = 1000
# Scale of the last BatchNormalization in each residual branch: keeps the
# variance growth of the residual sum small, so activations stay O(1).
RESIDUAL_GAMMA = 0.3


@dataclass(frozen=True)
class ResNetSpec:
    """One ResNet: blocks per stage, block type, and the divisor applied to every channel count."""

    name: str
    blocks: tuple[int, int, int, int]
    bottleneck: bool
    width_div: int = 1


RESNET18 = ResNetSpec("resnet18", (2, 2, 2, 2), bottleneck=False)
RESNET50 = ResNetSpec("resnet50", (3, 4, 6, 3), bottleneck=True)
RESNET18_W8 = ResNetSpec("resnet18_w8", (2, 2, 2, 2), bottleneck=False, width_div=8)
RESNET50_W8 = ResNetSpec("resnet50_w8", (3, 4, 6, 3), bottleneck=True, width_div=8)


def resnet(spec: ResNetSpec) -> onnx.ModelProto:
    """Build a 224x224 ImageNet ResNet: stem, four stages (stride on the 3x3 conv), pool, classifier."""
    b = GraphBuilder(spec.name)
    stem = 64 // spec.width_div
    x = b.conv("input", "/conv1", 3, stem, kernel=7, stride=2)
    x = b.batch_norm(x, "/bn1", stem)
    x = b.op("Relu", [x], "/relu")
    x = b.op("MaxPool", [x], "/maxpool", kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2])
    block = _bottleneck if spec.bottleneck else _basic
    channels = stem
    for stage, (count, planes) in enumerate(zip(spec.blocks, STAGE_PLANES), start=1):
        for index in range(count):
            stride = 2 if stage > 1 and index == 0 else 1
            x, channels = block(b, x, f"/layer{stage}/{index}", channels, planes // spec.width_div, stride)
    x = b.op("GlobalAveragePool", [x], "/avgpool")
    x = b.op("Flatten", [x], "", axis=1)
    x = b.gemm(x, "/fc", channels, CLASSES)
    return b.model([tensor("input", TensorProto.FLOAT, [1, 3, 224, 224])], x,
                   tensor("output", TensorProto.FLOAT, [1, CLASSES]))


def _basic(b: GraphBuilder, x: str, scope: str, c_in: int, width: int, stride: int) -> tuple[str, int]:
    """BasicBlock: 3x3 (strided) and 3x3 convs; returns the output and its channel count."""
    y = b.conv(x, f"{scope}/conv1", c_in, width, kernel=3, stride=stride)
    y = b.batch_norm(y, f"{scope}/bn1", width)
    y = b.op("Relu", [y], f"{scope}/relu")
    y = b.conv(y, f"{scope}/conv2", width, width, kernel=3)
    y = b.batch_norm(y, f"{scope}/bn2", width, gamma=RESIDUAL_GAMMA)
    return _residual(b, x, y, scope, c_in, width, stride), width


def _bottleneck(b: GraphBuilder, x: str, scope: str, c_in: int, width: int, stride: int) -> tuple[str, int]:
    """Bottleneck v1.5: 1x1 reduce, 3x3 (strided), 1x1 expand by 4; returns the output and its channels."""
    c_out = 4 * width
    y = b.conv(x, f"{scope}/conv1", c_in, width, kernel=1)
    y = b.batch_norm(y, f"{scope}/bn1", width)
    y = b.op("Relu", [y], f"{scope}/relu")
    y = b.conv(y, f"{scope}/conv2", width, width, kernel=3, stride=stride)
    y = b.batch_norm(y, f"{scope}/bn2", width)
    y = b.op("Relu", [y], f"{scope}/relu")
    y = b.conv(y, f"{scope}/conv3", width, c_out, kernel=1)
    y = b.batch_norm(y, f"{scope}/bn3", c_out, gamma=RESIDUAL_GAMMA)
    return _residual(b, x, y, scope, c_in, c_out, stride), c_out


def _residual(b: GraphBuilder, x: str, y: str, scope: str, c_in: int, c_out: int, stride: int) -> str:
    """Add the shortcut (a 1x1 conv + BN projection when the shape changes) and apply ReLU."""
    if stride != 1 or c_in != c_out:
        x = b.conv(x, f"{scope}/downsample/0", c_in, c_out, kernel=1, stride=stride)
        x = b.batch_norm(x, f"{scope}/downsample/1", c_out)
    y = b.op("Add", [y, x], scope)
    return b.op("Relu", [y], f"{scope}/relu")
