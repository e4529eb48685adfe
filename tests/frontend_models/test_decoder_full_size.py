"""A LLaMA decoder block at TinyLlama-1.1B's size (hidden 2048, 32 query heads sharing 4 K/V heads,
MLP 5632), written op by op as exporters spell it, with a symbolic sequence and cache length: it
lowers with --input-shape, matches onnxruntime, and maps every matmul.

Tolerance: float32 rtol 1e-4, atol 1e-4 against onnxruntime (block outputs of magnitude ~5, summed
over 2048-long reductions).
"""
from __future__ import annotations

import math

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from accelmap.frontend import load_model
from accelmap.frontend.coverage import coverage
from accelmap.ir import run_graph
from accelmap.zoo.builder import GraphBuilder

HIDDEN, HEADS, KV_HEADS, HEAD_DIM, FFN = 2048, 32, 4, 64, 5632
SEQ, PAST = 16, 48


def ints(*values: int) -> np.ndarray:
    """An int64 constant."""
    return np.array(values, np.int64)


def rms_norm(b: GraphBuilder, x: str, scope: str, opset: int) -> str:
    """x * 1 / sqrt(mean(x^2) + eps) * weight, as the TorchScript exporter writes it."""
    axes = {"axes": [-1]} if opset < 18 else {}
    axes_input = [b.constant("axes.last", ints(-1))] if opset >= 18 else []
    square = b.op("Pow", [x, b.constant("two", np.array(2.0, np.float32))], scope)
    mean = b.op("ReduceMean", [square, *axes_input], scope, **axes)
    root = b.op("Sqrt", [b.op("Add", [mean, b.constant("eps", np.array(1e-5, np.float32))], scope)], scope)
    normed = b.op("Mul", [x, b.op("Reciprocal", [root], scope)], scope)
    return b.op("Mul", [normed, b.random(f"{scope.strip('/')}.weight", (HIDDEN,), std=0.1, mean=1.0)], scope)


def heads(b: GraphBuilder, x: str, scope: str, width: int, count: int) -> str:
    """A bias-free projection split into heads: [1, seq, hidden] -> [1, count, seq, 64]."""
    y = b.op("MatMul", [x, b.random(f"{scope.strip('/')}.weight", (HIDDEN, width), std=1 / math.sqrt(HIDDEN))], scope)
    y = b.op("Reshape", [y, b.constant(f"shape.{count}", ints(1, -1, count, HEAD_DIM))], scope)
    return b.op("Transpose", [y], scope, perm=[0, 2, 1, 3])


def rotate(b: GraphBuilder, x: str, cos: str, sin: str, scope: str) -> str:
    """x * cos + rotate_half(x) * sin, rotate_half spelled as Slice / Neg / Concat."""
    half = HEAD_DIM // 2
    low = b.op("Slice", [x, b.constant("zero", ints(0)), b.constant("half", ints(half)), b.constant("axis3", ints(3))],
               scope)
    high = b.op("Slice", [x, "half", b.constant("full", ints(HEAD_DIM)), "axis3"], scope)
    rotated = b.op("Concat", [b.op("Neg", [high], scope), low], scope, axis=-1)
    return b.op("Add", [b.op("Mul", [x, cos], scope), b.op("Mul", [rotated, sin], scope)], scope)


