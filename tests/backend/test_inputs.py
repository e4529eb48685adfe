"""`validate`'s inputs: given arrays checked at the door (name, shape, dtype kind, range, indices), never cast
silently; an OUTDIR compiled with --input-shape is compared with onnxruntime at that shape."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from accelmap.arch.load import load_arch
from accelmap.backend import LayerStatus, build_schedule, emit, validate
from accelmap.cli import main
from accelmap.errors import ScheduleError
from accelmap.frontend import load_model
from .conftest import random_mappings


def _save(nodes, inputs, outputs, weights: dict[str, np.ndarray], path: Path) -> Path:
    graph = helper.make_graph(nodes, path.stem, inputs, outputs,
                              [numpy_helper.from_array(value, name) for name, value in weights.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))
    return path


def _outdir(model: Path, out: Path, shapes: dict | None = None) -> Path:
    """`model` scheduled on edge_npu with random valid mappings, written to `out`."""
    graph = load_model(model, shapes)
    mappings = random_mappings(graph, "edge_npu")
    schedule = build_schedule(graph, load_arch("edge_npu"), mappings, {n: LayerStatus("RANDOM") for n in mappings},
                              model_path=model)
    return emit(schedule, out)


@pytest.fixture(scope="module")
def token_outdir(tmp_path_factory) -> Path:
    """ids int64 [1,4] -> Gather from a 10-row table -> MatMul [4,3]."""
    root = tmp_path_factory.mktemp("tokens")
    rng = np.random.default_rng(1)
    model = _save([helper.make_node("Gather", ["table", "ids"], ["e"], name="embed"),
                   helper.make_node("MatMul", ["e", "w"], ["y"], name="proj")],
                  [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 4])],
                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 3])],
                  {"table": rng.standard_normal((10, 4)).astype(np.float32),
                   "w": rng.standard_normal((4, 3)).astype(np.float32)}, root / "tokens.onnx")
    return _outdir(model, root / "out")


BAD_IMAGE_INPUTS = {
    "wrong shape": ({"x": np.zeros((1, 3, 32, 32), np.float32)}, r"'x' has shape 1x3x32x32; OUTDIR was compiled for 1x3x9x9"),
    "batch 2": ({"x": np.zeros((2, 3, 9, 9), np.float32)}, "has shape 2x3x9x9"),
    "rank 3": ({"x": np.zeros((3, 9, 9), np.float32)}, "has shape 3x9x9"),
    "scalar": ({"x": np.float32(1.0)}, "'x' is a scalar"),
    "strings": ({"x": np.full((1, 3, 9, 9), "a")}, r"'x' is <U1; the model expects float32 \(floats\)"),
    "complex": ({"x": np.ones((1, 3, 9, 9), complex)}, "is complex128; the model expects float32"),
    "booleans": ({"x": np.ones((1, 3, 9, 9), bool)}, "is bool; the model expects float32"),
    "integers": ({"x": np.ones((1, 3, 9, 9), np.int64)}, "is int64; the model expects float32"),
    "NaN": ({"x": np.full((1, 3, 9, 9), np.nan, np.float32)}, "holds NaN or infinity"),
    "misnamed": ({"input": np.zeros((1, 3, 9, 9), np.float32)}, r"lacks the model's input\(s\) 'x'; holds 'input'"),
    "extra": ({"x": np.zeros((1, 3, 9, 9), np.float32), "y": np.zeros(2)}, "holds 'y', not an input of the model"),
}


@pytest.mark.parametrize("case", sorted(BAD_IMAGE_INPUTS))
def test_bad_inputs_are_refused_naming_the_array(cnn_outdir, tmp_path, case):
    arrays, message = BAD_IMAGE_INPUTS[case]
    np.savez(tmp_path / "in.npz", **arrays)
    with pytest.raises(ScheduleError, match=message):
        validate(cnn_outdir, tmp_path / "in.npz")


def test_files_that_are_not_npz_are_refused(cnn_outdir, tmp_path, capsys):
    np.save(tmp_path / "one.npy", np.zeros((1, 3, 9, 9), np.float32))
    np.savez(tmp_path / "good.npz", x=np.zeros((1, 3, 9, 9), np.float32))
    whole = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(whole[: len(whole) // 2])
    for name, said in (("one.npy", "holds a single array, not named inputs"),
                       ("cut.npz", "not a readable .npz file of inputs"),
                       ("none.npz", "not a readable .npz file of inputs")):
        assert main(["validate", str(cnn_outdir), "--input", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert said in err and name in err and err.count("\n") == 1, err


def test_a_wider_float_is_narrowed_like_onnxruntime_needs(cnn_outdir, tmp_path):
    np.savez(tmp_path / "in.npz", x=np.random.default_rng(0).standard_normal((1, 3, 9, 9)))
    assert validate(cnn_outdir, tmp_path / "in.npz").passed


@pytest.mark.parametrize("ids, message", [
    (np.full((1, 4), 10), r"holds index 10; it indexes a table of 10 rows \(valid: -10 to 9\)"),
    (np.full((1, 4), -11), "holds index -11"),
    (np.full((1, 4), 1.5), r"is float64; the model expects int64 \(integers\)"),
    (np.full((1, 4), 1.0), "is float64; the model expects int64"),
    (np.full((1, 4), 2**63 + 5, np.uint64), "holds 9223372036854775813, outside int64"),
    (np.ones((1, 4), bool), "is bool; the model expects int64"),
])
def test_token_ids_must_be_integers_inside_the_table(token_outdir, tmp_path, ids, message):
    np.savez(tmp_path / "ids.npz", ids=ids)
    with pytest.raises(ScheduleError, match=message):
        validate(token_outdir, tmp_path / "ids.npz")


def test_good_token_ids_pass_negative_ones_included(token_outdir, tmp_path):
    np.savez(tmp_path / "ids.npz", ids=np.array([[0, 9, -1, 3]], np.int32))
    assert validate(token_outdir, tmp_path / "ids.npz").passed
    assert validate(token_outdir).passed  # random ids are drawn inside the table


def test_an_outdir_compiled_with_input_shape_validates_at_that_shape(tmp_path):
    rng = np.random.default_rng(2)
    model = _save([helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
                   helper.make_node("GlobalAveragePool", ["c"], ["g"], name="gap"),
                   helper.make_node("Flatten", ["g"], ["f"], name="flat"),
                   helper.make_node("Gemm", ["f", "fc"], ["y"], name="fc", transB=1)],
                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 6, 6])],
                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])],
                  {"w": rng.standard_normal((3, 2, 3, 3)).astype(np.float32),
                   "fc": rng.standard_normal((5, 3)).astype(np.float32)}, tmp_path / "gap.onnx")
    out = _outdir(model, tmp_path / "out", {"x": (1, 2, 3, 5)})
    verdict = validate(out)
    assert verdict.passed and verdict.outputs[0].shape == (1, 5)
    np.savez(tmp_path / "in.npz", x=np.ones((1, 2, 6, 6), np.float32))  # the model's own shape, not the compiled one
    with pytest.raises(ScheduleError, match="has shape 1x2x6x6; OUTDIR was compiled for 1x2x3x5"):
        validate(out, tmp_path / "in.npz")
