"""Data-movement converters (Transpose, Gather, Split, Slice, Squeeze, Unsqueeze, Expand, Range,
Tile, Pad), every opset variant, against onnxruntime.

float32 tolerance rtol 1e-4, atol 1e-5 (tx_models.RTOL/ATOL); these ops only
move data, so they in fact agree exactly. Integer outputs exact.
"""
from __future__ import annotations

import numpy as np
import pytest

from accelmap.errors import UnsupportedOp
from accelmap.frontend import load_model
from tx_models import check, host_ops, model, node, rand, value

X = rand(2, 3, 4, 5, seed=1)


def ints(*values: int) -> np.ndarray:
    """An int64 constant."""
    return np.array(values, dtype=np.int64)


@pytest.mark.parametrize("attrs", [{}, {"perm": [0, 2, 3, 1]}, {"perm": [3, 1, 0, 2]}])
def test_transpose(attrs: dict) -> None:
    graph = check(model([node("Transpose", ["x"], **attrs)], {"x": X}, ["y"], 13), {"x": X})
    assert graph.host_ops()[0].attrs["perm"] == tuple(attrs.get("perm", (3, 2, 1, 0)))


def test_gather_embedding_with_negative_ids() -> None:
    table = rand(50, 16, seed=2)
    ids = np.array([[0, 3, -1, 49, -50, 7]], dtype=np.int64)
    graph = check(model([node("Gather", ["table", "ids"], axis=0)], {"ids": ids}, ["y"], 13, {"table": table}),
                  {"ids": ids})
    assert host_ops(graph) == ["Gather"]


@pytest.mark.parametrize("axis, indices, opset", [
    (1, ints(2, -1, 0), 11), (-1, ints(-2), 13), (2, np.array(1, np.int64), 7), (-3, ints(0, -3, 1), 13),
])
def test_gather_index_selection(axis: int, indices: np.ndarray, opset: int) -> None:
    graph = check(model([node("Gather", ["x", "i"], axis=axis)], {"x": X}, ["y"], opset, {"i": indices}), {"x": X})
    assert graph.host_ops()[0].attrs["axis"] == axis % 4


@pytest.mark.parametrize("opset, attrs, split, parts", [
    (7, {"axis": 1, "split": [1, 2]}, None, 2),         # sizes attribute
    (11, {"axis": -1}, None, 5),                         # equal parts
    (13, {"axis": 3}, ints(2, 2, 1), 3),                 # sizes input
    (13, {"axis": 3}, None, 5),                          # equal parts without the input
    (18, {"axis": 3, "num_outputs": 3}, None, 3),        # ceil(5/3) = 2: sizes 2, 2, 1
    (18, {"axis": 2}, ints(3, 0, 1), 3),                 # sizes input with an empty piece
])
def test_split(opset: int, attrs: dict, split: np.ndarray | None, parts: int) -> None:
    outputs = [f"y{i}" for i in range(parts)]
    inputs = ["x", "s"] if split is not None else ["x"]
    constants = {"s": split} if split is not None else {}
    graph = check(model([node("Split", inputs, outputs, **attrs)], {"x": X}, outputs, opset, constants), {"x": X})
    assert host_ops(graph) == ["Split"] and graph.host_ops()[0].inputs == ("x",)


@pytest.mark.parametrize("attrs", [
    {"starts": [1], "ends": [3], "axes": [1]},
    {"starts": [0, -3], "ends": [1, 1000], "axes": [0, 3]},
    {"starts": [1, 0, 2], "ends": [2, -1, 100]},
])
def test_slice_attributes(attrs: dict) -> None:
    check(model([node("Slice", ["x"], **attrs)], {"x": X}, ["y"], 9), {"x": X})


@pytest.mark.parametrize("starts, ends, axes, steps", [
    (ints(1), ints(3), ints(1), None),
    (ints(-1, 0), ints(-1000, 9), ints(-1, 2), ints(-2, 3)),            # reverse to the start, clamped
    (ints(4, 2), ints(-6, 0), ints(3, 2), ints(-1, -1)),                 # reversed, ends before index 0
    (ints(0, 1, 0, 0), ints(2**62, 3, 4, 5), None, ints(1, 1, 2, 2)),   # INT64-ish end, no axes
    (ints(-100), ints(-200), ints(2), ints(-1)),                          # clamped start with a negative step
])
@pytest.mark.parametrize("opset", [10, 13])
def test_slice_inputs(starts: np.ndarray, ends: np.ndarray, axes: np.ndarray | None, steps: np.ndarray | None,
                      opset: int) -> None:
    constants = {"starts": starts, "ends": ends}
    names = ["x", "starts", "ends"]
    if axes is not None or steps is not None:
        names.append("axes" if axes is not None else "")
        if axes is not None:
            constants["axes"] = axes
    if steps is not None:
        names.append("steps")
        constants["steps"] = steps
    graph = check(model([node("Slice", names)], {"x": X}, ["y"], opset, constants), {"x": X})
    assert graph.host_ops()[0].inputs == ("x",)


@pytest.mark.parametrize("axes", [[2], [-1, 0], None])
def test_squeeze_attribute(axes: list[int] | None) -> None:
    x = rand(1, 3, 1, seed=3)
    attrs = {"axes": axes} if axes is not None else {}
    check(model([node("Squeeze", ["x"], **attrs)], {"x": x}, ["y"], 11), {"x": x})


