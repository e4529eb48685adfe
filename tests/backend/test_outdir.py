"""OUTDIR writing is atomic; a corrupted OUTDIR is rejected naming the layer and the fault."""
from __future__ import annotations

import importlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from accelmap.backend import LayerStatus, emit, load_schedule, validate
from accelmap.backend.outdir.schedule import Schedule
from accelmap.errors import OutputError, ScheduleError

EMIT_MODULE = importlib.import_module("accelmap.backend.outdir.emit")


def copy(outdir: Path, tmp_path: Path) -> Path:
    """A private copy of the pristine OUTDIR."""
    return Path(shutil.copytree(outdir, tmp_path / "out"))


def edit_json(outdir: Path, change) -> None:
    """Apply `change` to schedule.json in place."""
    path = outdir / "schedule.json"
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def layer_entry(doc: dict, name: str) -> dict:
    return next(entry for entry in doc["layers"] if entry["name"] == name)


# -- a valid OUTDIR ---------------------------------------------------------------------------------

def test_outdir_layout(cnn_outdir: Path):
    doc = json.loads((cnn_outdir / "schedule.json").read_text())
    names = sorted(p.name for p in (cnn_outdir / "layers").iterdir())
    assert names == sorted(f"{stem}.{suffix}" for stem in ("000_stem_conv", "001_block_conv", "002_head_fc")
                           for suffix in ("program.json", "loopnest.txt", "timeloop.arch.yaml",
                                          "timeloop.ert.yaml", "timeloop.mapping.yaml", "timeloop.problem.yaml"))
    assert sorted(p.name for p in cnn_outdir.iterdir()) == ["layers", "report.html", "schedule.json", "summary.md",
                                                             "weights.npz"]
    assert [e["files"]["program"] for e in doc["layers"]] == [
        "layers/000_stem_conv.program.json", "layers/001_block_conv.program.json",
        "layers/002_head_fc.program.json"]
    assert doc["model"]["name"] == "small_cnn.onnx" and len(doc["model"]["sha256"]) == 64
    assert {e["status"] for e in doc["layers"]} == {"RANDOM"}
    assert [n["kind"] for n in doc["graph"]["nodes"]] == ["layer", "host", "layer", "host", "layer"]


def test_validate_against_onnxruntime(cnn_outdir: Path):
    result = validate(cnn_outdir, seed=3)
    assert result.passed, result
    (check,) = result.outputs
    assert check.name == "y" and check.shape == (1, 5) and check.rel_error < 1e-5


def test_validate_reads_inputs_from_npz(cnn_outdir: Path, tmp_path: Path):
    x = np.random.default_rng(1).standard_normal((1, 3, 9, 9)).astype(np.float32)
    np.savez(tmp_path / "in.npz", x=x)
    by_file = validate(cnn_outdir, tmp_path / "in.npz")
    assert by_file.passed
    assert by_file.outputs == validate(cnn_outdir, {"x": x}).outputs


def test_validate_refuses_a_changed_model(cnn_outdir: Path, tmp_path: Path):
    out = copy(cnn_outdir, tmp_path)
    other = tmp_path / "other.onnx"
    other.write_bytes(b"not the model")
    edit_json(out, lambda doc: doc["model"].update(path=str(other)))
    with pytest.raises(ScheduleError, match="has changed since it was compiled"):
        validate(out)


# -- corrupted OUTDIRs ------------------------------------------------------------------------------

def test_rejects_a_tile_that_overflows_its_buffer(cnn_outdir: Path, tmp_path: Path):
    out = copy(cnn_outdir, tmp_path)

    def overflow(doc):
        entry = layer_entry(doc, "block/conv")
        sram = next(b for b in entry["buffers"] if b["level"] == "SRAM" or b["level"] == "RF")
        sram["tile_shape"] = [64] + sram["tile_shape"][1:]
    edit_json(out, overflow)
    with pytest.raises(ScheduleError, match=r"layer 'block/conv': buffer plan: tile of \w at (SRAM|RF)/\w+ is "):
        load_schedule(out)


def test_rejects_a_mapping_whose_tiles_overflow(cnn_outdir: Path, tmp_path: Path):
    out = copy(cnn_outdir, tmp_path)

    def everything_in_rf(doc):
        mapping = layer_entry(doc, "stem/conv")["mapping"]
        loops = [loop for level in mapping["temporal"] for loop in level]
        loops += [loop for fan in mapping["spatial"] for axis in ("x", "y") for loop in fan[axis]]
        merged: dict[str, int] = {}
        for dim, factor in loops:
            merged[dim] = merged.get(dim, 1) * factor
        mapping["temporal"] = [[], [], [[d, f] for d, f in merged.items()]]
        mapping["spatial"] = [{"x": [], "y": []}]
        mapping["keep"] = [["I", "O", "W"], [], ["I", "O", "W"]]
    edit_json(out, everything_in_rf)
    with pytest.raises(ScheduleError, match=r"layer 'stem/conv': mapping: level RF: tensor .* needs \d+ bits"):
        load_schedule(out)


