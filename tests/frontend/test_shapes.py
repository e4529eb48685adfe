"""Shape inference without the weights (`frontend.shapes.inferred`) against ONNX's on the whole model."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper, shape_inference

from accelmap import zoo
from accelmap.frontend.shapes import SHAPE_LIKE_ELEMENTS, inferred, static_shapes


def _values(model: onnx.ModelProto, stored: set[str]) -> dict[str, tuple[int, ...]]:
    """Static shapes of the values the model declares or computes, less its weights (`stored`), which
    `inferred` turns into inputs."""
    return {name: shape for name, shape in static_shapes(model).items() if name not in stored}


@pytest.mark.parametrize("name", ["resnet18_w8", "mobilenetv2_w4", "vgg16_w8", "bert_tiny"])
def test_the_same_shapes_as_inference_on_the_whole_model(name):
    model = zoo.build(name)
    assert any(np.prod(t.dims) > SHAPE_LIKE_ELEMENTS for t in model.graph.initializer)   # weights left out
    stored = {t.name for t in model.graph.initializer}
    full = _values(shape_inference.infer_shapes(model, data_prop=True), stored)
    light = _values(inferred(model), stored)
    assert light == full
    assert len(light) > len(model.graph.node) // 2


def test_a_large_weight_still_gives_its_shape_to_the_values_computed_from_it():
    # Shape(W) -> Slice -> Reshape target: data propagation from a weight's shape, not its values.
    big = np.zeros((SHAPE_LIKE_ELEMENTS + 1, 2), np.float32)
    nodes = [helper.make_node("Shape", ["W"], ["s"]),
             helper.make_node("Slice", ["s", "start", "end"], ["rows"]),
             helper.make_node("Concat", ["rows", "minus1"], ["target"], axis=0),
             helper.make_node("Reshape", ["x", "target"], ["y"])]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [big.shape[0] * 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(big, "W"), numpy_helper.from_array(np.array([0], np.int64), "start"),
         numpy_helper.from_array(np.array([1], np.int64), "end"),
         numpy_helper.from_array(np.array([-1], np.int64), "minus1")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    shapes = static_shapes(inferred(model))
    assert shapes["y"] == (big.shape[0], 2)
    assert shapes["W"] == big.shape                      # declared as an input of its type and shape
    light = inferred(model)
    assert all(np.prod(t.dims) <= SHAPE_LIKE_ELEMENTS for t in light.graph.initializer)
    assert len(model.graph.initializer) == 4             # the caller's model is left as it was


def test_loading_a_modelproto_leaves_it_as_it_was():
    from accelmap.frontend import load_model

    model = zoo.build("resnet18_w8")
    for node in model.graph.node:
        node.name = ""                                   # the loader names unnamed nodes: an edit it must not leak
    before = model.SerializeToString()
    graph = load_model(model)
    assert graph.nodes and model.SerializeToString() == before


@pytest.mark.slow
def test_a_model_over_2_gb_lowers(tmp_path):
    """Weights in external data past protobuf's 2 GiB limit: the whole model cannot be serialised (shape
    inference on it failed with a DecodeError), the copy without the weights can. Writes 2.3 GB."""
    from accelmap import api

    side = 17_000                                        # two 17,000 x 17,000 float32 weights: 2.31e9 bytes
    weights = [numpy_helper.from_array(np.full((side, side), 1e-3, np.float32), f"w{i}") for i in range(2)]
    nodes = [helper.make_node("MatMul", ["x", "w0"], ["h"], name="mm0"),
             helper.make_node("MatMul", ["h", "w1"], ["y"], name="mm1")]
    graph = helper.make_graph(nodes, "big", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, side])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, side])], weights)
    onnx.save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "big.onnx",
                    save_as_external_data=True, location="big.data")
    del weights, graph
    lowered = api.load_model(tmp_path / "big.onnx")
    assert [layer.workload.macs for layer in lowered.layers()] == [2 * side * side] * 2
