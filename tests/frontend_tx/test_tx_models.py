"""Whole blocks built in code and lowered end to end, against onnxruntime: a BERT-base encoder
layer (opset-17 LayerNormalization and the decomposed form), a ViT patch embedding plus one
encoder block, and a TensorFlow-style NHWC conv block.

float32 tolerance rtol 1e-4, atol 1e-5 (tx_models.RTOL/ATOL) throughout; the
BERT layer's largest difference is about 3e-6 on outputs of magnitude ~4.
"""
from __future__ import annotations

import math

import numpy as np
import onnx
import pytest
from onnx import TensorProto

from accelmap.ir import Graph, Workload, make_workload
from accelmap.zoo.builder import GraphBuilder, tensor
from tx_models import check, rand

BERT_HIDDEN, BERT_HEADS, BERT_FFN, BERT_SEQ = 768, 12, 3072, 32


def layer_norm(b: GraphBuilder, x: str, scope: str, size: int, decomposed: bool, opset: int) -> str:
    """LayerNormalization over the last axis: the opset-17 op, or ReduceMean/Sub/Pow/.../Add spelled out."""
    scale = b.random(f"{scope}.weight", (size,), std=0.1, mean=1.0)
    bias = b.random(f"{scope}.bias", (size,), std=0.1)
    if not decomposed:
        return b.op("LayerNormalization", [x, scale, bias], scope, axis=-1, epsilon=1e-12)
    axes = {"axes": [-1]} if opset < 18 else {}
    axes_input = [b.constant("ln.axes", np.array([-1], np.int64))] if opset >= 18 else []
    mean = b.op("ReduceMean", [x, *axes_input], scope, **axes)
    centred = b.op("Sub", [x, mean], scope)
    square = b.op("Pow", [centred, b.constant("ln.two", np.array(2.0, np.float32))], scope)
    variance = b.op("ReduceMean", [square, *axes_input], scope, **axes)
    std = b.op("Sqrt", [b.op("Add", [variance, b.constant("ln.eps", np.array(1e-12, np.float32))], scope)], scope)
    y = b.op("Div", [centred, std], scope)
    return b.op("Add", [b.op("Mul", [y, scale], scope), bias], scope)


def erf_gelu(b: GraphBuilder, x: str, scope: str) -> str:
    """GELU in the Erf form: x * 0.5 * (1 + erf(x / sqrt(2)))."""
    y = b.op("Div", [x, b.constant("gelu.sqrt2", np.array(math.sqrt(2.0), np.float32))], scope)
    y = b.op("Add", [b.op("Erf", [y], scope), b.constant("gelu.one", np.array(1.0, np.float32))], scope)
    return b.op("Mul", [b.op("Mul", [x, y], scope), b.constant("gelu.half", np.array(0.5, np.float32))], scope)


def attention(b: GraphBuilder, x: str, scope: str, hidden: int, heads: int, seq: int, mask: str | None) -> str:
    """Multi-head self-attention as Hugging Face exports it: [1, seq, hidden] -> [1, seq, hidden]."""
    d = hidden // heads
    heads_shape = b.constant(f"{scope}.heads_shape", np.array([1, seq, heads, d], np.int64))

    def project(name: str, perm: list[int]) -> str:
        """Q, K or V: a linear layer, split into heads and permuted."""
        y = b.linear(x, f"{scope}/{name}", hidden, hidden)
        return b.op("Transpose", [b.op("Reshape", [y, heads_shape], f"{scope}/{name}")], f"{scope}/{name}",
                    perm=perm)

    q, k, v = project("query", [0, 2, 1, 3]), project("key", [0, 2, 3, 1]), project("value", [0, 2, 1, 3])
    scores = b.op("MatMul", [q, k], f"{scope}/scores")
    scale = b.constant(f"{scope}.scale", np.array(math.sqrt(d), np.float32))
    scores = b.op("Div", [scores, scale], f"{scope}/scores")
    if mask is not None:
        scores = b.op("Add", [scores, mask], f"{scope}/scores")
    probs = b.op("Softmax", [scores], f"{scope}/probs", axis=-1)
    context = b.op("Transpose", [b.op("MatMul", [probs, v], f"{scope}/context")], f"{scope}/context",
                   perm=[0, 2, 1, 3])
    context = b.op("Reshape", [context, b.constant(f"{scope}.hidden_shape", np.array([1, seq, hidden], np.int64))],
                   f"{scope}/context")
    return b.linear(context, f"{scope}/output", hidden, hidden)


def extended_mask(b: GraphBuilder, mask: str) -> str:
    """BERT's additive attention mask (opset 13+): (1 - float(mask[:, None, None, :])) * -10000."""
    m = b.op("Unsqueeze", [mask, b.constant("mask.axes", np.array([1, 2], np.int64))], "/mask")
    m = b.op("Cast", [m], "/mask", to=TensorProto.FLOAT)
    m = b.op("Sub", [b.constant("mask.one", np.array(1.0, np.float32)), m], "/mask")
    return b.op("Mul", [m, b.constant("mask.neg", np.array(-10000.0, np.float32))], "/mask")


