"""ConvTranspose against onnxruntime: stride 1 without output_padding lowers to a mapped conv
layer (flipped, transposed weights; pads dilation*(k-1)-p), everything else is a host op.

float32 tolerance rtol 1e-4, atol 1e-5 (tx_models.RTOL/ATOL).
"""
from __future__ import annotations

import numpy as np
import pytest

from accelmap.ir import make_workload
from tx_models import check, model, node, rand

X2 = rand(2, 4, 5, 6, seed=1)
X1 = rand(2, 4, 9, seed=2)


def conv_transpose(x: np.ndarray, w: np.ndarray, bias: bool = False, opset: int = 17, **attrs: object):
    """One ConvTranspose over x with constant weights (and a bias over the output channels)."""
    constants = {"w": w}
    if bias:
        constants["b"] = rand(w.shape[1] * attrs.get("group", 1), seed=3)
    inputs = ["x", "w", "b"] if bias else ["x", "w"]
    return model([node("ConvTranspose", inputs, **attrs)], {"x": x}, ["y"], opset, constants)


@pytest.mark.parametrize("w_shape, attrs, bias", [
    ((4, 3, 3, 2), {}, False),
    ((4, 3, 3, 2), {"pads": [1, 0, 2, 1]}, True),
    ((4, 2, 3, 3), {"group": 2, "pads": [1, 1, 1, 1]}, True),
    ((4, 3, 2, 3), {"dilations": [2, 1], "pads": [1, 1, 0, 2]}, False),
    ((4, 3, 3, 3), {"auto_pad": "SAME_UPPER"}, False),
    ((4, 3, 2, 2), {"auto_pad": "SAME_LOWER"}, True),
    ((4, 3, 3, 2), {"output_shape": [6, 6]}, False),
    ((4, 3, 3, 2), {"auto_pad": "VALID", "strides": [1, 1]}, False),
])
@pytest.mark.parametrize("opset", [7, 11, 17])
def test_stride1_is_a_mapped_conv(w_shape: tuple[int, ...], attrs: dict, bias: bool, opset: int) -> None:
    graph = check(conv_transpose(X2, rand(*w_shape, seed=4), bias, opset, **attrs), {"x": X2})
    (layer,) = graph.nodes
    assert layer.is_mapped and layer.op == "ConvTranspose" and layer.workload.kind == "conv"
    out = graph.tensors["y"].shape
    group = attrs.get("group", 1)
    assert layer.workload.dims["G"] == group and layer.workload.dims["K"] == w_shape[1]
    assert layer.workload.dims["C"] == 4 // group
    assert (layer.workload.dims["P"], layer.workload.dims["Q"]) == out[2:]
    assert (layer.workload.dims["R"], layer.workload.dims["S"]) == w_shape[2:]
    assert layer.workload.stride == (1, 1) and not layer.workload.weights_from_activations


def test_stride1_workload_is_the_equivalent_convs() -> None:
    """ConvTranspose 3x3, pad 1 on a 5x6 map is the conv K=3, C=4, P=5, Q=6, R=S=3."""
    graph = check(conv_transpose(X2, rand(4, 3, 3, 3, seed=5), pads=[1, 1, 1, 1]), {"x": X2})
    assert graph.nodes[0].workload == make_workload(n=2, k=3, c=4, p=5, q=6, r=3, s=3)


@pytest.mark.parametrize("attrs", [{}, {"pads": [1, 2]}, {"dilations": [3], "pads": [2, 0]}])
def test_stride1_1d_is_a_mapped_conv(attrs: dict) -> None:
    graph = check(conv_transpose(X1, rand(4, 5, 3, seed=6), True, **attrs), {"x": X1})
    assert graph.nodes[0].is_mapped and graph.nodes[0].workload.dims["P"] == 1


@pytest.mark.parametrize("x, w_shape, attrs", [
    (X2, (4, 3, 3, 2), {"strides": [2, 2]}),
    (X2, (4, 3, 3, 3), {"strides": [2, 3], "pads": [1, 0, 1, 2], "output_padding": [1, 2]}),
    (X2, (4, 1, 3, 3), {"strides": [2, 2], "group": 4, "dilations": [1, 2]}),
    (X2, (4, 3, 3, 2), {"strides": [2, 2], "auto_pad": "SAME_UPPER"}),
    (X2, (4, 3, 3, 2), {"strides": [2, 2], "auto_pad": "SAME_LOWER"}),
    (X2, (4, 3, 3, 2), {"strides": [2, 3], "output_shape": [10, 17]}),
    (X2, (4, 3, 3, 2), {"output_padding": [0, 0], "strides": [1, 1], "pads": [3, 0, 0, 0]}),  # pad > k-1: a crop
    (X1, (4, 2, 4), {"strides": [3], "pads": [1, 2]}),
    (rand(1, 4, 3, 4, 2, seed=7), (4, 2, 2, 3, 2), {"strides": [2, 1, 2]}),             # 3-D
])
def test_other_cases_are_host_ops(x: np.ndarray, w_shape: tuple[int, ...], attrs: dict) -> None:
    graph = check(conv_transpose(x, rand(*w_shape, seed=8), True, **attrs), {"x": x})
    assert [n.op for n in graph.nodes] == ["ConvTranspose"] and not graph.nodes[0].is_mapped


@pytest.mark.parametrize("computed", ["w", "b"])
def test_computed_weights_or_bias_make_a_host_op(computed: str) -> None:
    operands = {"w": rand(4, 3, 2, 2, seed=9), "b": rand(3, seed=10)}
    feeds = {"x": X2, computed: operands[computed]}
    constants = {name: v for name, v in operands.items() if name != computed}
    graph = check(model([node("ConvTranspose", ["x", "w", "b"])], feeds, ["y"], 17, constants), feeds)
    assert not graph.nodes[0].is_mapped
