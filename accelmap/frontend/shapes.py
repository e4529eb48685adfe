"""Static shapes of a model's graph values, from ONNX's shape inference run without the weights.

`onnx.shape_inference.infer_shapes` takes and returns a whole ModelProto,
serialising it both ways; on a model with large weights that was most of a
compile's front end (VGG-16, 528 MB of weights: 3.4-4.4 s per call, two
calls). Inference reads a weight's type and shape, never its values, except
through data propagation, which follows shape-like values (a Reshape's
target, an axis list): small ones. So `inferred` runs it on a copy that
keeps the initializers of up to `SHAPE_LIKE_ELEMENTS` elements and declares
every larger one as a typed graph input of its shape.
"""
from __future__ import annotations

from math import prod

import onnx
from onnx import helper, shape_inference

SHAPE_LIKE_ELEMENTS = 1 << 12
"""Initializers (and folded values) up to this size keep their values for data propagation; larger ones are
seen by shape inference through their type and shape only."""


def static_shape(value: onnx.ValueInfoProto) -> tuple[int, ...] | None:
    """The declared shape of a graph value if every dim is a number, else None (unknown or symbolic)."""
    ttype = value.type.tensor_type
    if not ttype.HasField("shape") or any(not d.HasField("dim_value") for d in ttype.shape.dim):
        return None
    return tuple(d.dim_value for d in ttype.shape.dim)


def inferred(model: onnx.ModelProto) -> onnx.ModelProto:
    """A model with the graph, functions and opsets of `model` and the value infos shape inference (with data
    propagation) gives them; its large initializers are typed graph inputs instead (module docstring).
    Raises what `onnx.shape_inference.infer_shapes` raises."""
    light = onnx.ModelProto(ir_version=model.ir_version)
    light.opset_import.extend(model.opset_import)
    light.functions.extend(model.functions)
    graph = light.graph
    graph.name = model.graph.name
    graph.node.extend(model.graph.node)
    graph.input.extend(model.graph.input)
    graph.output.extend(model.graph.output)
    graph.value_info.extend(model.graph.value_info)
    graph.sparse_initializer.extend(model.graph.sparse_initializer)
    declared = {value.name for value in model.graph.input}
    for tensor in model.graph.initializer:
        if prod(tensor.dims) <= SHAPE_LIKE_ELEMENTS:
            graph.initializer.append(tensor)
        elif tensor.name not in declared:
            graph.input.append(helper.make_tensor_value_info(tensor.name, tensor.data_type, list(tensor.dims)))
    return shape_inference.infer_shapes(light, data_prop=True)


def graph_values(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    """The graph's inputs, intermediate values (value infos) and outputs, in that order."""
    return list(model.graph.input) + list(model.graph.value_info) + list(model.graph.output)


def static_shapes(model: onnx.ModelProto) -> dict[str, tuple[int, ...]]:
    """Every graph input, intermediate and output value of `model` whose shape is fully static."""
    return {value.name: shape for value in graph_values(model) if (shape := static_shape(value)) is not None}
