"""Every CNN converter, one small model each, against onnxruntime (opset variants included).

Tolerance: helpers.RTOL / helpers.ATOL (float32: rtol 1e-4, atol 1e-5).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from onnx import TensorProto

from accelmap.frontend import load_model
from accelmap.ir import run_graph

from .helpers import ATOL, RTOL, check, compare, make_model, node, weights

F32_MAX = float(np.finfo(np.float32).max)


# --- activations -----------------------------------------------------------

ACTIVATIONS = [
    ("Relu", {}, 7), ("Relu", {}, 14),
    ("LeakyRelu", {}, 7), ("LeakyRelu", {"alpha": 0.3}, 16),
    ("Sigmoid", {}, 7), ("Sigmoid", {}, 13),
    ("HardSigmoid", {}, 7), ("HardSigmoid", {"alpha": 0.3, "beta": 0.4}, 13),
    ("HardSwish", {}, 14),
    ("Tanh", {}, 7), ("Tanh", {}, 13),
    ("Clip", {"min": -0.5, "max": 0.7}, 7), ("Clip", {"min": -0.2}, 10), ("Clip", {}, 10),
]


@pytest.mark.parametrize("op, attrs, opset", ACTIVATIONS)
def test_activation_alone_is_a_host_op(op: str, attrs: dict, opset: int) -> None:
    graph = check([node(op, ["x"], **attrs)], {"x": (2, 3, 4, 5)}, ["y"], opset=opset)
    (host,) = graph.nodes
    assert host.op == op and not host.is_mapped


@pytest.mark.parametrize("op, attrs, opset", ACTIVATIONS)
def test_activation_after_conv_becomes_a_post_op(op: str, attrs: dict, opset: int) -> None:
    graph = check([node("Conv", ["x", "w"], ["c"]), node(op, ["c"], **attrs)], {"x": (1, 3, 6, 5)}, ["y"],
                  {"w": weights((4, 3, 3, 3), scale=0.5)}, opset=opset)
    (layer,) = graph.nodes
    assert layer.is_mapped and len(layer.post_ops) == 1


@pytest.mark.parametrize("opset", [11, 13])
@pytest.mark.parametrize("bounds, expected", [
    ({"lo": -0.5, "hi": 0.7}, (-0.5, 0.7)),
    ({"lo": -0.5}, (-0.5, F32_MAX)),
    ({"hi": 0.25}, (-F32_MAX, 0.25)),
    ({}, (-F32_MAX, F32_MAX)),
])
def test_clip_bounds_as_inputs(opset: int, bounds: dict, expected: tuple[float, float]) -> None:
    inputs = ["x", "lo" if "lo" in bounds else "", "hi" if "hi" in bounds else ""]
    while inputs[-1] == "":
        inputs.pop()
    initializers = {name: np.array(value, np.float32) for name, value in bounds.items()}
    graph = check([node("Clip", inputs)], {"x": (2, 3, 7)}, ["y"], initializers, opset=opset)
    (clip,) = graph.nodes
    assert clip.inputs == ("x",)
    assert (clip.attrs["min"], clip.attrs["max"]) == pytest.approx(expected)


def test_clip_attributes_at_opset_10_fill_the_float_range() -> None:
    graph = check([node("Clip", ["x"], max=0.5)], {"x": (3, 4)}, ["y"], opset=10)
    assert graph.nodes[0].attrs == {"min": -F32_MAX, "max": 0.5}


@pytest.mark.parametrize("opset", [10, 13])
def test_clip_without_max_clamps_infinity_to_the_float_range(opset: int) -> None:
    """The spec's default bounds are float32 lowest/max (not +-inf), and onnxruntime clamps inf to them."""
    clip = node("Clip", ["x"], min=0.0) if opset < 11 else node("Clip", ["x", "lo"])
    model = make_model([clip], {"x": (1, 3)}, ["y"], {} if opset < 11 else {"lo": np.array(0, np.float32)},
                       opset=opset)
    graph = compare(model, feeds={"x": np.array([[np.inf, -np.inf, 1.0]], np.float32)})
    assert graph.nodes[0].attrs == {"min": 0.0, "max": F32_MAX}


