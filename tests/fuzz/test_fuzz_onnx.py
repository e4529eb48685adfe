"""Broken ONNX files through `accelmap inspect`: byte-level corruption (seeded) and a catalogue of
structural faults; each ends in success or one clean error (exit 2)."""
from __future__ import annotations

import os
import random
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from .helpers import assert_clean, run, small_cnn

BYTE_CASES = 120


def _corrupt(data: bytes, rng: random.Random) -> bytes:
    """Flipped bytes, a cut, inserted junk or a zeroed run: what a bad download or disk does to a file."""
    data = bytearray(data)
    kind = rng.choice(["flip", "cut", "insert", "zero"])
    at = rng.randrange(len(data))
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif kind == "cut":
        del data[at:]
    elif kind == "insert":
        data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 6)))
    else:
        data[at:at + rng.randint(1, 16)] = bytes(16)
    return bytes(data)


def test_corrupted_bytes(tmp_path, capsys):
    rng = random.Random(20)
    pristine = small_cnn().SerializeToString()
    outcomes = {0: 0, 2: 0}
    for _ in range(BYTE_CASES):
        path = tmp_path / "model.onnx"
        path.write_bytes(_corrupt(pristine, rng))
        code, err = run(["inspect", str(path)], capsys)
        assert_clean(code, err)
        outcomes[code] += 1
    assert outcomes[2] > BYTE_CASES // 4  # most corruptions are noticed, not silently accepted


def _edit(change):
    def build() -> onnx.ModelProto:
        model = small_cnn()
        change(model)
        return model
    return build


def _node(model: onnx.ModelProto, name: str) -> onnx.NodeProto:
    return next(n for n in model.graph.node if n.name == name)


STRUCTURAL = {
    "unknown op": _edit(lambda m: setattr(_node(m, "relu"), "op_type", "Frobnicate")),
    "quantised op": _edit(lambda m: setattr(_node(m, "relu"), "op_type", "DequantizeLinear")),
    "attribute of the wrong type": _edit(lambda m: _node(m, "pool").attribute[0].CopyFrom(
        helper.make_attribute("kernel_shape", "2x2"))),
    "kernel bigger than the input": _edit(lambda m: _node(m, "pool").attribute[0].CopyFrom(
        helper.make_attribute("kernel_shape", [20, 20]))),
    "missing initializer": _edit(lambda m: m.graph.initializer.pop()),
    "initializer of the wrong size": _edit(lambda m: setattr(m.graph.initializer[1], "raw_data", b"\x00" * 3)),
    "negative input dim": _edit(lambda m: m.graph.input[0].type.tensor_type.shape.dim[2].__setattr__(
        "dim_value", -8)),
    "dynamic input without override": _edit(lambda m: m.graph.input[0].type.tensor_type.shape.dim[0].__setattr__(
        "dim_param", "batch")),
    "duplicate node names": _edit(lambda m: setattr(_node(m, "relu"), "name", "conv")),
    "output never produced": _edit(lambda m: setattr(m.graph.output[0], "name", "nowhere")),
    "a cycle": _edit(lambda m: _node(m, "conv").input.__setitem__(0, "f")),
    "opset 1": _edit(lambda m: m.opset_import[0].__setattr__("version", 1)),
    "no nodes": _edit(lambda m: m.graph.ClearField("node")),
    "gemm of mismatched sizes": _edit(lambda m: m.graph.initializer[2].dims.__setitem__(1, 63)),
    "input of type string": _edit(lambda m: m.graph.input[0].type.tensor_type.__setattr__("elem_type",
                                                                                           TensorProto.STRING)),
}


@pytest.mark.parametrize("fault", sorted(STRUCTURAL))
def test_structural_faults(tmp_path, capsys, fault):
    path = tmp_path / "model.onnx"
    onnx.save(STRUCTURAL[fault](), str(path))
    code, err = run(["inspect", str(path)], capsys)
    assert_clean(code, err, allowed=(2,))


@pytest.mark.parametrize("kind", ["empty file", "text", "directory", "missing", "not utf-8 name", "spaces and ü"])
def test_files_that_are_not_models(tmp_path, capsys, kind):
    path = tmp_path / "model.onnx"
    expected = (2,)
    if kind == "empty file":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("ir_version: 8\ngraph { }\n")
    elif kind == "directory":
        path.mkdir()
    elif kind == "not utf-8 name":
        path = Path(os.fsdecode(bytes(tmp_path) + b"/\xff\xfe.onnx"))
        onnx.save(small_cnn(), str(path))
        expected = (0,)  # inspect reads it; compile refuses it (OUTDIR records the name), see test_fuzz_args
    elif kind == "spaces and ü":
        path = tmp_path / "my models ü" / "net v2.onnx"
        path.parent.mkdir()
        onnx.save(small_cnn(), str(path))
        expected = (0,)
    code, err = run(["inspect", str(path)], capsys)
    assert_clean(code, err, allowed=expected)
