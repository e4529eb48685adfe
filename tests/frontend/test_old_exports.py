"""What older exports use: opset-6 files upgraded on load, LogSoftmax, Selu, Softplus, Softsign,
InstanceNormalization, PRelu's slope rules, and Gemm with a C computed at run time; each against
onnxruntime at two opsets.

Tolerance: helpers.RTOL / helpers.ATOL (float32: rtol 1e-4, atol 1e-5).
"""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper
from onnx.reference import ReferenceEvaluator

from accelmap.errors import UnsupportedOp
from accelmap.frontend import load_model
from accelmap.ir import run_graph

from .helpers import ATOL, RTOL, check, compare, make_model, node, weights


@pytest.mark.parametrize("opset", [7, 11, 13])
@pytest.mark.parametrize("axis", [None, 1, -1, 0])
def test_log_softmax(opset: int, axis: int | None) -> None:
    attrs = {} if axis is None else {"axis": axis}
    graph = check([node("LogSoftmax", ["x"], **attrs)], {"x": (2, 3, 5)}, ["y"], opset=opset)
    rank, default = 3, (1 if opset < 13 else -1)
    first = (default if axis is None else axis) % rank
    expected = tuple(range(first, rank)) if opset < 13 else (first,)
    assert graph.nodes[0].attrs["axes"] == expected


@pytest.mark.parametrize("op, attrs", [("Selu", {}), ("Selu", {"alpha": 1.5, "gamma": 2.0}), ("Softplus", {}),
                                       ("Softsign", {})])
@pytest.mark.parametrize("opset", [7, 13])
def test_older_activations(op: str, attrs: dict, opset: int) -> None:
    feeds = {"x": (np.random.default_rng(1).standard_normal((2, 3, 4)) * 30).astype(np.float32)}  # far tails too
    graph = compare(make_model([node(op, ["x"], **attrs)], {"x": (2, 3, 4)}, ["y"], opset=opset), feeds)
    assert [n.op for n in graph.host_ops()] == [op]


@pytest.mark.parametrize("shape", [(2, 3, 7), (2, 3, 4, 5)])
@pytest.mark.parametrize("opset, attrs", [(7, {}), (13, {"epsilon": 1e-3})])
def test_instance_normalization(shape: tuple[int, ...], opset: int, attrs: dict) -> None:
    check([node("InstanceNormalization", ["x", "s", "b"], **attrs)], {"x": shape}, ["y"],
          {"s": weights((3,), seed=2), "b": weights((3,), seed=3)}, opset=opset)


@pytest.mark.parametrize("slope_shape", [(1,), (4, 1, 1), (5,)])
@pytest.mark.parametrize("opset", [7, 16])
def test_prelu_slopes_that_broadcast(slope_shape: tuple[int, ...], opset: int) -> None:
    check([node("PRelu", ["x", "slope"])], {"x": (2, 4, 3, 5)}, ["y"], {"slope": weights(slope_shape)}, opset=opset)


def test_prelu_slope_that_does_not_broadcast_is_refused_with_the_shape_it_needs() -> None:
    model = make_model([node("PRelu", ["x", "slope"])], {"x": (2, 4, 3, 5)}, ["y"], {"slope": weights((4,))},
                       opset=9)
    with pytest.raises(UnsupportedOp, match=r"'PRelu_y': PRelu slope of shape \(4,\) does not broadcast to the "
                                            r"input \(2, 4, 3, 5\).*needs shape \(C, 1, 1\)"):
        load_model(model)


@pytest.mark.parametrize("beta, trans_b", [(1.0, 0), (0.5, 1), (0.0, 0)])
@pytest.mark.parametrize("opset", [7, 13])
def test_gemm_with_a_computed_c(beta: float, trans_b: int, opset: int) -> None:
    """PyTorch's addmm: the product is mapped, beta * C added on the host."""
    b_shape = (6, 5) if trans_b else (5, 6)
    graph = check([node("Gemm", ["a", "b", "c"], alpha=2.0, beta=beta, transB=trans_b)],
                  {"a": (3, 5), "c": (3, 6)}, ["y"], {"b": weights(b_shape)}, opset=opset)
    (layer,) = graph.layers()
    assert [p.kind for p in layer.post_ops] == ["mul"] and layer.workload.dims["K"] == 6
    expected = [] if beta == 0.0 else (["Add"] if beta == 1.0 else ["Mul", "Add"])
    assert [n.op for n in graph.host_ops()] == expected


def opset_6(nodes: list[onnx.NodeProto], inputs: dict[str, tuple[int, ...]],
            initializers: dict[str, np.ndarray] | None = None) -> onnx.ModelProto:
    """An opset-6, IR-3 model, as early PyTorch exported: initializers listed as inputs, nodes unnamed."""
    model = make_model(nodes, inputs, ["y"], initializers, opset=6)
    for n in model.graph.node:
        n.name = ""
    assert model.ir_version == 3
    return model


def test_opset_6_model_is_upgraded_and_keeps_its_generated_names() -> None:
    nodes = [node("Conv", ["x", "w"], ["c"]), node("BatchNormalization", ["c", "g", "b", "m", "v"], ["n"],
                                                   is_test=1), node("Neg", ["n"])]
    params = {"w": weights((4, 3, 3, 3)), "g": weights((4,), seed=2), "b": weights((4,), seed=3),
              "m": weights((4,), seed=4), "v": np.abs(weights((4,), seed=5)) + 0.5}
    model = opset_6(nodes, {"x": (1, 3, 6, 6)}, params)
    x = np.random.default_rng(8).standard_normal((1, 3, 6, 6)).astype(np.float32)
    graph = load_model(model)
    want = ReferenceEvaluator(model).run(None, {"x": x})[0]  # onnxruntime has no opset-6 BatchNormalization
    np.testing.assert_allclose(run_graph(graph, {"x": x})["y"], want, rtol=RTOL, atol=ATOL)
    assert graph.opset == 7 and [n.name for n in graph.nodes] == ["Conv_0", "Neg_2"]  # BN folded into the Conv


@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 4, 5)])
def test_opset_6_per_channel_prelu_slope(shape: tuple[int, ...]) -> None:
    """Before opset 7 a slope of shape (C,) applied per channel; upgraded, it is reshaped to (C, 1, ...)."""
    slope = weights((3,), seed=6)
    x = np.random.default_rng(7).standard_normal(shape).astype(np.float32)
    model = opset_6([node("PRelu", ["x", "slope"])], {"x": shape}, {"slope": slope})
    graph = load_model(model)
    per_channel = slope.reshape((3,) + (1,) * (len(shape) - 2))
    np.testing.assert_allclose(run_graph(graph, {"x": x})["y"], np.where(x < 0, x * per_channel, x), rtol=1e-6)


def test_opset_5_experimental_op_is_refused_naming_the_node() -> None:
    model = helper.make_model(helper.make_graph(
        [helper.make_node("Crop", ["x"], ["y"], border=[1, 1, 1, 1])], "old",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 1, 4, 4])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)]),
        opset_imports=[helper.make_opsetid("", 5)], ir_version=3)
    with pytest.raises(UnsupportedOp, match=r"opset 5 is older than the oldest supported \(7\), and node 'Crop_0' "
                                            r"\(unnamed in the file: the Crop at position 0, writing 'y'\) is Crop, an "
                                            r"experimental op later removed from ONNX"):
        load_model(model)