def test_relu6_after_depthwise_conv_fuses_as_clip() -> None:
    graph = check([node("Conv", ["x", "w"], ["c"], group=3, pads=[1, 1, 1, 1]), node("Clip", ["c", "lo", "hi"])],
                  {"x": (1, 3, 5, 5)}, ["y"],
                  {"w": weights((3, 1, 3, 3), scale=3.0), "lo": np.array(0, np.float32), "hi": np.array(6, np.float32)})
    assert [str(p) for p in graph.nodes[0].post_ops] == ["clip(0, 6)"]


# --- element-wise arithmetic -----------------------------------------------

@pytest.mark.parametrize("op", ["Add", "Mul"])
@pytest.mark.parametrize("opset", [7, 14])
def test_binary_op_broadcasts_two_activations(op: str, opset: int) -> None:
    graph = check([node(op, ["a", "b"])], {"a": (2, 3, 4, 5), "b": (3, 1, 5)}, ["y"], opset=opset)
    assert [n.op for n in graph.nodes] == [op]


@pytest.mark.parametrize("op", ["Add", "Mul"])
def test_binary_op_with_a_constant_first_operand(op: str) -> None:
    check([node(op, ["k", "a"])], {"a": (2, 3, 4)}, ["y"], {"k": weights((3, 1))})


@pytest.mark.parametrize("op, kind", [("Add", "add"), ("Mul", "mul")])
def test_constant_add_or_mul_after_conv_becomes_a_post_op(op: str, kind: str) -> None:
    graph = check([node("Conv", ["x", "w"], ["c"]), node(op, ["c", "k"])], {"x": (1, 3, 5, 5)}, ["y"],
                  {"w": weights((4, 3, 1, 1)), "k": weights((1, 4, 1, 1), seed=2)})
    (layer,) = graph.nodes
    assert [p.kind for p in layer.post_ops] == [kind]


@pytest.mark.parametrize("op, kind", [("Sub", "add"), ("Div", "mul")])
@pytest.mark.parametrize("opset", [7, 14])
def test_constant_sub_or_div_after_a_matmul_becomes_a_post_op(op: str, kind: str, opset: int) -> None:
    """x - c is x + (-c) and x / c is x * (1/c): attention's scale after the scores matmul."""
    graph = check([node("MatMul", ["a", "b"], ["s"]), node(op, ["s", "k"])], {"a": (2, 3, 4), "b": (2, 4, 5)},
                  ["y"], {"k": weights((1, 5), seed=3) + np.float32(3)}, opset=opset)
    (layer,) = graph.nodes
    assert [p.kind for p in layer.post_ops] == [kind]


def test_constant_minus_a_layer_stays_a_host_op() -> None:
    graph = check([node("Conv", ["x", "w"], ["c"]), node("Sub", ["k", "c"])], {"x": (1, 3, 5, 5)}, ["y"],
                  {"w": weights((4, 3, 1, 1)), "k": weights((1, 4, 1, 1), seed=2)})
    assert [n.op for n in graph.nodes] == ["Conv", "Sub"]


def test_sum_at_opset_7_of_equal_shapes() -> None:
    check([node("Sum", ["a", "b", "c"])], {"a": (2, 3), "b": (2, 3), "c": (2, 3)}, ["y"], opset=7)


@pytest.mark.parametrize("inputs", [["a"], ["a", "b"], ["a", "b", "c"]])
def test_sum_is_variadic_and_broadcasts(inputs: list[str]) -> None:
    shapes = {"a": (2, 1, 3), "b": (4, 1), "c": (3,)}
    check([node("Sum", inputs)], {name: shapes[name] for name in inputs}, ["y"], opset=13)


# --- pooling ---------------------------------------------------------------

