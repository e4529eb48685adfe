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
