"""Old-IR conventions: initializers listed as graph inputs, weights built by ConstantOfShape, unnamed
nodes, and exporters' stale symbolic shapes; each small model against onnxruntime.

Tolerance: tests/frontend/helpers.py (float32: rtol 1e-4, atol 1e-5).
"""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from accelmap.errors import ShapeError, UnsupportedOp
from accelmap.frontend import load_model
from accelmap.ir import run_graph

from frontend.helpers import compare, make_model, node, run_onnxruntime, weights


def ir3_model(nodes: list[onnx.NodeProto], inputs: dict[str, tuple[int, ...]], output: str,
              initializers: dict[str, np.ndarray]) -> onnx.ModelProto:
    """An IR-3, opset-9 model (as the ONNX Model Zoo files are): every initializer is also a graph input."""
    model = make_model(nodes, inputs, [output], initializers, opset=9)
    model.ir_version = 3
    model.graph.input.extend(helper.make_tensor_value_info(t.name, t.data_type, t.dims)
                             for t in model.graph.initializer)
    return model


def conv_relu() -> onnx.ModelProto:
    """x [1, 3, 8, 8] -> Conv 3x3 -> Add bias -> Relu; weights and bias are initializers listed as inputs."""
    nodes = [node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]), node("Add", ["c", "b"], ["a"]), node("Relu", ["a"])]
    return ir3_model(nodes, {"x": (1, 3, 8, 8)}, "y",
                     {"w": weights((4, 3, 3, 3)), "b": weights((1, 4, 1, 1), seed=2)})


def test_initializers_listed_as_inputs_are_constants() -> None:
    graph = compare(conv_relu())
    (conv,) = graph.nodes
    assert graph.inputs == ["x"]
    assert not conv.workload.weights_from_activations and [str(p) for p in conv.post_ops] == ["add(b)", "relu"]


def test_initializers_as_inputs_flag_makes_them_inputs_to_feed() -> None:
    model = conv_relu()
    graph = load_model(model, initializers_as_inputs=True)
    assert graph.inputs == ["x", "w", "b"]
    assert [n.op for n in graph.nodes] == ["Conv", "Add", "Relu"]  # the bias is no constant now: no post-ops
    assert graph.nodes[0].workload.weights_from_activations
    rng = np.random.default_rng(3)
    feeds = {"x": rng.standard_normal((1, 3, 8, 8)).astype(np.float32),
             "w": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
             "b": rng.standard_normal((1, 4, 1, 1)).astype(np.float32)}
    as_inputs = onnx.ModelProto.FromString(model.SerializeToString())
    del as_inputs.graph.initializer[:]  # what the flag means: the stored values are only defaults
    np.testing.assert_allclose(run_graph(graph, feeds)["y"], run_onnxruntime(as_inputs, feeds)["y"], rtol=1e-4,
                               atol=1e-5)
    stored = run_onnxruntime(model, {"x": feeds["x"]})["y"]
    assert not np.allclose(run_graph(graph, feeds)["y"], stored)


def constant_of_shape(name: str, shape_input: str, fill: float) -> onnx.NodeProto:
    """An unnamed ConstantOfShape filling `fill`, as the ONNX test data builds its weights."""
    return helper.make_node("ConstantOfShape", [shape_input], [name],
                            value=helper.make_tensor("value", TensorProto.FLOAT, [1], [fill]))


@pytest.mark.parametrize("channels", [4, 64])  # 64 * 8 * 3 * 3 = 4608 elements: declared by type, not by value
def test_weights_built_by_constant_of_shape_from_shape_initializers(channels: int) -> None:
    nodes = [constant_of_shape("w", "w_shape", 0.02), constant_of_shape("b", "b_shape", 0.5),
             node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]), node("Relu", ["c"])]
    shapes = {"w_shape": np.array([channels, 8, 3, 3], np.int64), "b_shape": np.array([channels], np.int64)}
    graph = compare(ir3_model(nodes, {"x": (1, 8, 6, 6)}, "y", shapes))
    (conv,) = graph.nodes
    assert conv.is_mapped and conv.workload.dims["K"] == channels
    assert np.all(graph.constants[conv.inputs[1]] == np.float32(0.02))


def test_reshape_target_from_an_initializer_listed_as_input() -> None:
    nodes = [node("Reshape", ["x", "shape"], ["r"]), node("Gemm", ["r", "w", "c"], transB=1)]
    model = ir3_model(nodes, {"x": (1, 4, 2, 2)}, "y", {"shape": np.array([1, -1], np.int64),
                                                       "w": weights((5, 16)), "c": weights((5,), seed=3)})
    graph = compare(model)
    assert graph.host_ops()[0].attrs["shape"] == (1, 16) and graph.layers()[0].workload.dims["K"] == 5


