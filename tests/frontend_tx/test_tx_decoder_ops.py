"""The converters decoder-only exports need (Einsum, Trilu, CumSum, RMSNormalization, ConstantOfShape
with a run-time shape, Sin, Cos, Reciprocal, Abs, Log, And, Or, GreaterOrEqual, LessOrEqual), every
opset variant, against onnxruntime.

float32 tolerance rtol 1e-4, atol 1e-5 (tx_models.RTOL/ATOL); integer and bool outputs exact.
"""
from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

from accelmap.errors import ModelError, UnsupportedOp
from accelmap.frontend import load_model
from accelmap.frontend.coverage import coverage
from tx_models import check, host_ops, model, node, rand, value

X = rand(2, 3, 5, 6, seed=1)
POSITIVE = np.abs(X) + np.float32(0.1)
BOOL_A = rand(2, 3, 5, 6, seed=2) > 0
BOOL_B = rand(5, 1, seed=3) > 0  # broadcasts against BOOL_A


def bool_out(name: str = "y") -> object:
    """A bool graph output of inferred shape."""
    return value(name, np.bool_, None)


@pytest.mark.parametrize("op, x", [("Sin", X * 3), ("Cos", X * 3), ("Reciprocal", POSITIVE), ("Abs", X),
                                   ("Log", POSITIVE)])
@pytest.mark.parametrize("opset", [7, 13])
def test_unary(op: str, x: np.ndarray, opset: int) -> None:
    graph = check(model([node(op, ["x"])], {"x": x}, ["y"], opset), {"x": x})
    assert host_ops(graph) == [op]


@pytest.mark.parametrize("op, opsets", [("And", (7, 13)), ("Or", (7, 13))])
def test_logic(op: str, opsets: tuple[int, ...]) -> None:
    for opset in opsets:
        feeds = {"a": BOOL_A, "b": BOOL_B}
        assert host_ops(check(model([node(op, ["a", "b"])], feeds, [bool_out()], opset), feeds)) == [op]


@pytest.mark.parametrize("op", ["GreaterOrEqual", "LessOrEqual"])
@pytest.mark.parametrize("opset", [12, 16])
def test_ordered_comparison(op: str, opset: int) -> None:
    a = np.round(X * 2)  # ties, so the "or equal" matters
    b = np.round(rand(5, 1, seed=4) * 2)
    feeds = {"a": a, "b": b}
    assert host_ops(check(model([node(op, ["a", "b"])], feeds, [bool_out()], opset), feeds)) == [op]


@pytest.mark.parametrize("upper", [0, 1])
@pytest.mark.parametrize("k", [None, 0, 1, -2, 7])
@pytest.mark.parametrize("opset", [14, 18])
def test_trilu(upper: int, k: int | None, opset: int) -> None:
    inputs = ["x", "k"] if k is not None else ["x"]
    constants = {"k": np.array(k, np.int64)} if k is not None else {}
    graph = check(model([node("Trilu", inputs, upper=upper)], {"x": X}, ["y"], opset, constants), {"x": X})
    (tri,) = graph.host_ops()
    assert tri.attrs == {"upper": upper, "k": k or 0} and tri.inputs == ("x",)


def test_trilu_of_a_causal_mask_fill() -> None:
    """The causal mask exporters build at run time: triu of a large negative fill, diagonal 1."""
    fill = np.full((1, 1, 6, 6), np.finfo(np.float32).min, np.float32) * (rand(1, 1, 6, 6, seed=5) > -9)
    check(model([node("Trilu", ["x", "k"])], {"x": fill}, ["y"], 14, {"k": np.array(1, np.int64)}), {"x": fill})


@pytest.mark.parametrize("attrs", [{}, {"exclusive": 1}, {"reverse": 1}, {"exclusive": 1, "reverse": 1}])
@pytest.mark.parametrize("axis, opset", [(1, 11), (-1, 14), (np.int32(0), 14)])
def test_cumsum(attrs: dict, axis: int, opset: int) -> None:
    axis_value = np.array(axis, np.int32 if isinstance(axis, np.int32) else np.int64)
    graph = check(model([node("CumSum", ["x", "axis"], **attrs)], {"x": X}, ["y"], opset, {"axis": axis_value}),
                  {"x": X})
    assert graph.host_ops()[0].attrs["axis"] == int(axis) % 4


