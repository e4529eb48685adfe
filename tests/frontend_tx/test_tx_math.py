"""Element-wise math, comparison, logic and cast converters against onnxruntime.

float32 tolerance rtol 1e-4, atol 1e-5 (tx_models.RTOL/ATOL); integer and bool outputs exact.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from accelmap.errors import UnsupportedOp
from accelmap.frontend import load_model
from accelmap.ir.host.special import erf
from tx_models import check, host_ops, model, node, rand, value

A = rand(2, 3, 4, seed=1)
B = rand(3, 1, seed=2)  # broadcasts against A
POSITIVE = np.abs(A) + np.float32(0.1)
INT_A = np.array([[7, -7, 6, -6, 0, 5]], dtype=np.int64)
INT_B = np.array([3, 3, -4, -4, 2, -2], dtype=np.int64)


@pytest.mark.parametrize("op, a, b, opset, out", [
    ("Sub", A, B, 7, "y"),
    ("Sub", A, B, 14, "y"),
    ("Div", A, B, 7, "y"),
    ("Div", A, B, 14, "y"),
    ("Div", INT_A, INT_B, 14, value("y", np.int64, None)),
    ("Pow", POSITIVE, B, 7, "y"),
    ("Pow", POSITIVE, np.array(2.0, np.float32), 15, "y"),
    ("Pow", POSITIVE, np.array([2, 3, 1, 0], np.int64), 15, "y"),
    ("Equal", INT_A, INT_B, 11, value("y", np.bool_, None)),
    ("Less", A, B, 9, value("y", np.bool_, None)),
    ("Greater", A, B, 13, value("y", np.bool_, None)),
    ("Mod", INT_A, INT_B, 13, value("y", np.int64, None)),
])
def test_binary(op: str, a: np.ndarray, b: np.ndarray, opset: int, out: object) -> None:
    graph = check(model([node(op, ["a", "b"])], {"a": a, "b": b}, [out], opset), {"a": a, "b": b})
    assert host_ops(graph) == [op]


@pytest.mark.parametrize("op, x, opset", [
    ("Sqrt", POSITIVE, 7), ("Sqrt", POSITIVE, 13), ("Neg", A, 7), ("Neg", A, 13), ("Exp", A, 7), ("Exp", A, 13),
    ("Erf", rand(4, 300, seed=3) * 2, 9), ("Erf", rand(4, 300, seed=3) * 2, 13),
])
def test_unary(op: str, x: np.ndarray, opset: int) -> None:
    check(model([node(op, ["x"])], {"x": x}, ["y"], opset), {"x": x})


def test_erf_approximation_within_1e_7() -> None:
    grid = np.linspace(-7, 7, 400_001).astype(np.float32)
    exact = np.array([math.erf(float(v)) for v in grid])
    assert np.abs(erf(grid).astype(np.float64) - exact).max() < 1e-7  # float32 result, rounding included
    assert np.array_equal(erf(grid.astype(np.float64)), exact)  # float64 goes through math.erf


def test_mod_fmod_on_floats() -> None:
    check(model([node("Mod", ["a", "b"], fmod=1)], {"a": A * 5, "b": B}, ["y"], 13), {"a": A * 5, "b": B})


def test_mod_without_fmod_on_floats_is_rejected() -> None:
    with pytest.raises(UnsupportedOp, match="fmod=1"):
        load_model(model([node("Mod", ["a", "b"])], {"a": A, "b": B}, ["y"], 13))


def test_where_broadcasts_condition_and_branches() -> None:
    cond = rand(3, 4, seed=4) > 0
    feeds = {"c": cond, "x": A, "y0": B}
    check(model([node("Where", ["c", "x", "y0"])], feeds, ["y"], 9), feeds)
    check(model([node("Where", ["c", "x", "y0"])], feeds, ["y"], 16), feeds)


def test_not() -> None:
    x = rand(2, 5, seed=5) > 0
    check(model([node("Not", ["x"])], {"x": x}, [value("y", np.bool_, None)], 7), {"x": x})


@pytest.mark.parametrize("op", ["Min", "Max"])
@pytest.mark.parametrize("opset", [8, 13])
def test_min_max_variadic_broadcast(op: str, opset: int) -> None:
    feeds = {"a": A, "b": B, "c": rand(4, seed=6)}
    check(model([node(op, ["a", "b", "c"])], feeds, ["y"], opset), feeds)


@pytest.mark.parametrize("to, out_dtype, opset", [
    (6, np.int32, 7),      # float -> int32 truncates toward zero
    (7, np.int64, 13),
    (9, np.bool_, 13),
    (11, np.float64, 19),
    (10, np.float16, 21),
])
def test_cast(to: int, out_dtype: type, opset: int) -> None:
    x = A * 3
    check(model([node("Cast", ["x"], to=to)], {"x": x}, [value("y", out_dtype, None)], opset), {"x": x})


def test_cast_int_to_float() -> None:
    check(model([node("Cast", ["x"], to=1)], {"x": INT_A}, ["y"], 13), {"x": INT_A})


def test_cast_to_string_is_rejected() -> None:
    with pytest.raises(UnsupportedOp, match="Cast to STRING"):
        load_model(model([node("Cast", ["x"], to=8)], {"x": A}, [value("y", np.str_, None)], 13))


@pytest.mark.parametrize("slope", [np.float32([0.25]), rand(3, 1, 1, seed=7), rand(5, seed=8)])
@pytest.mark.parametrize("opset", [7, 9, 16])
def test_prelu_slope_broadcast(slope: np.ndarray, opset: int) -> None:
    x = rand(2, 3, 4, 5, seed=9)
    graph = check(model([node("PRelu", ["x", "slope"])], {"x": x}, ["y"], opset, {"slope": slope}), {"x": x})
    assert host_ops(graph) == ["PRelu"]


@pytest.mark.parametrize("attrs", [{}, {"alpha": 0.3}])
def test_elu(attrs: dict) -> None:
    x = rand(2, 3, 4, seed=10) * 3
    check(model([node("Elu", ["x"], **attrs)], {"x": x}, ["y"], 7), {"x": x})
