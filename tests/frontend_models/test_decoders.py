"""Decoder-only transformers as torch.onnx exports them: the fixtures (fixtures/export_decoders.py,
a GPT-2-like and a LLaMA-like block, TorchScript exporter at opsets 14 and 17, dynamo exporter at
18 and 23) lower, match onnxruntime, map their matmuls (attention batched over heads), and compile
to OUTDIRs that validate.

Tolerance: float32 rtol 1e-4, atol 1e-5 against onnxruntime (outputs are logits of magnitude ~2 and
K/V caches); `accelmap validate`'s: 1e-4 relative to each output's norm.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from accelmap.cli import main
from accelmap.errors import ShapeError
from accelmap.frontend import load_model
from accelmap.frontend.coverage import coverage
from accelmap.ir import Graph, run_graph

from .decoders import DECODE, EXPORTS, FIXTURES, HEAD_DIM, HEADS, NAMES, PREFILL, decoder_feeds, fixture, shapes_of


def check_against_onnxruntime(path: Path, feeds: dict[str, np.ndarray]) -> Graph:
    """Lower with the feeds' shapes, run the interpreter and onnxruntime, assert every output agrees."""
    graph = load_model(path, shapes_of(feeds))
    got = run_graph(graph, feeds)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    for name, want in zip(names, session.run(names, feeds)):
        assert got[name].shape == want.shape and got[name].dtype == want.dtype, name
        np.testing.assert_allclose(got[name], want, rtol=1e-4, atol=1e-5, err_msg=name)
    return graph


def attention_layers(graph: Graph) -> list[tuple[int, int, int, int]]:
    """(G, P, C, K) of each mapped layer whose second operand is computed (scores, then context)."""
    return [(wl.dims["G"], wl.dims["P"], wl.dims["C"], wl.dims["K"])
            for wl in (n.workload for n in graph.layers()) if wl.weights_from_activations]


@pytest.mark.parametrize("seq, past", [PREFILL, DECODE], ids=["prefill", "decode"])
@pytest.mark.parametrize("exporter, opset", EXPORTS)
def test_gpt2_block(exporter: str, opset: int, seq: int, past: int) -> None:
    del past  # GPT-2's fixture has no cache: the decode case is one token
    graph = check_against_onnxruntime(fixture("gpt2", exporter, opset), decoder_feeds("gpt2", seq, 0))
    # QKV, output projection, MLP up and down, LM head, and two attention matmuls batched over the heads
    assert len(graph.layers()) == 7
    assert attention_layers(graph) == [(HEADS, seq, HEAD_DIM, seq), (HEADS, seq, seq, HEAD_DIM)]
    scores = next(n for n in graph.layers() if n.workload.weights_from_activations)
    assert [p.kind for p in scores.post_ops] == ["mul"]  # / sqrt(d); the mask depends on the padding input
    lowered = coverage(graph)
    assert lowered.mapped_share == 1.0
    assert {"Where", "Equal", "Softmax"} <= set(lowered.host_ops)  # the padding mask joins the causal one
    norms = "LayerNormalization" if opset >= 17 else "ReduceMean"
    assert lowered.host_ops[norms] == (3 if opset >= 17 else 6)


@pytest.mark.parametrize("seq, past", [PREFILL, DECODE], ids=["prefill", "decode"])
@pytest.mark.parametrize("exporter, opset", EXPORTS)
def test_llama_block(exporter: str, opset: int, seq: int, past: int) -> None:
    graph = check_against_onnxruntime(fixture("llama", exporter, opset), decoder_feeds("llama", seq, past))
    # q, k, v, o, gate, up, down, LM head, and two attention matmuls over all query heads: the two K/V
    # heads are expanded to four before them (grouped-query attention), over the cache and the new tokens
    assert len(graph.layers()) == 10
    total = past + seq
    assert attention_layers(graph) == [(HEADS, seq, HEAD_DIM, total), (HEADS, seq, total, HEAD_DIM)]
    scores, context = [n for n in graph.layers() if n.workload.weights_from_activations]
    assert (scores.op, context.op) == ("Einsum", "MatMul")
    assert [p.kind for p in scores.post_ops] == ["mul", "add"]  # / sqrt(d), then the causal mask (folded)
    lowered = coverage(graph)
    assert lowered.mapped_share == 1.0
    assert {"Sin", "Cos", "Neg", "Slice", "Concat", "Expand", "Sigmoid"} <= set(lowered.host_ops)
    if opset >= 23:
        assert lowered.host_ops["RMSNormalization"] == 3
    else:
        assert lowered.host_ops["Pow"] == lowered.host_ops["ReduceMean"] == lowered.host_ops["Sqrt"] == 3


