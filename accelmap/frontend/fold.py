"""Constant folding before lowering: Constant, Shape/Size of static tensors, and
any node whose inputs are all constants (ConstantOfShape, Gather/Concat/Unsqueeze
shape chains, weight transposes), evaluated by ONNX's reference evaluator.

A folded value small enough to steer shapes (a shape, an axis list) goes back
into the model as an initializer, so shape inference can propagate it; a
large one (a weight built by ConstantOfShape) is only declared as a typed
graph input, so the model is not copied through protobuf once per value.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from accelmap.frontend.shapes import SHAPE_LIKE_ELEMENTS, inferred, static_shapes

NOT_FOLDABLE = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial",
                "Bernoulli", "If", "Loop", "Scan"}
MAX_FOLDED_ELEMENTS = 1 << 27
"""Largest folded value (elements): VGG's first fully connected weight, 102.8 M, fits."""

def _shape_value(node: onnx.NodeProto, shape: tuple[int, ...]) -> np.ndarray:
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if node.op_type == "Size":
        return np.array(int(np.prod(shape)), dtype=np.int64)
    start, end = attrs.get("start", 0), attrs.get("end", len(shape))
    return np.array(shape[start:end], dtype=np.int64)


def _constant_of_shape(node: onnx.NodeProto, shape: np.ndarray) -> np.ndarray:
    """ConstantOfShape as a read-only broadcast of its fill value: no memory for a weight-sized constant."""
    fill = np.zeros(1, np.float32)
    for attr in node.attribute:
        if attr.name == "value":
            fill = numpy_helper.to_array(attr.t).reshape(-1)
    return np.broadcast_to(fill[0], tuple(int(n) for n in shape))


def _evaluate(node: onnx.NodeProto, model: onnx.ModelProto, constants: dict[str, np.ndarray]) -> list[np.ndarray]:
    inputs = [helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(constants[name].dtype),
                                            constants[name].shape) for name in node.input if name]
    outputs = [helper.make_empty_tensor_value_info(name) for name in node.output]
    graph = helper.make_graph([node], "fold", inputs, outputs)
    tiny = helper.make_model(graph, opset_imports=list(model.opset_import), ir_version=model.ir_version)
    feeds = {name: constants[name] for name in node.input if name}
    return ReferenceEvaluator(tiny).run(None, feeds)


def _fold_once(model: onnx.ModelProto, constants: dict[str, np.ndarray]) -> bool:
    shapes = static_shapes(inferred(model))
    kept, folded = [], False
    for node in model.graph.node:
        values: list[np.ndarray] | None = None
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
            values = _evaluate(node, model, constants)
        elif node.op_type in ("Shape", "Size") and node.input[0] in shapes:
            values = [_shape_value(node, shapes[node.input[0]])]
        elif node.op_type == "ConstantOfShape" and node.input[0] in constants:
            values = [_constant_of_shape(node, constants[node.input[0]])]
        elif (node.op_type not in NOT_FOLDABLE and node.domain in ("", "ai.onnx") and node.input
              and all(not name or name in constants for name in node.input)):
            values = _evaluate(node, model, constants)
        if values is None or any(np.asarray(v).size > MAX_FOLDED_ELEMENTS for v in values):
            kept.append(node)
            continue
        for name, value in zip(node.output, values):
            constants[name] = np.asarray(value)
            _declare_folded(model, name, constants[name])
        folded = True
    del model.graph.node[:]
    model.graph.node.extend(kept)
    return folded


def _declare_folded(model: onnx.ModelProto, name: str, value: np.ndarray) -> None:
    """Make a folded value known to shape inference: small ones by value, large ones by type and shape."""
    if value.size <= SHAPE_LIKE_ELEMENTS:
        model.graph.initializer.append(numpy_helper.from_array(value, name))
        return
    model.graph.input.append(helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(value.dtype),
                                                           value.shape))


def fold_constants(model: onnx.ModelProto, constants: dict[str, np.ndarray]) -> onnx.ModelProto:
    """Fold every constant-valued node into `constants` (updated in place) and the model's initializers."""
    while _fold_once(model, constants):
        pass
    return model