@pytest.mark.parametrize("axes", [ints(2), ints(0, -1), None])
def test_squeeze_input(axes: np.ndarray | None) -> None:
    x = rand(1, 3, 1, seed=3)
    inputs, constants = (["x", "axes"], {"axes": axes}) if axes is not None else (["x"], {})
    check(model([node("Squeeze", inputs)], {"x": x}, ["y"], 13, constants), {"x": x})


@pytest.mark.parametrize("axes", [[0], [1, -1], [0, 4]])
def test_unsqueeze_attribute(axes: list[int]) -> None:
    x = rand(3, 4, 2, seed=4)
    check(model([node("Unsqueeze", ["x"], axes=axes)], {"x": x}, ["y"], 11), {"x": x})


@pytest.mark.parametrize("axes", [ints(0), ints(-1, 1), ints(4, 0)])
def test_unsqueeze_input(axes: np.ndarray) -> None:
    x = rand(3, 4, 2, seed=4)
    check(model([node("Unsqueeze", ["x", "axes"])], {"x": x}, ["y"], 13, {"axes": axes}), {"x": x})


@pytest.mark.parametrize("shape", [ints(2, 3, 4), ints(3, 1), ints(2, 1, 1, 1), ints(1)])
@pytest.mark.parametrize("opset", [8, 13])
def test_expand(shape: np.ndarray, opset: int) -> None:
    x = rand(3, 1, seed=5)
    graph = check(model([node("Expand", ["x", "shape"])], {"x": x}, ["y"], opset, {"shape": shape}), {"x": x})
    assert graph.host_ops()[0].inputs == ("x",)


@pytest.mark.parametrize("dtype, start, limit, delta, length", [
    (np.float32, 0.5, 4.0, 0.75, 5),
    (np.int64, 10, 2, -3, 3),
    (np.int32, 0, 7, 2, 4),
])
def test_range_with_run_time_limit(dtype: type, start: float, limit: float, delta: float, length: int) -> None:
    """A Range whose limit is a graph input; the model declares the output length."""
    feeds = {"limit": np.array(limit, dtype=dtype)}
    constants = {"start": np.array(start, dtype=dtype), "delta": np.array(delta, dtype=dtype)}
    graph = check(model([node("Range", ["start", "limit", "delta"])], feeds, [value("y", dtype, (length,))], 11,
                        constants), feeds)
    assert host_ops(graph) == ["Range"]


@pytest.mark.parametrize("repeats", [ints(1, 2, 1, 3), ints(2, 1, 1, 1)])
@pytest.mark.parametrize("opset", [7, 13])
def test_tile(repeats: np.ndarray, opset: int) -> None:
    check(model([node("Tile", ["x", "r"])], {"x": X}, ["y"], opset, {"r": repeats}), {"x": X})


@pytest.mark.parametrize("attrs", [
    {"pads": [0, 0, 1, 2, 0, 0, 2, 1]},
    {"pads": [0, 1, 0, 0, 0, 0, 1, 1], "value": 1.5},
    {"pads": [0, 0, 1, 2, 0, 0, 2, 1], "mode": "reflect"},
    {"pads": [0, 0, 2, 1, 0, 0, 0, 3], "mode": "edge"},
])
def test_pad_attributes(attrs: dict) -> None:
    check(model([node("Pad", ["x"], **attrs)], {"x": X}, ["y"], 10), {"x": X})


@pytest.mark.parametrize("mode, pads, fill", [
    ("constant", ints(0, 0, 1, 2, 0, 0, 2, 1), np.array(-2.0, np.float32)),
    ("constant", ints(0, 0, 1, 2, 0, 0, 2, 1), None),
    ("constant", ints(0, 0, -1, 2, 0, -1, 2, -2), None),   # negative pads crop
    ("reflect", ints(0, 0, 3, 1, 0, 0, 1, 4), None),
    ("edge", ints(1, 0, 2, 1, 0, 1, 0, 3), None),
])
@pytest.mark.parametrize("opset", [11, 13])
def test_pad_inputs(mode: str, pads: np.ndarray, fill: np.ndarray | None, opset: int) -> None:
    inputs, constants = ["x", "pads"], {"pads": pads}
    if fill is not None:
        inputs.append("fill")
        constants["fill"] = fill
    graph = check(model([node("Pad", inputs, mode=mode)], {"x": X}, ["y"], opset, constants), {"x": X})
    assert graph.host_ops()[0].inputs == ("x",)


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
def test_pad_axes_input(mode: str) -> None:
    constants = {"pads": ints(1, 2, 3, 0), "fill": np.array(0.5, np.float32), "axes": ints(-1, 1)}
    check(model([node("Pad", ["x", "pads", "fill", "axes"], mode=mode)], {"x": X}, ["y"], 18, constants), {"x": X})


def test_pad_wrap_is_rejected() -> None:
    with pytest.raises(UnsupportedOp, match="Pad mode 'wrap'"):
        load_model(model([node("Pad", ["x", "pads"], mode="wrap")], {"x": X}, ["y"], 19,
                         {"pads": ints(0, 0, 1, 1, 0, 0, 1, 1)}))


def test_computed_slice_bounds_are_rejected_by_name() -> None:
    ends = np.array([2], dtype=np.int64)
    with pytest.raises(UnsupportedOp, match="needs the slice ends"):
        load_model(model([node("Slice", ["x", "starts", "ends"])], {"x": X, "ends": ends}, ["y"], 13,
                         {"starts": ints(0)}))
