"""Classic CNN blocks built in code: interpreter == onnxruntime, and the clean-up rules did their job.

Tolerance: helpers.RTOL / helpers.ATOL (float32: rtol 1e-4, atol 1e-5).
"""
from __future__ import annotations

import math

import numpy as np
import onnx
import pytest
from onnx import helper

from accelmap.ir import Graph

from .helpers import check


class Block:
    """Nodes and seeded weights of a block being built; each op writes a fresh tensor."""

    def __init__(self, seed: int = 0) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: dict[str, np.ndarray] = {}
        self.rng = np.random.default_rng(seed)

    def op(self, op: str, inputs: list[str], **attrs: object) -> str:
        """Append a node; return its output's name."""
        out = f"t{len(self.nodes)}"
        self.nodes.append(helper.make_node(op, inputs, [out], name=f"/{op}_{len(self.nodes)}", **attrs))
        return out

    def constant(self, value: np.ndarray) -> str:
        """Add an initializer; return its name."""
        name = f"k{len(self.initializers)}"
        self.initializers[name] = np.asarray(value)
        return name

    def conv(self, x: str, c_in: int, c_out: int, kernel: int, stride: int = 1, group: int = 1,
             bias: bool = False) -> str:
        """'Same'-padded square convolution with He-scaled weights."""
        scale = math.sqrt(2.0 / (c_in // group * kernel * kernel))
        inputs = [x, self.constant(self._normal((c_out, c_in // group, kernel, kernel), scale))]
        if bias:
            inputs.append(self.constant(self._normal((c_out,), 0.1)))
        return self.op("Conv", inputs, kernel_shape=[kernel, kernel], pads=[kernel // 2] * 4,
                       strides=[stride, stride], group=group)

    def batch_norm(self, x: str, channels: int) -> str:
        """Inference BatchNormalization with random statistics near (0, 1)."""
        scale = 1.0 + self._normal((channels,), 0.1)
        var = 1.0 + np.abs(self._normal((channels,), 0.2))
        params = [scale, self._normal((channels,), 0.1), self._normal((channels,), 0.1), var]
        return self.op("BatchNormalization", [x] + [self.constant(p) for p in params], epsilon=1e-5)

    def relu6(self, x: str) -> str:
        """Clip(0, 6) with its bounds as inputs (opset 11 on)."""
        return self.op("Clip", [x, self.constant(np.array(0, np.float32)), self.constant(np.array(6, np.float32))])

    def gemm(self, x: str, c_in: int, c_out: int) -> str:
        """Fully connected layer, PyTorch layout (transB=1) with a bias."""
        weight = self.constant(self._normal((c_out, c_in), math.sqrt(2.0 / c_in)))
        return self.op("Gemm", [x, weight, self.constant(self._normal((c_out,), 0.1))], transB=1)

    def check(self, x_shape: tuple[int, ...], result: str, opset: int) -> Graph:
        """Rename `result` to the graph output `y` and compare against onnxruntime."""
        self.nodes[-1].output[:] = ["y" if o == result else o for o in self.nodes[-1].output]
        return check(self.nodes, {"x": x_shape}, ["y"], self.initializers, opset=opset)

    def _normal(self, shape: tuple[int, ...], scale: float) -> np.ndarray:
        return (self.rng.standard_normal(shape) * scale).astype(np.float32)


def ops(graph: Graph) -> list[str]:
    """Op names of the graph's nodes, mapped layers and host ops alike."""
    return [n.op for n in graph.nodes]


def bottleneck(b: Block, x: str, c_in: int, width: int, stride: int) -> str:
    """ResNet-50 bottleneck: 1x1 -> 3x3 (stride) -> 1x1 (x4), each with BN; a projection
    shortcut (conv with bias, then BN) when the shape changes."""
    y = b.op("Relu", [b.batch_norm(b.conv(x, c_in, width, 1), width)])
    y = b.op("Relu", [b.batch_norm(b.conv(y, width, width, 3, stride), width)])
    y = b.batch_norm(b.conv(y, width, 4 * width, 1), 4 * width)
    shortcut = x
    if stride != 1 or c_in != 4 * width:
        shortcut = b.batch_norm(b.conv(x, c_in, 4 * width, 1, stride, bias=True), 4 * width)
    return b.op("Relu", [b.op("Add", [y, shortcut])])


@pytest.mark.parametrize("opset", [9, 17])
def test_resnet50_bottleneck_stage(opset: int) -> None:
    b = Block(seed=1)
    y = bottleneck(b, "x", 16, 8, stride=2)
    y = bottleneck(b, y, 32, 8, stride=1)
    graph = b.check((1, 16, 14, 14), y, opset)
    assert "BatchNormalization" not in ops(graph)
    assert ops(graph) == ["Conv"] * 4 + ["Add", "Relu"] + ["Conv"] * 3 + ["Add", "Relu"]
    post_ops = [[p.kind for p in layer.post_ops] for layer in graph.layers()]
    assert post_ops == [["add", "relu"], ["add", "relu"], ["add"], ["add"],  # the conv bias folds into BN's
                        ["add", "relu"], ["add", "relu"], ["add"]]
    assert graph.macs == sum(layer.workload.macs for layer in graph.layers())


def test_batch_norm_whose_conv_output_has_a_second_consumer_stays_a_host_op() -> None:
    b = Block(seed=2)
    conv = b.conv("x", 3, 4, 3)
    normalised = b.op("Relu", [b.batch_norm(conv, 4)])
    y = b.op("Add", [normalised, b.op("Sigmoid", [conv])])
    graph = b.check((1, 3, 7, 6), y, 13)
    assert ops(graph) == ["Conv", "BatchNormalization", "Relu", "Sigmoid", "Add"]
    assert graph.layers()[0].post_ops == ()


def test_mobilenetv2_inverted_residual_stage() -> None:
    b = Block(seed=3)
    # Block 1: expand 8 -> 32, depthwise 3x3 with group = 32, project 32 -> 8, residual Add.
    y = b.relu6(b.batch_norm(b.conv("x", 8, 32, 1), 32))
    y = b.relu6(b.batch_norm(b.conv(y, 32, 32, 3, group=32), 32))
    y = b.batch_norm(b.conv(y, 32, 8, 1), 8)
    y = b.op("Add", ["x", y])
    # Block 2: expand 8 -> 16, depthwise with multiplier 2 (16 -> 32, group = 16) and stride 2, project 32 -> 12.
    y = b.relu6(b.batch_norm(b.conv(y, 8, 16, 1), 16))
    y = b.relu6(b.batch_norm(b.conv(y, 16, 32, 3, stride=2, group=16), 32))
    y = b.batch_norm(b.conv(y, 32, 12, 1), 12)
    graph = b.check((1, 8, 10, 10), y, 13)
    assert ops(graph) == ["Conv"] * 3 + ["Add"] + ["Conv"] * 3
    clips = [str(p) for layer in graph.layers() for p in layer.post_ops if p.kind == "clip"]
    assert clips == ["clip(0, 6)"] * 4
    depthwise = [layer.workload.dims for layer in graph.layers() if layer.attrs["group"] > 1]
    assert [(d["G"], d["K"], d["C"]) for d in depthwise] == [(32, 1, 1), (16, 2, 1)]


def test_vgg_stack_with_classifier() -> None:
    b = Block(seed=4)
    y = b.op("Relu", [b.conv("x", 3, 8, 3, bias=True)])
    y = b.op("Relu", [b.conv(y, 8, 8, 3, bias=True)])
    y = b.op("MaxPool", [y], kernel_shape=[2, 2], strides=[2, 2])
    y = b.op("Relu", [b.conv(y, 8, 16, 3, bias=True)])
    y = b.op("MaxPool", [y], kernel_shape=[2, 2], strides=[2, 2])
    y = b.op("Flatten", [y], axis=1)
    y = b.op("Dropout", [b.op("Relu", [b.gemm(y, 16 * 8 * 8, 32)])], ratio=0.5)
    y = b.op("Softmax", [b.gemm(y, 32, 10)], axis=1)
    graph = b.check((2, 3, 32, 32), y, 11)
    assert ops(graph) == ["Conv", "Conv", "MaxPool", "Conv", "MaxPool", "Flatten", "Gemm", "Gemm", "Softmax"]
    assert [[p.kind for p in layer.post_ops] for layer in graph.layers()] == [["add", "relu"]] * 4 + [["add"]]


@pytest.mark.parametrize("pool", ["MaxPool", "AveragePool"])
def test_inception_block_concatenates_parallel_branches(pool: str) -> None:
    b = Block(seed=5)
    branch_1x1 = b.op("Relu", [b.conv("x", 16, 8, 1, bias=True)])
    branch_3x3 = b.op("Relu", [b.conv(b.op("Relu", [b.conv("x", 16, 6, 1)]), 6, 8, 3)])
    branch_5x5 = b.op("Relu", [b.conv(b.op("Relu", [b.conv("x", 16, 4, 1)]), 4, 6, 5)])
    pooled = b.op(pool, ["x"], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1])
    branch_pool = b.op("Relu", [b.conv(pooled, 16, 4, 1)])
    y = b.op("Concat", [branch_1x1, branch_3x3, branch_5x5, branch_pool], axis=1)
    graph = b.check((1, 16, 12, 12), y, 11)
    assert graph.tensors["y"].shape == (1, 26, 12, 12)
    assert ops(graph).count("Conv") == 6 and ops(graph).count("Relu") == 0