def bert_layer(decomposed_norm: bool, opset: int) -> onnx.ModelProto:
    """One BERT-base encoder layer (post-norm) over [1, 32, 768] with an attention mask."""
    b = GraphBuilder("bert_layer", seed=1)
    mask = extended_mask(b, "mask")
    y = attention(b, "x", "/attention", BERT_HIDDEN, BERT_HEADS, BERT_SEQ, mask)
    h = layer_norm(b, b.op("Add", [y, "x"], "/attention/residual"), "/attention/norm", BERT_HIDDEN,
                   decomposed_norm, opset)
    y = b.linear(h, "/intermediate", BERT_HIDDEN, BERT_FFN)
    y = b.linear(erf_gelu(b, y, "/intermediate/gelu"), "/output", BERT_FFN, BERT_HIDDEN)
    out = layer_norm(b, b.op("Add", [y, h], "/output/residual"), "/output/norm", BERT_HIDDEN, decomposed_norm, opset)
    return with_opset(b.model([tensor("x", TensorProto.FLOAT, [1, BERT_SEQ, BERT_HIDDEN]),
                               tensor("mask", TensorProto.INT64, [1, BERT_SEQ])], out,
                              tensor("y", TensorProto.FLOAT, [1, BERT_SEQ, BERT_HIDDEN])), opset)


def with_opset(model: onnx.ModelProto, opset: int) -> onnx.ModelProto:
    """Stamp a builder model with another default-domain opset (and the IR version it needs)."""
    del model.opset_import[:]
    model.opset_import.append(onnx.helper.make_opsetid("", opset))
    model.ir_version = max(onnx.helper.find_min_ir_version_for(list(model.opset_import)), 4)
    return model


def workload(graph: Graph, name: str) -> Workload:
    """The workload of the mapped layer called `name`."""
    return graph.node(name).workload


@pytest.mark.parametrize("decomposed_norm, opset", [(False, 17), (True, 13), (True, 18)],
                         ids=["layernorm-op", "decomposed-opset13", "decomposed-opset18"])
def test_bert_base_encoder_layer(decomposed_norm: bool, opset: int) -> None:
    mask = np.ones((1, BERT_SEQ), dtype=np.int64)
    mask[0, 27:] = 0  # padded tail
    feeds = {"x": rand(1, BERT_SEQ, BERT_HIDDEN, seed=2), "mask": mask}
    graph = check(bert_layer(decomposed_norm, opset), feeds)

    attention_matmuls = [n.name for n in graph.layers() if n.workload.weights_from_activations]
    assert attention_matmuls == ["/attention/scores/MatMul", "/attention/context/MatMul"]
    seq, d = BERT_SEQ, BERT_HIDDEN // BERT_HEADS
    # QK^T: per head (G=12) [seq, 64] x [64, seq]: P=seq, C=64, K=seq, both operands computed.
    assert workload(graph, "/attention/scores/MatMul") == make_workload(
        g=BERT_HEADS, p=seq, c=d, k=seq, kind="matmul", weights_from_activations=True)
    # AV: per head [seq, seq] x [seq, 64]: P=seq, C=seq, K=64.
    assert workload(graph, "/attention/context/MatMul") == make_workload(
        g=BERT_HEADS, p=seq, c=seq, k=d, kind="matmul", weights_from_activations=True)
    for name in ("query", "key", "value", "output"):
        assert workload(graph, f"/attention/{name}/MatMul") == make_workload(
            p=seq, c=BERT_HIDDEN, k=BERT_HIDDEN, kind="matmul")
    assert workload(graph, "/intermediate/MatMul") == make_workload(p=seq, c=BERT_HIDDEN, k=BERT_FFN, kind="matmul")
    assert workload(graph, "/output/MatMul") == make_workload(p=seq, c=BERT_FFN, k=BERT_HIDDEN, kind="matmul")
    assert len(graph.layers()) == 8
    assert all(p.kind == "add" for n in graph.layers() if not n.workload.weights_from_activations
               for p in n.post_ops)  # each projection's bias is fused
    norms = [n.op for n in graph.host_ops() if n.op in ("LayerNormalization", "ReduceMean")]
    assert norms == (["ReduceMean"] * 4 if decomposed_norm else ["LayerNormalization"] * 2)


VIT_HIDDEN, VIT_HEADS, VIT_IMAGE, VIT_PATCH = 192, 3, 64, 16


