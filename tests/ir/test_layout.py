"""Layouts: ONNX-shaped operands <-> canonical tensors, checked through `run_layer` against numpy."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from accelmap.ir import ConvLayout, Node, PostOp, make_workload, matmul_layout, run_layer


def naive_conv2d(x: np.ndarray, w: np.ndarray, stride: tuple[int, int], dilation: tuple[int, int],
                 pads: tuple[int, int, int, int], groups: int) -> np.ndarray:
    """ONNX Conv by its definition, one output element at a time."""
    top, left, bottom, right = pads
    x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    n, _, h, wd = x.shape
    k, c, r, s = w.shape
    p = (h - dilation[0] * (r - 1) - 1) // stride[0] + 1
    q = (wd - dilation[1] * (s - 1) - 1) // stride[1] + 1
    out = np.zeros((n, k, p, q), np.float64)
    per_group = k // groups
    for b, o, i, j in itertools.product(range(n), range(k), range(p), range(q)):
        g = o // per_group
        rows = i * stride[0] + dilation[0] * np.arange(r)
        cols = j * stride[1] + dilation[1] * np.arange(s)
        out[b, o, i, j] = np.sum(x[b, g * c:(g + 1) * c][:, rows][:, :, cols] * w[o])
    return out


def conv_node(x_shape: tuple[int, ...], w_shape: tuple[int, ...], stride: tuple[int, int],
              dilation: tuple[int, int], pads: tuple[int, int, int, int], groups: int,
              post_ops: tuple[PostOp, ...] = ()) -> Node:
    n, _, h, w = x_shape
    k, c, r, s = w_shape
    top, left, bottom, right = pads
    p = (h + top + bottom - dilation[0] * (r - 1) - 1) // stride[0] + 1
    q = (w + left + right - dilation[1] * (s - 1) - 1) // stride[1] + 1
    wl = make_workload(n=n, g=groups, k=k // groups, c=c, p=p, q=q, r=r, s=s, stride=stride, dilation=dilation)
    return Node("conv", "Conv", ("x", "w"), ("y",), {}, wl, ConvLayout(2, groups, pads), post_ops)


@pytest.mark.parametrize("x_shape, w_shape, stride, dilation, pads, groups", [
    ((1, 3, 7, 6), (4, 3, 3, 2), (1, 1), (1, 1), (0, 0, 0, 0), 1),
    ((2, 4, 9, 8), (6, 2, 3, 3), (2, 3), (1, 2), (1, 0, 2, 1), 2),
    ((1, 5, 6, 6), (10, 1, 3, 3), (2, 2), (1, 1), (1, 1, 1, 1), 5),
    ((1, 2, 8, 5), (3, 2, 2, 1), (3, 1), (2, 1), (0, 2, 0, 0), 1),
])
def test_conv_layer_matches_the_definition(x_shape, w_shape, stride, dilation, pads, groups) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    node = conv_node(x_shape, w_shape, stride, dilation, pads, groups)
    got = run_layer(node, x, w, {})
    np.testing.assert_allclose(got, naive_conv2d(x, w, stride, dilation, pads, groups), rtol=1e-5, atol=1e-5)
    assert got.dtype == np.float32


def test_conv_input_is_padded_then_cropped_to_what_the_nest_reads() -> None:
    # H=6, stride 2, kernel 2, pads top 1 bottom 2: the nest reads rows 0..6 of the 9 padded rows.
    node = conv_node((1, 1, 6, 4), (1, 1, 2, 1), (2, 1), (1, 1), (1, 0, 2, 0), 1)
    x = np.arange(24, dtype=np.float32).reshape(1, 1, 6, 4)
    i = node.layout.to_input(x, node.workload)
    assert i.shape == node.workload.tensor_shape("I") == (1, 1, 1, 8, 4)
    assert (i[0, 0, 0, 0] == 0).all() and (i[0, 0, 0, 1] == x[0, 0, 0]).all() and (i[0, 0, 0, 7] == 0).all()


def test_conv_1d_layout_uses_a_unit_height() -> None:
    wl = make_workload(n=2, k=3, c=2, q=4, s=3, stride=(1, 2))
    layout = ConvLayout(1, 1, (0, 1, 0, 2))
    x = np.ones((2, 2, 8), np.float32)
    assert layout.to_input(x, wl).shape == (2, 1, 2, 1, 9)
    assert layout.to_weights(np.ones((3, 2, 3), np.float32), wl).shape == (1, 3, 2, 1, 3)
    assert layout.from_output(np.ones((2, 1, 3, 1, 4)), wl).shape == (2, 3, 4)


def test_post_ops_apply_in_order_after_the_macs() -> None:
    node = conv_node((1, 2, 4, 4), (3, 2, 1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 1,
                     (PostOp("add", tensor="b"), PostOp("clip", (0.0, 1.0)), PostOp("mul", tensor="m")))
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((1, 2, 4, 4)).astype(np.float32), rng.standard_normal((3, 2, 1, 1)).astype(np.float32)
    constants = {"b": np.full((1, 3, 1, 1), 0.5, np.float32), "m": np.float32(3.0)}
    want = np.clip(naive_conv2d(x, w, (1, 1), (1, 1), (0, 0, 0, 0), 1) + 0.5, 0, 1) * 3
    np.testing.assert_allclose(run_layer(node, x, w, constants), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("a_shape, b_shape, trans_a, trans_b, bounds, batch_on", [
    ((3, 4), (4, 5), False, False, {"N": 1, "G": 1, "K": 5, "C": 4, "P": 3}, "N"),
    ((4, 3), (5, 4), True, True, {"N": 1, "G": 1, "K": 5, "C": 4, "P": 3}, "N"),
    ((2, 3, 6, 4), (4, 5), False, False, {"N": 6, "G": 1, "K": 5, "C": 4, "P": 6}, "N"),
    ((6, 4), (2, 4, 5), False, False, {"N": 1, "G": 2, "K": 5, "C": 4, "P": 6}, "G"),
    ((3, 1, 6, 4), (2, 4, 5), False, False, {"N": 1, "G": 6, "K": 5, "C": 4, "P": 6}, "G"),
    ((4,), (2, 4, 5), False, False, {"N": 1, "G": 2, "K": 5, "C": 4, "P": 1}, "G"),
    ((2, 3, 4), (4,), False, False, {"N": 2, "G": 1, "K": 1, "C": 4, "P": 3}, "N"),
    ((4,), (4,), False, False, {"N": 1, "G": 1, "K": 1, "C": 4, "P": 1}, "N"),
])
def test_matmul_layout_bounds_and_values(a_shape, b_shape, trans_a, trans_b, bounds, batch_on) -> None:
    layout, got_bounds = matmul_layout(a_shape, b_shape, trans_a=trans_a, trans_b=trans_b)
    assert got_bounds == bounds and layout.batch_on == batch_on
    rng = np.random.default_rng(2)
    a = rng.standard_normal(a_shape).astype(np.float32)
    b = rng.standard_normal(b_shape).astype(np.float32)
    wl = make_workload(n=bounds["N"], g=bounds["G"], k=bounds["K"], c=bounds["C"], p=bounds["P"], kind="matmul")
    node = Node("mm", "MatMul", ("a", "b"), ("y",), {}, wl, layout)
    want = np.matmul(np.swapaxes(a, -1, -2) if trans_a else a, np.swapaxes(b, -1, -2) if trans_b else b)
    got = run_layer(node, a, b, {})
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_matmul_layout_refuses_mismatched_reduction() -> None:
    with pytest.raises(ValueError, match="reduction dims differ"):
        matmul_layout((3, 4), (5, 6))
