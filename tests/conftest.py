"""Fixtures shared across the test packages."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper


@pytest.fixture
def matmul_onnx(tmp_path: Path) -> str:
    """x [1,8] @ w [8,5] saved as an ONNX file: proved optimal in a fraction of a second, so a compile of it
    is mostly start-up (for tests of what happens around the solving)."""
    return matmul_model(tmp_path)


def matmul_model(directory: Path) -> str:
    """The model of `matmul_onnx`, saved in `directory`; its path."""
    w = numpy_helper.from_array(np.random.default_rng(0).standard_normal((8, 5)).astype(np.float32), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")], "fc",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = directory / "fc.onnx"
    onnx.save(model, str(path))
    return str(path)
