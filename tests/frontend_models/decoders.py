"""The torch-exported decoder fixtures (fixtures/export_decoders.py): where they are, which exports
exist, and the inputs a prefill or a KV-cache decode step feeds them."""
from __future__ import annotations

from pathlib import Path

import numpy as np

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXPORTS = (("torchscript", 14), ("torchscript", 17), ("dynamo", 18), ("dynamo", 23))
NAMES = ("gpt2", "llama")
VOCAB, HEADS, KV_HEADS, HEAD_DIM = 32, 4, 2, 4  # as in export_decoders.py
PREFILL, DECODE = (6, 5), (1, 11)  # (new tokens, cached tokens)


def fixture(name: str, exporter: str, opset: int) -> Path:
    """One exported model file."""
    return FIXTURES / f"{name}_{exporter}_opset{opset}.onnx"


def decoder_feeds(name: str, seq: int, past: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Token ids; for GPT-2 an attention mask with the last token padded; for LLaMA positions after
    the cache and a random K/V cache."""
    rng = np.random.default_rng(seed)
    feeds = {"input_ids": rng.integers(0, VOCAB, (1, seq)).astype(np.int64)}
    if name == "gpt2":
        mask = np.ones((1, seq), np.int64)
        mask[0, -1] = 0 if seq > 1 else 1
        feeds["attention_mask"] = mask
    else:
        feeds["position_ids"] = np.arange(past, past + seq, dtype=np.int64)[None]
        for cache in ("past_key", "past_value"):
            feeds[cache] = rng.standard_normal((1, KV_HEADS, past, HEAD_DIM)).astype(np.float32)
    return feeds


def shapes_of(feeds: dict[str, np.ndarray]) -> dict[str, tuple[int, ...]]:
    """--input-shape overrides for the feeds."""
    return {name: value.shape for name, value in feeds.items()}
