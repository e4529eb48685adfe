"""LayerNormalization (opset 17) and Gelu (opset 20) converters against onnxruntime.

float32 tolerance rtol 1e-4, atol 1e-5 (tx_models.RTOL/ATOL).
"""
from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto

from accelmap.errors import UnsupportedOp
from accelmap.frontend import load_model
from tx_models import check, host_ops, model, node, rand

X = rand(2, 6, 16, seed=1) * 3 + 1


@pytest.mark.parametrize("axis, bias, attrs", [
    (-1, True, {}),
    (-1, False, {"epsilon": 1e-12}),
    (1, True, {"epsilon": 1e-3}),
    (-2, True, {"stash_type": TensorProto.FLOAT}),
])
@pytest.mark.parametrize("opset", [17, 18])
def test_layer_normalization(axis: int, bias: bool, attrs: dict, opset: int) -> None:
    norm_shape = X.shape[axis:]
    constants = {"scale": rand(*norm_shape, seed=2) + 1}
    if bias:
        constants["bias"] = rand(*norm_shape, seed=3)
    inputs = ["x", "scale", "bias"] if bias else ["x", "scale"]
    graph = check(model([node("LayerNormalization", inputs, axis=axis, **attrs)], {"x": X}, ["y"], opset,
                        constants), {"x": X})
    (ln,) = graph.host_ops()
    assert ln.op == "LayerNormalization" and ln.attrs["axis"] == axis % 3 and ln.attrs["stash_type"] == "float32"


def test_layer_normalization_statistics_outputs_are_rejected() -> None:
    onnx_model = model([node("LayerNormalization", ["x", "scale"], ["y", "mean"])], {"x": X}, ["y", "mean"], 17,
                       {"scale": rand(16, seed=2)})
    with pytest.raises(UnsupportedOp, match="Mean and InvStdDev"):
        load_model(onnx_model)


@pytest.mark.parametrize("approximate", [None, "none", "tanh"])
def test_gelu(approximate: str | None) -> None:
    attrs = {"approximate": approximate} if approximate else {}
    graph = check(model([node("Gelu", ["x"], **attrs)], {"x": X}, ["y"], 20), {"x": X})
    assert host_ops(graph) == ["Gelu"]


def test_gelu_erf_form_lowers_op_by_op() -> None:
    """x * 0.5 * (1 + erf(x / sqrt(2))), as exporters write GELU before opset 20."""
    constants = {"sqrt2": np.float32(np.sqrt(2.0)), "one": np.float32(1.0), "half": np.float32(0.5)}
    nodes = [node("Div", ["x", "sqrt2"], ["d"]), node("Erf", ["d"], ["e"]), node("Add", ["e", "one"], ["a"]),
             node("Mul", ["x", "a"], ["m"]), node("Mul", ["m", "half"])]
    graph = check(model(nodes, {"x": X}, ["y"], 13, constants), {"x": X})
    assert host_ops(graph) == ["Div", "Erf", "Add", "Mul", "Mul"]
