"""Reduction converters (ReduceMean/Sum/Max with axes as attribute and as input, keepdims,
noop_with_empty_axes) and GlobalMaxPool against onnxruntime.

float32 tolerance rtol 1e-4, atol 1e-5 (tx_models.RTOL/ATOL).
"""
from __future__ import annotations

import numpy as np
import pytest

from tx_models import check, host_ops, model, node, rand, value

X = rand(2, 3, 4, 5, seed=1)
INPUT_AXES_SINCE = {"ReduceMean": 18, "ReduceSum": 13, "ReduceMax": 18}


@pytest.mark.parametrize("op", list(INPUT_AXES_SINCE))
@pytest.mark.parametrize("axes, keepdims", [([-1], 1), ([1, 3], 0), ([2, 0], 1), (None, 0), (None, 1)])
def test_reduce_axes_attribute(op: str, axes: list[int] | None, keepdims: int) -> None:
    attrs = {"keepdims": keepdims} | ({"axes": axes} if axes is not None else {})
    opset = INPUT_AXES_SINCE[op] - 1
    graph = check(model([node(op, ["x"], **attrs)], {"x": X}, ["y"], opset), {"x": X})
    assert host_ops(graph) == [op]


@pytest.mark.parametrize("op", list(INPUT_AXES_SINCE))
@pytest.mark.parametrize("axes, keepdims", [([-1], 1), ([3, 1], 0), (None, 1), ([], 0)])
def test_reduce_axes_input(op: str, axes: list[int] | None, keepdims: int) -> None:
    inputs, constants = (["x", "axes"], {"axes": np.array(axes, dtype=np.int64)}) if axes is not None else (["x"], {})
    graph = check(model([node(op, inputs, keepdims=keepdims)], {"x": X}, ["y"], INPUT_AXES_SINCE[op], constants),
                  {"x": X})
    assert graph.host_ops()[0].inputs == ("x",)


@pytest.mark.parametrize("op", list(INPUT_AXES_SINCE))
def test_reduce_noop_with_empty_axes_passes_through(op: str) -> None:
    nodes = [node(op, ["x"], ["r"], noop_with_empty_axes=1), node("Sub", ["r", "x"])]
    graph = check(model(nodes, {"x": X}, ["y"], INPUT_AXES_SINCE[op]), {"x": X})
    assert host_ops(graph) == ["Sub"] and graph.nodes[0].inputs == ("x", "x")


def test_reduce_sum_keeps_integer_dtype() -> None:
    x = np.arange(24, dtype=np.int64).reshape(2, 3, 4)
    check(model([node("ReduceSum", ["x"], axes=[1])], {"x": x}, [value("y", np.int64, None)], 11), {"x": x})


@pytest.mark.parametrize("shape", [(2, 3, 5, 4), (2, 3, 7), (1, 4, 2, 3, 2)])
def test_global_max_pool(shape: tuple[int, ...]) -> None:
    x = rand(*shape, seed=2)
    graph = check(model([node("GlobalMaxPool", ["x"])], {"x": x}, ["y"], 7), {"x": x})
    assert host_ops(graph) == ["GlobalMaxPool"]