def test_cumsum_of_an_attention_mask_gives_position_ids() -> None:
    """position_ids = cumsum(attention_mask) - 1, in int64, as Hugging Face exports compute them."""
    mask = np.array([[0, 0, 1, 1, 1, 1]], np.int64)
    nodes = [node("CumSum", ["mask", "axis"], ["c"]), node("Sub", ["c", "one"])]
    check(model(nodes, {"mask": mask}, [value("y", np.int64, None)], 14,
                {"axis": np.array(1, np.int64), "one": np.array(1, np.int64)}), {"mask": mask})


@pytest.mark.parametrize("axis, epsilon", [(-1, None), (2, 1e-6), (1, 1e-3)])
@pytest.mark.parametrize("stash_type", [None, TensorProto.DOUBLE])
def test_rms_normalization(axis: int, epsilon: float | None, stash_type: int | None) -> None:
    attrs = {"axis": axis}
    attrs |= {"epsilon": epsilon} if epsilon is not None else {}
    attrs |= {"stash_type": stash_type} if stash_type is not None else {}
    x = rand(2, 5, 16, seed=6) * 3 + 0.5
    scale = rand(*x.shape[axis:], seed=7) + 1
    graph = check(model([node("RMSNormalization", ["x", "scale"], **attrs)], {"x": x}, ["y"], 23,
                        {"scale": scale}), {"x": x})
    (norm,) = graph.host_ops()
    assert norm.attrs["axis"] == axis % 3
    assert norm.attrs["stash_type"] == ("float64" if stash_type == TensorProto.DOUBLE else "float32")


def test_rms_norm_spelled_out_lowers_op_by_op() -> None:
    """x * 1/sqrt(mean(x^2) + eps) * w, as the TorchScript exporter writes LLaMA's RMSNorm."""
    x = rand(1, 5, 16, seed=8)
    constants = {"two": np.float32(2.0), "eps": np.float32(1e-6), "w": rand(16, seed=9) + 1}
    nodes = [node("Pow", ["x", "two"], ["sq"]), node("ReduceMean", ["sq"], ["ms"], axes=[-1]),
             node("Add", ["ms", "eps"], ["a"]), node("Sqrt", ["a"], ["s"]), node("Reciprocal", ["s"], ["r"]),
             node("Mul", ["x", "r"], ["n"]), node("Mul", ["n", "w"])]
    graph = check(model(nodes, {"x": x}, ["y"], 17, constants), {"x": x})
    assert host_ops(graph) == ["Pow", "ReduceMean", "Add", "Sqrt", "Reciprocal", "Mul", "Mul"]


@pytest.mark.parametrize("opset", [9, 21])  # ConstantOfShape's first and last versions
def test_constant_of_shape_with_a_run_time_shape_and_a_static_output(opset: int) -> None:
    """The shape is computed from data, but the file declares the output's shape: it is that constant."""
    shape = np.array([2, 3], np.int64)
    fill = helper.make_tensor("value", TensorProto.FLOAT, [1], [-3.5])
    nodes = [node("Abs", ["s"], ["shape"]), node("ConstantOfShape", ["shape"], ["c"], value=fill),
             node("Add", ["x", "c"])]
    x = rand(2, 3, seed=10)
    onnx_model = model(nodes, {"x": x, "s": shape}, ["y"], opset)
    onnx_model.graph.value_info.append(value("c", np.float32, (2, 3)))
    graph = check(onnx_model, {"x": x, "s": shape})
    assert host_ops(graph) == ["Abs", "Add"]


def test_constant_of_shape_with_a_run_time_shape_and_no_static_output_names_the_node() -> None:
    nodes = [node("Abs", ["s"], ["shape"]), node("ConstantOfShape", ["shape"], ["c"], name="fill")]
    onnx_model = model(nodes, {"s": np.array([2, 3], np.int64)}, ["c"], 20)
    with pytest.raises(UnsupportedOp, match=r"node 'fill': ConstantOfShape's shape \('shape'\) is computed at run "
                                            r"time"):
        load_model(onnx_model)


# --- Einsum ----------------------------------------------------------------

Q = rand(2, 4, 6, 8, seed=11)
K = rand(2, 4, 7, 8, seed=12)
H = rand(3, 6, 16, seed=13)

