"""Helpers for the transformer/tensor-op frontend tests: build one-graph ONNX models in code and
compare the lowered graph's interpreter with onnxruntime.

Tolerance: float32 outputs must agree to rtol 1e-4, atol 1e-5 unless a test
states otherwise; integer and bool outputs exactly. Shapes and dtypes always
exactly.
"""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

from accelmap.frontend import load_model
from accelmap.ir import Graph, run_graph

RTOL, ATOL = 1e-4, 1e-5


def value(name: str, dtype: type | str, shape: tuple[int, ...] | None) -> onnx.ValueInfoProto:
    """A graph input/output declaration (shape None: left to shape inference)."""
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), shape)


def model(nodes: list[onnx.NodeProto], inputs: dict[str, np.ndarray], outputs: list[str | onnx.ValueInfoProto],
          opset: int, initializers: dict[str, np.ndarray] | None = None) -> onnx.ModelProto:
    """A model over `nodes`: graph inputs typed like the example arrays in `inputs`.

    An output given by name is float32 of inferred shape; give a `value(...)`
    for another type, or to declare a shape inference cannot find (Range).
    """
    graph = helper.make_graph(
        nodes, "tx",
        [value(name, array.dtype, array.shape) for name, array in inputs.items()],
        [value(out, np.float32, None) if isinstance(out, str) else out for out in outputs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in (initializers or {}).items()])
    opsets = [helper.make_opsetid("", opset)]
    # IR 4 at least: before it, initializers had to be listed as graph inputs too
    ir_version = max(helper.find_min_ir_version_for(opsets), 4)
    return helper.make_model(graph, opset_imports=opsets, ir_version=ir_version)


def check(onnx_model: onnx.ModelProto, feeds: dict[str, np.ndarray], rtol: float = RTOL,
          atol: float = ATOL) -> Graph:
    """Lower `onnx_model`, run it in the interpreter and in onnxruntime on `feeds`, assert they agree."""
    session = ort.InferenceSession(onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in onnx_model.graph.output]
    expected = dict(zip(names, session.run(None, feeds)))
    graph = load_model(onnx_model)
    got = run_graph(graph, feeds)
    for name in names:
        want, have = expected[name], got[name]
        assert have.shape == want.shape, f"{name}: shape {have.shape} != onnxruntime {want.shape}"
        assert have.dtype == want.dtype, f"{name}: dtype {have.dtype} != onnxruntime {want.dtype}"
        if want.dtype.kind == "f":
            np.testing.assert_allclose(have, want, rtol=rtol, atol=atol, err_msg=name)
        else:
            np.testing.assert_array_equal(have, want, err_msg=name)
    return graph


def node(op: str, inputs: list[str], outputs: list[str] | None = None, **attrs: object) -> onnx.NodeProto:
    """One ONNX node (output "y" by default)."""
    return helper.make_node(op, inputs, outputs or ["y"], **attrs)


def rand(*shape: int, seed: int = 0) -> np.ndarray:
    """Seeded standard-normal float32 data."""
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def host_ops(graph: Graph) -> list[str]:
    """The op names of the graph's host ops, in order."""
    return [n.op for n in graph.host_ops()]
