"""Build small ONNX models in code and check accelmap's interpreter against onnxruntime.

The tolerance is float32's: |got - want| <= ATOL + RTOL * |want| elementwise.
"""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from accelmap.frontend import load_model
from accelmap.ir import Graph, run_graph

RTOL = 1e-4
ATOL = 1e-5


def make_model(nodes: list[onnx.NodeProto], inputs: dict[str, tuple[int | str, ...]], outputs: list[str],
               initializers: dict[str, np.ndarray] | None = None, opset: int = 17,
               types: dict[str, int] | None = None) -> onnx.ModelProto:
    """A model of `nodes` with float32 graph inputs of the given shapes (str dims are symbolic).

    `types` gives an ONNX element type for inputs or outputs that are not float32.
    """
    types = types or {}
    opsets = [helper.make_opsetid("", opset)]
    ir_version = helper.find_min_ir_version_for(opsets)
    tensors = [numpy_helper.from_array(np.asarray(value), name) for name, value in (initializers or {}).items()]
    graph_inputs = [helper.make_tensor_value_info(name, types.get(name, TensorProto.FLOAT), shape)
                    for name, shape in inputs.items()]
    if ir_version < 4:  # before IR 4 every initializer is also a graph input, as old exporters wrote them
        graph_inputs += [helper.make_tensor_value_info(t.name, t.data_type, t.dims) for t in tensors]
    graph = helper.make_graph(
        nodes, "test", graph_inputs,
        [helper.make_tensor_value_info(name, types.get(name, TensorProto.FLOAT), None) for name in outputs], tensors)
    return helper.make_model(graph, opset_imports=opsets, ir_version=ir_version)


def random_feeds(model: onnx.ModelProto, seed: int = 0,
                 input_shapes: dict[str, tuple[int, ...]] | None = None) -> dict[str, np.ndarray]:
    """Standard-normal float32 values for every graph input (shapes from the model or the overrides)."""
    rng = np.random.default_rng(seed)
    initializers = {t.name for t in model.graph.initializer}
    feeds = {}
    for value in model.graph.input:
        if value.name in initializers:
            continue
        shape = (input_shapes or {}).get(value.name) or tuple(d.dim_value for d in value.type.tensor_type.shape.dim)
        feeds[value.name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


def run_onnxruntime(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The model's outputs by name, computed by onnxruntime on the CPU."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in model.graph.output]
    return dict(zip(names, session.run(names, feeds)))


def compare(model: onnx.ModelProto, feeds: dict[str, np.ndarray] | None = None,
            input_shapes: dict[str, tuple[int, ...]] | None = None, rtol: float = RTOL,
            atol: float = ATOL) -> Graph:
    """Load `model` with accelmap, run it in the interpreter and in onnxruntime, assert every output
    agrees in shape, dtype and value; returns the lowered graph for further checks."""
    feeds = feeds if feeds is not None else random_feeds(model, input_shapes=input_shapes)
    want = run_onnxruntime(model, feeds)
    graph = load_model(model, input_shapes)
    got = run_graph(graph, feeds)
    for name, expected in want.items():
        assert got[name].shape == expected.shape, f"{name}: shape {got[name].shape} != {expected.shape}"
        assert got[name].dtype == expected.dtype, f"{name}: dtype {got[name].dtype} != {expected.dtype}"
        np.testing.assert_allclose(got[name], expected, rtol=rtol, atol=atol, err_msg=name)
    return graph


def check(nodes: list[onnx.NodeProto], inputs: dict[str, tuple[int, ...]], outputs: list[str],
          initializers: dict[str, np.ndarray] | None = None, opset: int = 17,
          types: dict[str, int] | None = None) -> Graph:
    """make_model + compare in one call."""
    return compare(make_model(nodes, inputs, outputs, initializers, opset, types))


def node(op: str, inputs: list[str], outputs: list[str] | None = None, **attrs: object) -> onnx.NodeProto:
    """One node called after its op, writing `y` unless told otherwise."""
    outputs = outputs or ["y"]
    return helper.make_node(op, inputs, outputs, name=f"{op}_{outputs[0]}", **attrs)


def weights(shape: tuple[int, ...], seed: int = 1, scale: float = 1.0) -> np.ndarray:
    """Seeded float32 weights, standard normal times `scale`."""
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)