EINSUM_MATMULS = [
    # equation, operands, expected (G, N, P, C, K), trans_a, trans_b
    ("bhqd,bhkd->bhqk", (Q, K), (8, 1, 6, 8, 7), False, True),        # attention scores
    ("bhqk,bhkd->bhqd", (rand(2, 4, 6, 7, seed=14), K), (8, 1, 6, 7, 8), False, False),  # probs @ V
    ("bsd,od->bso", (H, rand(10, 16, seed=15)), (1, 3, 6, 16, 10), False, True),        # a linear layer
    ("ij,jk->ik", (rand(5, 6, seed=16), rand(6, 4, seed=17)), (1, 1, 5, 6, 4), False, False),
    ("ji,jk->ik", (rand(6, 5, seed=18), rand(6, 4, seed=19)), (1, 1, 5, 6, 4), True, False),
    ("bhqd,hkd->bhqk", (Q, rand(4, 7, 8, seed=20)), (8, 1, 6, 8, 7), False, True),      # broadcast batch
    ("ij , jk", (rand(4, 5, seed=21), rand(5, 2, seed=22)), (1, 1, 4, 5, 2), False, False),  # implicit output
    ("bij,bkj->bik", (rand(2, 3, 4, seed=32), rand(2, 5, 4, seed=33)), (2, 1, 3, 4, 5), False, True),
]


@pytest.mark.parametrize("equation, operands, dims, trans_a, trans_b", EINSUM_MATMULS,
                         ids=[e[0] for e in EINSUM_MATMULS])
@pytest.mark.parametrize("opset", [12, 18])
def test_einsum_that_is_a_matmul_is_a_mapped_layer(equation: str, operands: tuple[np.ndarray, ...],
                                                   dims: tuple[int, ...], trans_a: bool, trans_b: bool,
                                                   opset: int) -> None:
    feeds = {"a": operands[0], "b": operands[1]}
    graph = check(model([node("Einsum", ["a", "b"], equation=equation)], feeds, ["y"], opset), feeds)
    (layer,) = graph.nodes
    wl = layer.workload
    assert layer.is_mapped and wl.kind == "matmul" and wl.weights_from_activations
    assert (wl.dims["G"], wl.dims["N"], wl.dims["P"], wl.dims["C"], wl.dims["K"]) == dims
    assert (layer.layout.trans_a, layer.layout.trans_b) == (trans_a, trans_b)


def test_einsum_with_constant_weights_is_a_weight_layer() -> None:
    w = rand(10, 16, seed=23)
    graph = check(model([node("Einsum", ["x", "w"], equation="bsd,od->bso")], {"x": H}, ["y"], 12, {"w": w}),
                  {"x": H})
    assert not graph.layers()[0].workload.weights_from_activations


EINSUM_HOST = [
    ("ii->i", (rand(5, 5, seed=24),), 0),                                   # diagonal
    ("bij->bj", (rand(3, 4, 5, seed=25),), 0),                              # a sum
    ("ij->ji", (rand(4, 5, seed=26),), 0),                                  # a transpose
    ("ij,ij->ij", (rand(4, 5, seed=27), rand(4, 5, seed=28)), 20),          # element-wise product
    ("ij,jk,kl->il", (rand(3, 4, seed=29), rand(4, 5, seed=30), rand(5, 2, seed=31)), 120),  # three operands
    ("...ij,...jk->...ik", (rand(2, 3, 4, seed=34), rand(2, 4, 5, seed=35)), 120),  # ellipsis
    ("ij,kj->ikj", (rand(3, 4, seed=36), rand(5, 4, seed=37)), 60),          # outer product kept per j
    ("bij,bjk", (rand(3, 4, 5, seed=38), rand(3, 5, 2, seed=39)), 120),      # implicit output ik: b summed too
]


@pytest.mark.parametrize("equation, operands, macs", EINSUM_HOST, ids=[e[0] for e in EINSUM_HOST])
@pytest.mark.parametrize("opset", [12, 18])
def test_einsum_that_is_not_a_matmul_is_a_host_op(equation: str, operands: tuple[np.ndarray, ...], macs: int,
                                                  opset: int) -> None:
    names = [f"x{i}" for i in range(len(operands))]
    feeds = dict(zip(names, operands))
    graph = check(model([node("Einsum", names, equation=equation)], feeds, ["y"], opset), feeds)
    assert host_ops(graph) == ["Einsum"]
    assert coverage(graph).host_macs == macs


def test_einsum_with_more_operands_than_inputs_names_the_node() -> None:
    onnx_model = model([node("Einsum", ["a", "b"], equation="ij,jk,kl->il", name="contract")],
                       {"a": rand(2, 3), "b": rand(3, 4)}, ["y"], 12)
    with pytest.raises(ModelError, match="contract"):
        load_model(onnx_model)
