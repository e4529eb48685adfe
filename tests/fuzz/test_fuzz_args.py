"""Hostile arguments: `compile` with seeded random mixes of good and bad option values, where the oracle is
exact (a mix with a bad value is refused with exit 2 before any work starts, naming the option; a mix of good
values reaches the solver), and a catalogue for `validate`, `explain` and the paths a user mixes up."""
from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from accelmap import api
from accelmap.errors import AccelmapError
from .helpers import assert_clean, run

MIX_CASES = 200


class Reached(AccelmapError):
    """Raised instead of solving: the arguments got past every check."""


def _options(tmp_path: Path, model: str):
    """Per option, (good values, bad values); a value is a list of arguments, or a function of the mix."""
    (tmp_path / "afile").write_text("not a directory")
    (tmp_path / "userdata").mkdir(exist_ok=True)
    (tmp_path / "userdata" / "thesis.txt").write_text("keep")
    return {
        "model": ([[model]], [[os.fsdecode(os.fsencode(str(tmp_path)) + b"/\xff.onnx")]]),
        "--arch": ([["--arch", "edge_npu"]], [["--arch", os.fsdecode(b"\xfe.yaml")]]),
        "--time-limit": ([[], ["--time-limit", "5"], ["--time-limit", "0.5"]],
                         [["--time-limit", v] for v in ("0", "-1", "nan", "inf", "1e-9", "1e9", "abc")]),
        "--jobs": ([[], ["--jobs", "1"], ["--jobs", "2"]], [["--jobs", v] for v in ("0", "-1", "1000", "x", "1.5")]),
        "--input-shape": ([[], ["--input-shape", "x=1x8"]],
                          [["--input-shape", v] for v in ("x=0x8", "x=99999999999999999999x8", "x=1xa", "=1x8",
                                                          "x=-1x8")]),
        "--objective": ([[], ["--objective", "edp"]], [["--objective", "speed"]]),
        "-o": ([["-o", str(tmp_path / "fresh out ü")]],
               [["-o", str(tmp_path / "afile")], ["-o", str(tmp_path / "afile" / "out")],
                ["-o", str(tmp_path / "userdata"), "--force"]]),
        "--cache-dir": ([[], ["--cache-dir", str(tmp_path / "cache")], ["--no-cache"],
                         ["--cache-dir", str(tmp_path / "afile"), "--no-cache"]],
                        [["--cache-dir", str(tmp_path / "afile")], ["--cache-dir", str(tmp_path / "afile" / "c")]]),
        "--input": ([[], ["--validate", "--input", model]], [["--input", model], ["--validate", "--input", "no.npz"]]),
    }


def test_random_mixes_are_refused_before_any_work_or_reach_the_solver(tmp_path, capsys, monkeypatch, matmul_onnx):
    def reached(*args, **kwargs):
        raise Reached("reached the solver")

    monkeypatch.setattr(api, "compile_model", reached)
    options = _options(tmp_path, matmul_onnx)
    rng = random.Random(11)
    refused = 0
    for _ in range(MIX_CASES):
        bad = {name for name in options if rng.random() < 0.12}
        argv = ["compile", "--quiet"]
        for name, (good, wrong) in options.items():
            argv += rng.choice(wrong if name in bad else good)
        code, err = run(argv, capsys)
        assert_clean(code, err, allowed=(2,))
        if bad:
            assert "reached the solver" not in err, (argv, err)
            refused += 1
        else:
            assert err == "error: reached the solver\n", (argv, err)
        assert (tmp_path / "userdata" / "thesis.txt").exists() and not (tmp_path / "fresh out ü").exists()
    assert refused > MIX_CASES // 4


def test_a_good_mix_with_unicode_and_spaces_compiles_and_validates(tmp_path, capsys, matmul_onnx):
    out = tmp_path / "my outputs ü" / "fc v1"
    code, err = run(["compile", matmul_onnx, "--arch", "edge_npu", "-o", str(out), "--cache-dir",
                     str(tmp_path / "a cache ü"), "--time-limit", "5", "--jobs", "1", "--validate", "--quiet"], capsys)
    assert_clean(code, err, allowed=(0,))
    assert (out / "schedule.json").is_file()
    for argv in (["validate", str(out), "--quiet"], ["explain", str(out)], ["explain", str(out), "--layer", "fc"]):
        assert_clean(*run(argv, capsys), allowed=(0,))


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """(OUTDIR, model file) of the matmul model, compiled once."""
    from accelmap.cli import main
    from conftest import matmul_model

    root = tmp_path_factory.mktemp("compiled")
    model = matmul_model(root)
    assert main(["compile", model, "--arch", "edge_npu", "-o", str(root / "out"), "--no-cache", "--quiet"]) == 0
    return root / "out", model


@pytest.mark.parametrize("argv, said", [
    (["validate", "{outdir}", "--seed", "-1"], "--seed -1"),
    (["validate", "{file}"], "no schedule.json"),
    (["validate", "{missing}"], "no schedule.json"),
    (["validate", "{outdir}", "--model", "{file}"], "onnxruntime cannot run it"),
    (["validate", "{outdir}", "--model", "{missing}"], "no such model file"),
    (["validate", "{outdir}", "--input", "{outdir}"], "not a readable .npz file"),
    (["validate", "{outdir}", "--deep", "--layer", "nope"], "no mapped layer"),
    (["explain", "{outdir}", "--layer", "nope"], "no mapped layer"),
    (["explain", "{file}"], "no schedule.json"),
    (["inspect", "{outdir}"], "no such file"),
    (["compile", "{model}", "--arch", "{outdir}", "-o", "{missing}", "--quiet"], "give a YAML file or a preset name"),
    (["arch", "show", "{file}"], ""),
    (["zoo", "nonet", "-o", "{missing}"], "unknown network 'nonet'"),
    (["validate"], "the following arguments are required: outdir"),
    (["compile", "{model}"], "the following arguments are required: --arch"),
])
def test_catalogue_of_mixed_up_paths_and_values(compiled, tmp_path, capsys, argv, said):
    outdir, matmul_onnx = compiled
    (tmp_path / "afile").write_text("data")
    names = {"outdir": str(outdir), "file": str(tmp_path / "afile"), "missing": str(tmp_path / "missing"),
             "model": matmul_onnx}
    code, err = run([arg.format(**names) for arg in argv], capsys)
    assert_clean(code, err, allowed=(2,))
    assert said in err, err