def test_unnamed_nodes_are_named_from_op_and_position_in_the_file() -> None:
    nodes = [constant_of_shape("w", "w_shape", 0.1), node("Conv", ["x", "w"], ["c"]), node("Relu", ["c"], ["r"]),
             node("Neg", ["r"])]
    for n in nodes:
        n.name = ""
    model = ir3_model(nodes, {"x": (1, 2, 5, 5)}, "y", {"w_shape": np.array([3, 2, 1, 1], np.int64)})
    graph = compare(model)
    # ConstantOfShape_0 is folded away; the rest keep the position they have in the file
    assert [n.name for n in graph.nodes] == ["Conv_1", "Neg_3"]
    assert [str(p) for p in graph.nodes[0].post_ops] == ["relu"]


def test_a_generated_name_never_takes_a_real_one() -> None:
    nodes = [node("Relu", ["x"], ["a"]), node("Relu", ["a"], ["b"]), node("Neg", ["b"], ["c"])]
    nodes[0].name, nodes[1].name, nodes[2].name = "Relu_1", "", "Relu_1_1"
    graph = compare(make_model(nodes, {"x": (2, 3)}, ["c"], opset=13))
    assert [n.name for n in graph.nodes] == ["Relu_1", "Relu_1_2", "Relu_1_1"]


def test_error_about_an_unnamed_node_says_where_to_find_it() -> None:
    nodes = [node("Relu", ["x"], ["r"]), node("Det", ["r"], ["d"])]
    nodes[1].name = ""
    with pytest.raises(UnsupportedOp, match=r"node 'Det_1' \(unnamed in the file: the Det at position 1, writing "
                                            r"'d'\): unsupported op 'Det'"):
        load_model(make_model(nodes, {"x": (3, 3)}, ["d"], opset=13))


def test_error_about_a_named_node_uses_its_name_only() -> None:
    model = make_model([node("Reshape", ["x", "shape"])], {"x": (2, 3), "shape": (2,)}, ["y"], opset=13,
                       types={"shape": TensorProto.INT64})
    with pytest.raises(UnsupportedOp, match=r"node 'Reshape_y': Reshape needs") as err:
        load_model(model)
    assert "unnamed" not in str(err.value)


def symbolic_exported_model() -> onnx.ModelProto:
    """x [1, seq, 4] -> Shape -> ConstantOfShape(-1e9) -> Trilu -> Add, with the exporter's symbolic
    value_info ([seq, seq]) on every intermediate, as torch.onnx writes it."""
    seq = helper.make_tensor_value_info
    nodes = [helper.make_node("Shape", ["x"], ["s"], start=1, end=2, name="shape"),
             helper.make_node("Concat", ["s", "s"], ["ss"], axis=0, name="square"),
             helper.make_node("ConstantOfShape", ["ss"], ["fill"], name="fill",
                              value=helper.make_tensor("v", TensorProto.FLOAT, [1], [-1e9])),
             helper.make_node("Trilu", ["fill", "one"], ["mask"], name="causal"),
             helper.make_node("MatMul", ["x", "xt"], ["scores"], name="scores"),
             helper.make_node("Add", ["scores", "mask"], ["y"], name="masked")]
    graph = helper.make_graph(
        nodes, "exported", [seq("x", TensorProto.FLOAT, [1, "seq", 4]), seq("xt", TensorProto.FLOAT, [1, 4, "seq"])],
        [seq("y", TensorProto.FLOAT, [1, "seq", "seq"])], [numpy_helper.from_array(np.array(1, np.int64), "one")],
        value_info=[seq("fill", TensorProto.FLOAT, ["seq", "seq"]), seq("mask", TensorProto.FLOAT, ["seq", "seq"]),
                    seq("scores", TensorProto.FLOAT, [1, "seq", "seq"])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)], ir_version=8)


def test_stale_symbolic_shapes_give_way_to_the_input_shapes() -> None:
    graph = compare(symbolic_exported_model(), input_shapes={"x": (1, 5, 4), "xt": (1, 4, 5)})
    (scores,) = graph.nodes  # the mask is folded, and added to the scores as a post-op
    assert scores.op == "MatMul" and [p.kind for p in scores.post_ops] == ["add"]
    assert graph.tensors["y"].shape == (1, 5, 5)


def test_symbolic_input_without_a_shape_names_the_option() -> None:
    with pytest.raises(ShapeError, match=r"input 'x' \[1xseqx4\] has a dynamic shape; give it with --input-shape x=1xN1x4"):
        load_model(symbolic_exported_model(), {"xt": (1, 4, 5)})