def test_cache_without_input_shapes_names_the_symbolic_input_and_the_option() -> None:
    path = fixture("llama", "torchscript", 14)
    with pytest.raises(ShapeError, match=r"inputs 'past_key' \[1x2xpastx4\], 'past_value' \[1x2xpastx4\] have "
                                         r"dynamic shapes; give them with --input-shape past_key=1x2xN1x4 "
                                         r"--input-shape past_value=1x2xN1x4 \(N1: your size for 'past'\)"):
        load_model(path, {"input_ids": (1, 6), "position_ids": (1, 6)})


def test_fixtures_are_small_and_from_both_exporters() -> None:
    files = sorted(FIXTURES.glob("*.onnx"))
    assert len(files) == 8 and sum(f.stat().st_size for f in files) < 400_000
    producers = {onnx.load(str(f), load_external_data=False).producer_name for f in files}
    assert producers == {"pytorch"}
    assert {onnx.load(str(f)).opset_import[0].version for f in files} == {14, 17, 18, 23}


def compile_and_validate(path: Path, feeds: dict[str, np.ndarray], preset: str, tmp_path: Path,
                         capsys: pytest.CaptureFixture) -> dict:
    """`accelmap compile` with --input-shape, then `accelmap validate --input`; returns the verdict."""
    inputs = tmp_path / "inputs.npz"
    np.savez(inputs, **feeds)
    shapes = [arg for name, value in feeds.items()
              for arg in ("--input-shape", f"{name}={'x'.join(map(str, value.shape))}")]
    out = tmp_path / "out"
    assert main(["compile", str(path), "--arch", preset, "--time-limit", "2", "--jobs", "2", "--quiet",
                 "--cache-dir", str(tmp_path / "cache"), "-o", str(out), *shapes]) == 0
    capsys.readouterr()
    code = main(["validate", str(out), "--input", str(inputs), "--json"])
    verdict = json.loads(capsys.readouterr().out)
    assert code == 0, verdict
    return verdict


CASES = [(name, exporter, opset) for name in NAMES for exporter, opset in EXPORTS]
QUICK = {("gpt2", "torchscript", 14), ("llama", "dynamo", 23)}


@pytest.mark.parametrize("name, exporter, opset",
                         [pytest.param(*case, marks=() if case in QUICK else pytest.mark.slow) for case in CASES])
def test_compiled_decoder_validates_on_gemmini(name: str, exporter: str, opset: int, tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    feeds = decoder_feeds(name, *PREFILL, seed=1)
    verdict = compile_and_validate(fixture(name, exporter, opset), feeds, "gemmini", tmp_path, capsys)
    names = ["logits"] if name == "gpt2" else ["logits", "present_key", "present_value"]
    assert [check["name"] for check in verdict["outputs"]] == names
    assert all(check["rel_error"] <= 1e-4 for check in verdict["outputs"])


@pytest.mark.slow
@pytest.mark.parametrize("name, exporter, opset", CASES)
def test_compiled_decoder_validates_on_simba_while_decoding(name: str, exporter: str, opset: int, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    verdict = compile_and_validate(fixture(name, exporter, opset), decoder_feeds(name, *DECODE, seed=2), "simba",
                                   tmp_path, capsys)
    assert all(check["rel_error"] <= 1e-4 for check in verdict["outputs"])