def test_rejects_factors_that_do_not_cover_a_dim(cnn_outdir: Path, tmp_path: Path):
    out = copy(cnn_outdir, tmp_path)
    edit_json(out, lambda doc: layer_entry(doc, "head/fc")["mapping"]["temporal"][0].append(["K", 2]))
    with pytest.raises(ScheduleError, match=r"layer 'head/fc': mapping: factors of K multiply to 10, the bound is 5"):
        load_schedule(out)


def test_rejects_a_missing_layer(cnn_outdir: Path, tmp_path: Path):
    out = copy(cnn_outdir, tmp_path)
    edit_json(out, lambda doc: doc["layers"].pop(1))
    with pytest.raises(ScheduleError, match=r"layer 'block/conv' is a mapped layer of the graph but has no "
                                            r"schedule \(missing layer\)"):
        load_schedule(out)


def test_rejects_a_missing_loop_program(cnn_outdir: Path, tmp_path: Path):
    out = copy(cnn_outdir, tmp_path)
    (out / "layers" / "001_block_conv.program.json").unlink()
    with pytest.raises(ScheduleError, match=r"layer 'block/conv': loop program file "
                                            r"layers/001_block_conv.program.json is missing"):
        load_schedule(out)


def test_rejects_a_wrong_format_version(cnn_outdir: Path, tmp_path: Path):
    out = copy(cnn_outdir, tmp_path)
    edit_json(out, lambda doc: doc.update(format_version=1))
    with pytest.raises(ScheduleError, match="format version 1 is not supported .* reads version 2"):
        load_schedule(out)


def test_rejects_a_schema_violation_naming_the_layer(cnn_outdir: Path, tmp_path: Path):
    out = copy(cnn_outdir, tmp_path)
    edit_json(out, lambda doc: layer_entry(doc, "block/conv")["buffers"][0].update(word_bits="eight"))
    with pytest.raises(ScheduleError, match=r"layer 'block/conv': layers\[1\]\.buffers\[0\]\.word_bits: "
                                            r"'eight' is not of type 'integer'"):
        load_schedule(out)


def test_rejects_weights_that_do_not_match(cnn_outdir: Path, tmp_path: Path):
    out = copy(cnn_outdir, tmp_path)
    with np.load(out / "weights.npz") as npz:
        arrays = {key: npz[key] for key in npz.files}
    key = next(k for k in arrays if k.endswith("w2"))
    arrays[key] = arrays[key] + 1
    np.savez(out / "weights.npz", **arrays)
    with pytest.raises(ScheduleError, match=r"tensor 'w2' \(read by 'block/conv'\) in weights.npz does not match "
                                            r"schedule.json \(sha256 differs\)"):
        load_schedule(out)


# -- atomic emit -------------------------------------------------------------------------------------

def leftovers(parent: Path, name: str) -> list[str]:
    """Entries beside OUTDIR that emit may have left behind (staging or moved-aside directories)."""
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{name}."))


def test_existing_outdir_kept_without_force(cnn_schedule: Schedule, tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    with pytest.raises(OutputError, match=r"already exists; pass --force \(force=True\)"):
        emit(cnn_schedule, out)
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    assert leftovers(tmp_path, "out") == []


def test_force_replaces_an_existing_outdir(cnn_schedule: Schedule, tmp_path: Path):
    out = tmp_path / "out"
    emit(cnn_schedule, out)
    (out / "mine.txt").write_text("old")
    emit(cnn_schedule, out, force=True)
    assert sorted(p.name for p in out.iterdir()) == ["layers", "report.html", "schedule.json", "summary.md",
                                                     "weights.npz"]
    assert leftovers(tmp_path, "out") == []
    load_schedule(out)


def test_failure_while_writing_leaves_nothing(cnn_schedule: Schedule, tmp_path: Path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(EMIT_MODULE, "write_program", broken)
    with pytest.raises(OutputError, match="cannot write .*out: disk full; nothing was written at"):
        emit(cnn_schedule, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_failure_with_force_keeps_the_old_outdir(cnn_schedule: Schedule, tmp_path: Path, monkeypatch):
    out = tmp_path / "out"
    emit(cnn_schedule, out)
    (out / "mine.txt").write_text("old")
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(EMIT_MODULE, "write_program", interrupted)
    with pytest.raises(KeyboardInterrupt):
        emit(cnn_schedule, out, force=True)
    assert "mine.txt" in [p.name for p in out.iterdir()]
    assert leftovers(tmp_path, "out") == []


def test_invalid_schedule_rejected_before_touching_disk(cnn_schedule: Schedule, tmp_path: Path):
    first = cnn_schedule.layers[0]
    bad = Schedule(cnn_schedule.arch, cnn_schedule.graph,
                   (type(first)(first.name, first.workload, first.mapping, first.buffers, first.cost,
                                LayerStatus("", None), first.files),) + cnn_schedule.layers[1:])
    with pytest.raises(ScheduleError, match=r"layer 'stem/conv': layers\[0\]\.status: '' should be non-empty"):
        emit(bad, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []
