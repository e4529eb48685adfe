"""Helpers of the sweep tests: a tiny pointwise network whose every layer CP-SAT proves in well
under a second on edge_npu, and spec files written next to it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import yaml
from onnx import TensorProto, helper, numpy_helper

TINY_AXES = {
    "mesh": {"keys": ["fanouts.PE_array.meshX", "fanouts.PE_array.meshY"], "values": [[2, 2], [4, 4]]},
    "rf": {"key": "levels.RF.capacity", "values": ["16B", "64B"]},
}
"""Four designs on which the tiny network's energies, cycles and capacities differ."""


def tiny_model(path: Path) -> Path:
    """1x1 conv 4->8 on 6x6, Relu, 1x1 conv 8->8, GlobalAveragePool, Flatten, Gemm 8->5: three mapped layers."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.standard_normal((8, 4, 1, 1)).astype(np.float32), "w1"),
             numpy_helper.from_array(rng.standard_normal((8, 8, 1, 1)).astype(np.float32), "w2"),
             numpy_helper.from_array(rng.standard_normal((5, 8)).astype(np.float32), "fc_w")]
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1"),
             helper.make_node("Relu", ["c1"], ["r1"], name="relu"),
             helper.make_node("Conv", ["r1", "w2"], ["c2"], name="conv2"),
             helper.make_node("GlobalAveragePool", ["c2"], ["g"], name="gap"),
             helper.make_node("Flatten", ["g"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "fc_w"], ["y"], name="fc", transB=1)]
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 6, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def write_spec(path: Path, **fields) -> Path:
    """A spec YAML at `path`: edge_npu, the tiny model beside it, TINY_AXES, 10 s per task, then `fields`."""
    doc = {"arch": "edge_npu", "models": ["tiny.onnx"], "axes": TINY_AXES, "search": {"time_limit": 10}}
    doc.update(fields)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path