POOLS_2D = [
    # (op, opset, attrs) on a 1x2x7x8 and a 1x2x9x6 input
    ("MaxPool", 7, {"kernel_shape": [3, 2], "strides": [2, 1], "pads": [1, 0, 0, 1]}),
    ("MaxPool", 8, {"kernel_shape": [2, 2], "storage_order": 1}),
    ("MaxPool", 12, {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "ceil_mode": 1}),
    ("MaxPool", 12, {"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1}),
    ("MaxPool", 12, {"kernel_shape": [3, 3], "pads": [2, 2, 2, 2], "dilations": [2, 2]}),
    ("MaxPool", 12, {"kernel_shape": [3, 2], "strides": [2, 1], "pads": [1, 0, 2, 1], "dilations": [2, 3],
                     "ceil_mode": 1}),
    ("MaxPool", 12, {"kernel_shape": [3, 4], "strides": [2, 3], "auto_pad": "SAME_UPPER"}),
    ("MaxPool", 12, {"kernel_shape": [4, 3], "strides": [2, 3], "auto_pad": "SAME_LOWER"}),
    ("MaxPool", 12, {"kernel_shape": [3, 2], "strides": [2, 2], "auto_pad": "VALID"}),
    ("AveragePool", 7, {"kernel_shape": [3, 2], "strides": [2, 1], "pads": [1, 0, 0, 1]}),
    ("AveragePool", 7, {"kernel_shape": [3, 2], "strides": [2, 1], "pads": [1, 0, 0, 1], "count_include_pad": 1}),
    ("AveragePool", 11, {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "ceil_mode": 1}),
    ("AveragePool", 11, {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "ceil_mode": 1,
                         "count_include_pad": 1}),
    ("AveragePool", 11, {"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1, "count_include_pad": 1}),
    ("AveragePool", 11, {"kernel_shape": [3, 4], "strides": [2, 3], "auto_pad": "SAME_UPPER"}),
    ("AveragePool", 11, {"kernel_shape": [4, 3], "strides": [2, 3], "auto_pad": "SAME_LOWER",
                         "count_include_pad": 1}),
    ("AveragePool", 11, {"kernel_shape": [3, 2], "strides": [2, 2], "auto_pad": "VALID"}),
    ("AveragePool", 19, {"kernel_shape": [3, 3], "pads": [2, 2, 2, 2], "dilations": [2, 2]}),
    ("AveragePool", 19, {"kernel_shape": [3, 2], "strides": [2, 1], "pads": [1, 0, 2, 1], "dilations": [2, 3],
                         "ceil_mode": 1, "count_include_pad": 1}),
    ("AveragePool", 19, {"kernel_shape": [3, 2], "strides": [2, 1], "pads": [1, 0, 2, 1], "dilations": [2, 3],
                         "ceil_mode": 1}),
]


@pytest.mark.parametrize("shape", [(1, 2, 7, 8), (2, 3, 9, 6)])
@pytest.mark.parametrize("op, opset, attrs", POOLS_2D)
def test_pool_2d(op: str, opset: int, attrs: dict, shape: tuple[int, ...]) -> None:
    graph = check([node(op, ["x"], **attrs)], {"x": shape}, ["y"], opset=opset)
    (pool,) = graph.nodes
    assert set(pool.attrs) >= {"kernel_shape", "strides", "pads", "dilations", "ceil_mode"}
    assert len(pool.attrs["pads"]) == 4 and "auto_pad" not in pool.attrs


POOLS_1D = [
    ("MaxPool", 12, {"kernel_shape": [3], "strides": [2], "pads": [1, 0]}),
    ("MaxPool", 12, {"kernel_shape": [2], "strides": [2], "pads": [1, 1], "ceil_mode": 1, "dilations": [2]}),
    ("MaxPool", 12, {"kernel_shape": [3], "strides": [2], "auto_pad": "SAME_LOWER"}),
    ("AveragePool", 11, {"kernel_shape": [3], "strides": [2], "pads": [2, 1], "count_include_pad": 1}),
    ("AveragePool", 19, {"kernel_shape": [2], "strides": [3], "pads": [0, 1], "ceil_mode": 1, "dilations": [2]}),
]


@pytest.mark.parametrize("op, opset, attrs", POOLS_1D)
def test_pool_1d(op: str, opset: int, attrs: dict) -> None:
    check([node(op, ["x"], **attrs)], {"x": (2, 3, 11)}, ["y"], opset=opset)


@pytest.mark.parametrize("shape", [(2, 3, 5, 7), (2, 3, 9)])
def test_global_average_pool(shape: tuple[int, ...]) -> None:
    check([node("GlobalAveragePool", ["x"])], {"x": shape}, ["y"], opset=13)


# --- shapes and identities -------------------------------------------------

@pytest.mark.parametrize("axis, opset", [(0, 9), (1, 7), (2, 11), (4, 11), (-1, 13), (-4, 13)])
def test_flatten(axis: int, opset: int) -> None:
    graph = check([node("Flatten", ["x"], axis=axis)], {"x": (2, 3, 4, 5)}, ["y"], opset=opset)
    assert 0 <= graph.nodes[0].attrs["axis"] <= 4


def test_flatten_default_axis() -> None:
    check([node("Flatten", ["x"])], {"x": (2, 3, 4, 5)}, ["y"], opset=13)


@pytest.mark.parametrize("opset", [7, 13, 14])
@pytest.mark.parametrize("target, resolved", [
    ([0, -1], (2, 60)),
    ([-1, 5, 0, 1], (6, 5, 4, 1)),
    ([6, 20], (6, 20)),
    ([0, 0, 0, 0], (2, 3, 4, 5)),
])
def test_reshape_copies_zero_dims_and_infers_minus_one(opset: int, target: list[int],
                                                       resolved: tuple[int, ...]) -> None:
    graph = check([node("Reshape", ["x", "shape"])], {"x": (2, 3, 4, 5)}, ["y"],
                  {"shape": np.array(target, np.int64)}, opset=opset)
    (reshape,) = graph.nodes
    assert reshape.inputs == ("x",) and reshape.attrs == {"shape": resolved}


def test_reshape_allowzero_keeps_a_literal_zero() -> None:
    model = make_model([node("Reshape", ["x", "shape"], allowzero=1)], {"x": (2, 0, 3)}, ["y"],
                       {"shape": np.array([0, 3, 5], np.int64)}, opset=14)
    graph = compare(model, feeds={"x": np.zeros((2, 0, 3), np.float32)})
    assert graph.nodes[0].attrs == {"shape": (0, 3, 5)}


def test_reshape_allowzero_without_zeros_is_plain_reshape() -> None:
    check([node("Reshape", ["x", "shape"], allowzero=1)], {"x": (2, 3, 4)}, ["y"],
          {"shape": np.array([4, -1], np.int64)}, opset=14)


@pytest.mark.parametrize("axis, opset", [(1, 7), (1, 13), (-2, 13)])
def test_concat_with_a_constant_input(axis: int, opset: int) -> None:
    graph = check([node("Concat", ["a", "k", "b"], axis=axis)], {"a": (2, 3, 4), "b": (2, 1, 4)}, ["y"],
                  {"k": weights((2, 2, 4))}, opset=opset)
    assert graph.nodes[0].attrs == {"axis": 1}


def test_concat_last_axis() -> None:
    check([node("Concat", ["a", "b"], axis=-1)], {"a": (2, 3, 4), "b": (2, 3, 1)}, ["y"], opset=13)


def test_identity_emits_nothing_between_ops() -> None:
    graph = check([node("Relu", ["x"], ["r"]), node("Identity", ["r"], ["i"]), node("Tanh", ["i"])],
                  {"x": (2, 3)}, ["y"])
    assert [n.op for n in graph.nodes] == ["Relu", "Tanh"]


def test_identity_from_input_to_output_keeps_the_output_name() -> None:
    graph = check([node("Identity", ["x"])], {"x": (2, 3)}, ["y"])
    assert graph.outputs == ["y"]


@pytest.mark.parametrize("opset, mask_type", [(7, TensorProto.FLOAT), (10, TensorProto.BOOL)])
def test_dropout_with_ratio_attribute(opset: int, mask_type: int) -> None:
    graph = check([node("Relu", ["x"], ["r"]), node("Dropout", ["r"], ["d", "mask"], ratio=0.3),
                   node("Relu", ["d"])], {"x": (2, 3)}, ["y", "mask"], opset=opset, types={"mask": mask_type})
    assert "Dropout" not in [n.op for n in graph.nodes]


@pytest.mark.parametrize("opset", [12, 13])
def test_dropout_with_ratio_and_training_mode_inputs(opset: int) -> None:
    graph = check([node("Relu", ["x"], ["r"]), node("Dropout", ["r", "ratio", "training"], ["d", "mask"]),
                   node("Relu", ["d"])], {"x": (2, 3)}, ["y", "mask"],
                  {"ratio": np.array(0.2, np.float32), "training": np.array(False)}, opset=opset,
                  types={"mask": TensorProto.BOOL})
    assert [n.op for n in graph.nodes] == ["Relu", "Relu", "Identity"]  # Identity keeps the mask's name


def test_dropout_without_optional_inputs() -> None:
    graph = check([node("Relu", ["x"], ["r"]), node("Dropout", ["r"], ["d"]), node("Relu", ["d"])],
                  {"x": (2, 3)}, ["y"], opset=13)
    assert [n.op for n in graph.nodes] == ["Relu", "Relu"]


# --- softmax and normalisation ---------------------------------------------

@pytest.mark.parametrize("attrs, axes", [({}, (1, 2, 3)), ({"axis": 1}, (1, 2, 3)), ({"axis": 2}, (2, 3)),
                                         ({"axis": -1}, (3,)), ({"axis": 0}, (0, 1, 2, 3))])
def test_softmax_before_13_normalises_the_flattened_tail(attrs: dict, axes: tuple[int, ...]) -> None:
    graph = check([node("Softmax", ["x"], **attrs)], {"x": (2, 3, 4, 5)}, ["y"], opset=11)
    assert graph.nodes[0].attrs == {"axes": axes}


@pytest.mark.parametrize("attrs, axes", [({}, (3,)), ({"axis": 1}, (1,)), ({"axis": -3}, (1,)), ({"axis": 0}, (0,))])
def test_softmax_from_13_normalises_one_axis(attrs: dict, axes: tuple[int, ...]) -> None:
    graph = check([node("Softmax", ["x"], **attrs)], {"x": (2, 3, 4, 5)}, ["y"], opset=13)
    assert graph.nodes[0].attrs == {"axes": axes}


@pytest.mark.parametrize("attrs", [{"size": 3}, {"size": 5, "alpha": 0.01, "beta": 0.6, "bias": 2.0},
                                   {"size": 1}])
@pytest.mark.parametrize("opset", [9, 13])  # the Model Zoo graphs' opset, and LRN's last version
def test_lrn(attrs: dict, opset: int) -> None:
    check([node("LRN", ["x"], **attrs)], {"x": (2, 7, 4, 5)}, ["y"], opset=opset)


def test_lrn_even_size_follows_the_spec_formula() -> None:
    """onnxruntime only implements odd sizes (and the ONNX reference evaluator loops over the batch
    instead of the channels), so the even window is checked against the spec's formula written out."""
    size, alpha, beta, bias = 4, 0.02, 0.7, 1.5
    model = make_model([node("LRN", ["x"], size=size, alpha=alpha, beta=beta, bias=bias)], {"x": (2, 7, 3)},
                       ["y"], opset=13)
    x = weights((2, 7, 3), seed=5)
    want = np.empty_like(x)
    for c in range(7):
        low, high = max(0, c - math.floor((size - 1) / 2)), min(6, c + math.ceil((size - 1) / 2))
        square_sum = (x[:, low:high + 1] ** 2).sum(axis=1)
        want[:, c] = x[:, c] / (bias + alpha / size * square_sum) ** beta
    np.testing.assert_allclose(run_graph(load_model(model), {"x": x})["y"], want, rtol=RTOL, atol=ATOL)


BN_PARAMS = {"scale": weights((3,), seed=2), "bias": weights((3,), seed=3), "mean": weights((3,), seed=4),
             "var": np.abs(weights((3,), seed=5)) + 0.5}


@pytest.mark.parametrize("opset, attrs", [(7, {"spatial": 1}), (9, {}), (15, {"epsilon": 1e-3})])
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (2, 3, 7)])
def test_batch_normalization_on_an_input_stays_a_host_op(opset: int, attrs: dict, shape: tuple[int, ...]) -> None:
    graph = check([node("BatchNormalization", ["x", "scale", "bias", "mean", "var"], **attrs)], {"x": shape},
                  ["y"], BN_PARAMS, opset=opset)
    assert [n.op for n in graph.nodes] == ["BatchNormalization"]


# --- mapped layers: Conv, Gemm, MatMul ---------------------------------------

CONVS = [
    # (input shape, weight shape, attrs)
    ((1, 3, 9, 8), (4, 3, 3, 2), {"strides": [2, 1], "pads": [1, 0, 2, 1]}),
    ((2, 4, 7, 11), (6, 2, 2, 3), {"strides": [1, 3], "dilations": [2, 1], "group": 2, "pads": [0, 2, 1, 0]}),
    ((1, 3, 9, 8), (4, 3, 4, 3), {"strides": [2, 2], "auto_pad": "SAME_UPPER"}),
    ((1, 3, 9, 8), (4, 3, 4, 3), {"strides": [2, 2], "auto_pad": "SAME_LOWER"}),
    ((1, 3, 8, 8), (4, 3, 2, 2), {"auto_pad": "SAME_UPPER"}),
    ((1, 3, 9, 8), (4, 3, 4, 3), {"strides": [2, 3], "auto_pad": "VALID"}),
    ((1, 6, 7, 7), (6, 1, 3, 3), {"group": 6, "pads": [1, 1, 1, 1]}),
    ((1, 6, 7, 7), (12, 1, 3, 3), {"group": 6, "pads": [1, 1, 1, 1], "strides": [2, 2]}),
    ((1, 3, 5, 5), (2, 3, 5, 5), {}),
    ((2, 3, 13), (4, 3, 3), {"strides": [2], "pads": [2, 1], "dilations": [2]}),
    ((1, 4, 10), (4, 2, 4), {"group": 2, "auto_pad": "SAME_LOWER"}),
    ((1, 4, 10), (8, 1, 3), {"group": 4, "auto_pad": "VALID", "strides": [3]}),
]


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("x_shape, w_shape, attrs", CONVS)
def test_conv(x_shape: tuple[int, ...], w_shape: tuple[int, ...], attrs: dict, bias: bool) -> None:
    inputs, initializers = ["x", "w"], {"w": weights(w_shape, scale=0.5)}
    if bias:
        inputs.append("b")
        initializers["b"] = weights(w_shape[:1], seed=7)
    graph = check([node("Conv", inputs, **attrs)], {"x": x_shape}, ["y"], initializers)
    (layer,) = graph.nodes
    assert layer.is_mapped and len(layer.post_ops) == int(bias)


def test_conv_with_computed_weights() -> None:
    check([node("Conv", ["x", "w"], pads=[1, 1, 1, 1])], {"x": (1, 3, 5, 6), "w": (2, 3, 3, 3)}, ["y"])


GEMMS = [
    # (A shape, B shape, C shape or None, attrs)
    ((3, 4), (4, 5), None, {}),
    ((4, 3), (4, 5), (5,), {"transA": 1}),
    ((3, 4), (5, 4), (1, 5), {"transB": 1, "alpha": 0.5}),
    ((4, 3), (5, 4), (3, 1), {"transA": 1, "transB": 1, "beta": 2.0}),
    ((3, 4), (4, 5), (3, 5), {"alpha": 1.5, "beta": 0.25}),
    ((3, 4), (4, 5), (), {"beta": -1.0}),
    ((3, 4), (4, 5), (5,), {"beta": 0.0}),
]


@pytest.mark.parametrize("a_shape, b_shape, c_shape, attrs, opset",
                         [case + (opset,) for case in GEMMS for opset in (7, 13)
                          if case[2] is not None or opset >= 11])  # C is optional from opset 11
def test_gemm(a_shape: tuple[int, ...], b_shape: tuple[int, ...], c_shape: tuple[int, ...] | None, attrs: dict,
              opset: int) -> None:
    inputs, initializers = ["a", "b"], {"b": weights(b_shape)}
    if c_shape is not None:
        inputs.append("c")
        initializers["c"] = weights(c_shape, seed=3)
    check([node("Gemm", inputs, **attrs)], {"a": a_shape}, ["y"], initializers, opset=opset)


def test_gemm_with_both_operands_computed() -> None:
    graph = check([node("Gemm", ["a", "b"], transB=1)], {"a": (3, 4), "b": (5, 4)}, ["y"])
    assert graph.nodes[0].workload.weights_from_activations


MATMULS = [
    # (A shape, B shape, B is a constant)
    ((2, 3, 4, 5), (5, 6), True),
    ((4, 5), (2, 3, 5, 6), True),
    ((3, 1, 4, 5), (2, 5, 6), True),
    ((5,), (2, 5, 6), True),
    ((2, 3, 5), (5,), True),
    ((5,), (5,), True),
    ((5,), (5, 3), True),
    ((2, 4, 8), (2, 8, 3), False),
    ((2, 1, 4, 8), (3, 8, 5), False),
    ((4, 8), (8, 3), False),
]


@pytest.mark.parametrize("a_shape, b_shape, b_constant", MATMULS)
def test_matmul(a_shape: tuple[int, ...], b_shape: tuple[int, ...], b_constant: bool) -> None:
    inputs = {"a": a_shape} if b_constant else {"a": a_shape, "b": b_shape}
    graph = check([node("MatMul", ["a", "b"])], inputs, ["y"], {"b": weights(b_shape)} if b_constant else {})
    (layer,) = graph.nodes
    assert layer.is_mapped and layer.workload.weights_from_activations == (not b_constant)
