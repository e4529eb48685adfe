"""What every fuzz case must end in: success, or one clean error with the documented exit code."""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from accelmap.cli import main


def run(argv: list[str], capsys) -> tuple[int, str]:
    """`accelmap ARGV` in this process: (exit code, stderr)."""
    capsys.readouterr()
    code = main(argv)
    return code, capsys.readouterr().err


def assert_clean(code: int, err: str, allowed: tuple[int, ...] = (0, 2)) -> None:
    """A documented exit code; on failure an `error:` message (after the usage line for a malformed command
    line) and never a traceback or an internal error."""
    assert code in allowed, (code, err)
    assert "Traceback" not in err and "internal error" not in err, err
    if code != 0:
        usage = err.startswith("usage: ") and ": error: " in err
        assert usage or (err.startswith("error: ") and len(err.strip()) > len("error: ")), err


def small_cnn() -> onnx.ModelProto:
    """x [1,3,8,8] -> Conv 3x3 + bias -> Relu -> MaxPool 2x2 -> Flatten -> Gemm -> y [1,4]: every part a
    mutation can break (nodes, attributes, initializers, shapes, opset)."""
    rng = np.random.default_rng(3)
    weights = {"w": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
               "b": rng.standard_normal(4).astype(np.float32),
               "fc": rng.standard_normal((4, 64)).astype(np.float32)}
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
             helper.make_node("Gemm", ["f", "fc"], ["y"], name="head", transB=1)]
    graph = helper.make_graph(nodes, "small_cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
                              [numpy_helper.from_array(value, name) for name, value in weights.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model
