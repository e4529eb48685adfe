"""BERT encoders as Hugging Face's exporter writes them: MatMul+Add linears, Erf GELU, LayerNormalization."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto

from accelmap.zoo.builder import GraphBuilder, tensor

EMBEDDING_STD = 0.02  # BERT's initializer_range; the embedding LayerNorm rescales it


@dataclass(frozen=True)
class BertConfig:
    """Sizes of one BERT encoder; `seq` is the static sequence length of `input_ids`."""

    name: str
    hidden: int
    heads: int
    ffn: int
    vocab: int
    layers: int
    seq: int
    max_positions: int = 512


def bert_base(seq: int = 128, layers: int = 12) -> onnx.ModelProto:
    """BERT-base (hidden 768, 12 heads, FFN 3072, vocabulary 30522) over `seq` tokens."""
    return bert(BertConfig("bert_base", hidden=768, heads=12, ffn=3072, vocab=30522, layers=layers, seq=seq))


def bert_tiny(seq: int = 16, layers: int = 2) -> onnx.ModelProto:
    """A tiny BERT for tests (hidden 64, 2 heads, FFN 256, vocabulary 1000)."""
    return bert(BertConfig("bert_tiny", hidden=64, heads=2, ffn=256, vocab=1000, layers=layers, seq=seq))


def bert(config: BertConfig) -> onnx.ModelProto:
    """Build the encoder: embeddings (word + position) and LayerNorm, then `layers` encoder layers."""
    if not 1 <= config.seq <= config.max_positions:
        raise ValueError(f"{config.name}: seq must be in 1..{config.max_positions}, got {config.seq}")
    if config.layers < 1:
        raise ValueError(f"{config.name}: layers must be at least 1, got {config.layers}")
    if config.hidden % config.heads:
        raise ValueError(f"{config.name}: hidden {config.hidden} is not divisible by {config.heads} heads")
    b = GraphBuilder(config.name)
    x = _embeddings(b, config)
    for layer in range(config.layers):
        x = _encoder_layer(b, x, f"/encoder/layer.{layer}", config)
    return b.model([tensor("input_ids", TensorProto.INT64, [1, config.seq])], x,
                   tensor("output", TensorProto.FLOAT, [1, config.seq, config.hidden]))


def _embeddings(b: GraphBuilder, config: BertConfig) -> str:
    """Word embeddings gathered by token id, plus position embeddings gathered for 0..seq-1, normalised."""
    words = b.random("embeddings.word_embeddings.weight", (config.vocab, config.hidden), std=EMBEDDING_STD)
    positions = b.random("embeddings.position_embeddings.weight", (config.max_positions, config.hidden),
                         std=EMBEDDING_STD)
    position_ids = b.constant("embeddings.position_ids", np.arange(config.seq, dtype=np.int64)[None, :])
    x = b.op("Gather", [words, "input_ids"], "/embeddings/word_embeddings", axis=0)
    p = b.op("Gather", [positions, position_ids], "/embeddings/position_embeddings", axis=0)
    x = b.op("Add", [x, p], "/embeddings")
    return b.layer_norm(x, "/embeddings/LayerNorm", config.hidden)


def _encoder_layer(b: GraphBuilder, x: str, scope: str, config: BertConfig) -> str:
    """Self-attention and feed-forward, each followed by a residual Add and LayerNorm (post-norm)."""
    attention = _self_attention(b, x, f"{scope}/attention/self", config)
    y = b.linear(attention, f"{scope}/attention/output/dense", config.hidden, config.hidden)
    y = b.op("Add", [y, x], f"{scope}/attention/output")
    x = b.layer_norm(y, f"{scope}/attention/output/LayerNorm", config.hidden)
    y = b.linear(x, f"{scope}/intermediate/dense", config.hidden, config.ffn)
    y = _gelu(b, y, f"{scope}/intermediate/intermediate_act_fn")
    y = b.linear(y, f"{scope}/output/dense", config.ffn, config.hidden)
    y = b.op("Add", [y, x], f"{scope}/output")
    return b.layer_norm(y, f"{scope}/output/LayerNorm", config.hidden)


def _self_attention(b: GraphBuilder, x: str, scope: str, config: BertConfig) -> str:
    """softmax(Q K^T / sqrt(d)) V over `heads` heads of size d; returns [1, seq, hidden]."""
    head_size = config.hidden // config.heads
    heads_shape = b.constant("attention.heads_shape",
                             np.array([1, config.seq, config.heads, head_size], dtype=np.int64))
    hidden_shape = b.constant("attention.hidden_shape",
                              np.array([1, config.seq, config.hidden], dtype=np.int64))
    scale = b.constant("attention.scale", np.array(math.sqrt(head_size), dtype=np.float32))

    def heads(name: str, perm: list[int]) -> str:
        """Project to Q, K or V and split into heads: [1, seq, hidden] -> permuted [1, seq, heads, d]."""
        y = b.linear(x, f"{scope}/{name}", config.hidden, config.hidden)
        y = b.op("Reshape", [y, heads_shape], f"{scope}/{name}")
        return b.op("Transpose", [y], f"{scope}/{name}", perm=perm)

    query = heads("query", [0, 2, 1, 3])  # [1, heads, seq, d]
    key = heads("key", [0, 2, 3, 1])      # [1, heads, d, seq]
    value = heads("value", [0, 2, 1, 3])  # [1, heads, seq, d]
    scores = b.op("MatMul", [query, key], f"{scope}/scores")
    scores = b.op("Div", [scores, scale], f"{scope}/scores")
    probs = b.op("Softmax", [scores], f"{scope}/probs", axis=-1)
    context = b.op("MatMul", [probs, value], f"{scope}/context")
    context = b.op("Transpose", [context], f"{scope}/context", perm=[0, 2, 1, 3])
    return b.op("Reshape", [context, hidden_shape], f"{scope}/context")


def _gelu(b: GraphBuilder, x: str, scope: str) -> str:
    """Exact GELU in the Erf form the exporters write: x * 0.5 * (1 + erf(x / sqrt(2)))."""
    sqrt2 = b.constant("gelu.sqrt2", np.array(math.sqrt(2.0), dtype=np.float32))
    one = b.constant("gelu.one", np.array(1.0, dtype=np.float32))
    half = b.constant("gelu.half", np.array(0.5, dtype=np.float32))
    y = b.op("Div", [x, sqrt2], scope)
    y = b.op("Erf", [y], scope)
    y = b.op("Add", [y, one], scope)
    y = b.op("Mul", [x, y], scope)
    return b.op("Mul", [y, half], scope)