def all_heads(b: GraphBuilder, kv: str, scope: str) -> str:
    """Grouped-query attention's repeat_kv: [1, 4, T, 64] -> [1, 32, T, 64] by Unsqueeze / Expand / Reshape."""
    y = b.op("Unsqueeze", [kv, b.constant("axis2", ints(2))], scope)
    y = b.op("Expand", [y, b.constant("repeat", ints(1, 1, HEADS // KV_HEADS, 1, 1))], scope)
    return b.op("Reshape", [y, b.constant("shape.all", ints(1, HEADS, -1, HEAD_DIM))], scope)


def causal_mask(b: GraphBuilder) -> str:
    """[seq, past + seq]: 0 where a token may attend, float32's lowest above diagonal past + 1; from shapes."""
    seq = b.op("Shape", ["position_ids"], "/mask", start=1)
    past = b.op("Shape", ["past_key"], "/mask", start=2, end=3)
    total = b.op("Add", [seq, past], "/mask")
    fill = b.op("ConstantOfShape", [b.op("Concat", [seq, total], "/mask", axis=0)], "/mask",
                value=helper.make_tensor("v", TensorProto.FLOAT, [1], [np.finfo(np.float32).min]))
    diagonal = b.op("Squeeze", [b.op("Add", [past, b.constant("one", ints(1))], "/mask"), "zero"], "/mask")
    return b.op("Trilu", [fill, diagonal], "/mask", upper=1)


def llama_block(opset: int) -> onnx.ModelProto:
    """One block: x [1, seq, 2048], position_ids, past K/V [1, 4, past, 64] -> y and the present K/V."""
    b = GraphBuilder("tinyllama_block", seed=3)
    h = rms_norm(b, "x", "/input_norm", opset)
    q, k, v = heads(b, h, "/q_proj", HIDDEN, HEADS), heads(b, h, "/k_proj", KV_HEADS * HEAD_DIM, KV_HEADS), \
        heads(b, h, "/v_proj", KV_HEADS * HEAD_DIM, KV_HEADS)
    inv_freq = b.constant("inv_freq", (1.0 / 10000 ** (np.arange(0, HEAD_DIM, 2) / HEAD_DIM)).astype(np.float32))
    positions = b.op("Cast", [b.op("Unsqueeze", ["position_ids", "axis2"], "/rotary")], "/rotary",
                     to=TensorProto.FLOAT)
    freqs = b.op("Mul", [positions, inv_freq], "/rotary")
    angles = b.op("Unsqueeze", [b.op("Concat", [freqs, freqs], "/rotary", axis=-1), b.constant("axis1", ints(1))],
                  "/rotary")
    cos, sin = b.op("Cos", [angles], "/rotary"), b.op("Sin", [angles], "/rotary")
    q, k = rotate(b, q, cos, sin, "/q_rotary"), rotate(b, k, cos, sin, "/k_rotary")
    present_key = b.op("Concat", ["past_key", k], "/cache", axis=2)
    present_value = b.op("Concat", ["past_value", v], "/cache", axis=2)
    scores = b.op("Einsum", [q, all_heads(b, present_key, "/repeat_k")], "/scores", equation="bhqd,bhkd->bhqk")
    scores = b.op("Div", [scores, b.constant("sqrt_d", np.array(math.sqrt(HEAD_DIM), np.float32))], "/scores")
    probs = b.op("Softmax", [b.op("Add", [scores, causal_mask(b)], "/scores")], "/probs", axis=-1)
    context = b.op("MatMul", [probs, all_heads(b, present_value, "/repeat_v")], "/context")
    context = b.op("Reshape", [b.op("Transpose", [context], "/context", perm=[0, 2, 1, 3]),
                               b.constant("shape.hidden", ints(1, -1, HIDDEN))], "/context")
    o = b.op("MatMul", [context, b.random("o_proj.weight", (HIDDEN, HIDDEN), std=1 / math.sqrt(HIDDEN))], "/o_proj")
    x = b.op("Add", ["x", o], "/residual")
    h = rms_norm(b, x, "/post_norm", opset)
    gate = b.op("MatMul", [h, b.random("gate_proj.weight", (HIDDEN, FFN), std=1 / math.sqrt(HIDDEN))], "/gate_proj")
    up = b.op("MatMul", [h, b.random("up_proj.weight", (HIDDEN, FFN), std=1 / math.sqrt(HIDDEN))], "/up_proj")
    silu = b.op("Mul", [gate, b.op("Sigmoid", [gate], "/act")], "/act")
    down = b.op("MatMul", [b.op("Mul", [silu, up], "/mlp"),
                           b.random("down_proj.weight", (FFN, HIDDEN), std=1 / math.sqrt(FFN))], "/down_proj")
    y = b.op("Add", [x, down], "/residual_2")
    value = helper.make_tensor_value_info
    graph = helper.make_graph(
        b.nodes, b.name,
        [value("x", TensorProto.FLOAT, [1, "seq", HIDDEN]), value("position_ids", TensorProto.INT64, [1, "seq"]),
         value("past_key", TensorProto.FLOAT, [1, KV_HEADS, "past", HEAD_DIM]),
         value("past_value", TensorProto.FLOAT, [1, KV_HEADS, "past", HEAD_DIM])],
        [value(y, TensorProto.FLOAT, None), value(present_key, TensorProto.FLOAT, None),
         value(present_value, TensorProto.FLOAT, None)], list(b.initializers.values()))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


@pytest.mark.slow
@pytest.mark.parametrize("opset", [17, 18])
def test_tinyllama_sized_block(opset: int) -> None:
    model = llama_block(opset)
    rng = np.random.default_rng(4)
    feeds = {"x": rng.standard_normal((1, SEQ, HIDDEN)).astype(np.float32),
             "position_ids": np.arange(PAST, PAST + SEQ, dtype=np.int64)[None],
             "past_key": rng.standard_normal((1, KV_HEADS, PAST, HEAD_DIM)).astype(np.float32),
             "past_value": rng.standard_normal((1, KV_HEADS, PAST, HEAD_DIM)).astype(np.float32)}
    graph = load_model(model, {name: value.shape for name, value in feeds.items()})
    got = run_graph(graph, feeds)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in model.graph.output]
    for name, want in zip(names, session.run(names, feeds)):
        np.testing.assert_allclose(got[name], want, rtol=1e-4, atol=1e-4, err_msg=name)

    layers = {n.name: n.workload.dims for n in graph.layers()}
    assert len(layers) == 9  # q, k, v, scores, context, o, gate, up, down
    total = PAST + SEQ
    assert {d: layers["/scores/Einsum"][d] for d in "GPCK"} == {"G": HEADS, "P": SEQ, "C": HEAD_DIM, "K": total}
    assert {d: layers["/context/MatMul"][d] for d in "GPCK"} == {"G": HEADS, "P": SEQ, "C": total, "K": HEAD_DIM}
    assert {d: layers["/gate_proj/MatMul"][d] for d in "NPCK"} == {"N": 1, "P": SEQ, "C": HIDDEN, "K": FFN}
    assert [p.kind for p in graph.node("/scores/Einsum").post_ops] == ["mul", "add"]
    macs = SEQ * HIDDEN * (2 * HIDDEN + 2 * KV_HEADS * HEAD_DIM + 3 * FFN) + 2 * HEADS * SEQ * total * HEAD_DIM
    assert coverage(graph).mapped_macs == graph.macs == macs and coverage(graph).mapped_share == 1.0