def vit_block() -> onnx.ModelProto:
    """Patch embedding (Conv 16x16 stride 16 -> tokens, class token, position embedding) + one
    pre-norm encoder block with the Gelu op (opset 20)."""
    b = GraphBuilder("vit", seed=3)
    tokens = (VIT_IMAGE // VIT_PATCH) ** 2
    weight = b.random("patch.weight", (VIT_HIDDEN, 3, VIT_PATCH, VIT_PATCH), std=0.02)
    x = b.op("Conv", ["image", weight, b.random("patch.bias", (VIT_HIDDEN,), std=0.02)], "/patch",
             kernel_shape=[VIT_PATCH, VIT_PATCH], strides=[VIT_PATCH, VIT_PATCH])
    x = b.op("Reshape", [x, b.constant("patch.shape", np.array([1, VIT_HIDDEN, tokens], np.int64))], "/patch")
    x = b.op("Transpose", [x], "/patch", perm=[0, 2, 1])
    x = b.op("Concat", [b.random("cls_token", (1, 1, VIT_HIDDEN), std=0.02), x], "/embed", axis=1)
    x = b.op("Add", [x, b.random("pos_embed", (1, tokens + 1, VIT_HIDDEN), std=0.02)], "/embed")
    y = attention(b, layer_norm(b, x, "/norm1", VIT_HIDDEN, False, 20), "/attn", VIT_HIDDEN, VIT_HEADS,
                  tokens + 1, None)
    x = b.op("Add", [x, y], "/attn/residual")
    y = b.linear(layer_norm(b, x, "/norm2", VIT_HIDDEN, False, 20), "/mlp/fc1", VIT_HIDDEN, 4 * VIT_HIDDEN)
    y = b.linear(b.op("Gelu", [y], "/mlp"), "/mlp/fc2", 4 * VIT_HIDDEN, VIT_HIDDEN)
    out = b.op("Add", [x, y], "/mlp/residual")
    return with_opset(b.model([tensor("image", TensorProto.FLOAT, [1, 3, VIT_IMAGE, VIT_IMAGE])], out,
                              tensor("y", TensorProto.FLOAT, [1, tokens + 1, VIT_HIDDEN])), 20)


def test_vit_patch_embedding_and_encoder_block() -> None:
    graph = check(vit_block(), {"image": rand(1, 3, VIT_IMAGE, VIT_IMAGE, seed=4)})
    (patch,) = [n for n in graph.layers() if n.op == "Conv"]
    assert patch.workload == make_workload(n=1, k=VIT_HIDDEN, c=3, p=4, q=4, r=16, s=16, stride=(16, 16))
    tokens = (VIT_IMAGE // VIT_PATCH) ** 2 + 1
    assert workload(graph, "/attn/scores/MatMul") == make_workload(
        g=VIT_HEADS, p=tokens, c=VIT_HIDDEN // VIT_HEADS, k=tokens, kind="matmul", weights_from_activations=True)
    assert {"Concat", "Transpose", "LayerNormalization", "Softmax"} <= {n.op for n in graph.host_ops()}
    assert [str(p) for p in graph.node("/mlp/fc1/MatMul").post_ops][-1] == "gelu"  # Gelu fused into fc1


def conv_block(nhwc: bool) -> onnx.ModelProto:
    """Conv 3x3 (16 -> 32, pad 1) + Relu + Conv 1x1 (32 -> 8), with tf2onnx's NHWC<->NCHW Transposes if `nhwc`."""
    b = GraphBuilder("conv_block", seed=5)
    x = b.op("Transpose", ["x"], "/to_nchw", perm=[0, 3, 1, 2]) if nhwc else "x"
    x = b.op("Relu", [b.conv(x, "/conv1", 16, 32, 3, bias=True)], "/conv1")
    x = b.conv(x, "/conv2", 32, 8, 1, bias=True)
    if nhwc:
        x = b.op("Transpose", [x], "/to_nhwc", perm=[0, 2, 3, 1])
    in_shape, out_shape = ([1, 10, 12, 16], [1, 10, 12, 8]) if nhwc else ([1, 16, 10, 12], [1, 8, 10, 12])
    return with_opset(b.model([tensor("x", TensorProto.FLOAT, in_shape)], x,
                              tensor("y", TensorProto.FLOAT, out_shape)), 13)


def test_tf_style_nhwc_conv_block() -> None:
    nhwc = check(conv_block(nhwc=True), {"x": rand(1, 10, 12, 16, seed=6)})
    nchw = check(conv_block(nhwc=False), {"x": rand(1, 16, 10, 12, seed=6)})
    assert [n.op for n in nhwc.nodes] == ["Transpose", "Conv", "Conv", "Transpose"]
    assert [n.op for n in nhwc.host_ops()] == ["Transpose", "Transpose"]
    assert [n.workload for n in nhwc.layers()] == [n.workload for n in nchw.layers()]
    assert nhwc.layers()[0].workload == make_workload(n=1, k=32, c=16, p=10, q=12, r=3, s=3)
    assert [str(p) for p in nhwc.layers()[0].post_ops][-1] == "relu"
