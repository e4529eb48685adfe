"""`accelmap compile / validate / explain` end to end, and every exit code they can give."""
from __future__ import annotations

import json
import os

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from accelmap import api
from accelmap.cli import main
from accelmap.mapper import network


def _tiny_model(path) -> str:
    """Conv 3x3 (4->8) + Relu + GlobalAveragePool + Flatten + Gemm (8->5): small enough to prove optimal."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.standard_normal((8, 4, 3, 3)).astype(np.float32), "w"),
             numpy_helper.from_array(rng.standard_normal((5, 8)).astype(np.float32), "fc_w"),
             numpy_helper.from_array(rng.standard_normal(5).astype(np.float32), "fc_b")]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("GlobalAveragePool", ["r"], ["g"], name="gap"),
             helper.make_node("Flatten", ["g"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["y"], name="fc", transB=1)]
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 6, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return str(path)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    root = tmp_path_factory.mktemp("compile")
    model = _tiny_model(root / "tiny.onnx")
    out = root / "out"
    code = main(["compile", model, "--arch", "edge_npu", "-o", str(out), "--time-limit", "20", "--jobs", "1",
                 "--cache-dir", str(root / "cache"), "--validate", "--quiet"])
    return code, model, out, root


def test_compile_writes_outdir_and_validates(compiled):
    code, _, out, _ = compiled
    assert code == 0
    for name in ("schedule.json", "weights.npz", "summary.md", "report.html"):
        assert (out / name).exists(), name
    doc = json.loads((out / "schedule.json").read_text())
    assert {layer["name"] for layer in doc["layers"]} == {"conv", "fc"}


def test_compiled_layers_report_honest_status(compiled):
    _, _, out, _ = compiled
    schedule = api.load_compiled(out)
    for plan in schedule.layers:
        assert plan.status.status in ("OPTIMAL", "FEASIBLE")
        assert (plan.status.gap == 0) == (plan.status.status == "OPTIMAL")
        assert 0 <= plan.status.gap < 1


def test_validate_and_explain_commands(compiled, capsys):
    _, _, out, _ = compiled
    assert main(["validate", str(out), "--json"]) == 0
    verdict = json.loads(capsys.readouterr().out)
    assert all(check["passed"] for check in verdict["outputs"])
    assert main(["validate", str(out), "--deep"]) == 0
    assert "PASS" in capsys.readouterr().out
    assert main(["explain", str(out), "--layer", "conv"]) == 0
    text = capsys.readouterr().out
    assert "loop nest" in text and "energy by level" in text
    assert main(["explain", str(out), "--layer", "nope"]) == 2


def test_existing_outdir_needs_force(compiled, capsys):
    _, model, out, root = compiled
    code = main(["compile", model, "--arch", "edge_npu", "-o", str(out), "--cache-dir", str(root / "cache")])
    assert code == 2 and "--force" in capsys.readouterr().err


def test_recompile_hits_cache(compiled, capsys):
    _, model, out, root = compiled
    code = main(["compile", model, "--arch", "edge_npu", "-o", str(root / "again"), "--json", "--time-limit", "20",
                 "--cache-dir", str(root / "cache")])
    doc = json.loads(capsys.readouterr().out)
    proved = sum(plan.status.status == "OPTIMAL" for plan in api.load_compiled(out).layers)
    assert code == 0 and doc["unique_workloads"] == 2
    assert doc["cache_hits"] == proved  # only OPTIMAL results are cached
    again = {plan.name: plan for plan in api.load_compiled(root / "again").layers}
    plans = api.load_compiled(out).layers
    assert any(plan.status.canonical for plan in plans)
    for plan in plans:
        if plan.status.canonical:          # a proved, tie-broken layer: every compile returns its mapping
            assert plan.status.status == "OPTIMAL"
            assert again[plan.name].mapping == plan.mapping and again[plan.name].status.canonical


def test_progress_to_a_log_is_one_line_per_unique_layer(compiled, capsys):
    """stderr is not a terminal under capsys, as in a CI log or `2>&1 | tee`: no redrawn bar, a line per layer."""
    _, model, _, root = compiled
    code = main(["compile", model, "--arch", "edge_npu", "-o", str(root / "logged"), "--time-limit", "20",
                 "--cache-dir", str(root / "cache")])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("[")]
    assert code == 0 and "\r" not in err
    assert [line.split()[0] for line in lines] == ["[1/2]", "[2/2]"]
    assert {line.split()[3] for line in lines} == {"conv", "fc"}


def test_unknown_arch_is_bad_input(compiled, capsys):
    _, model, _, root = compiled
    code = main(["compile", model, "--arch", "no_such_arch", "-o", str(root / "x")])
    err = capsys.readouterr().err
    assert code == 2 and "eyeriss" in err and "Traceback" not in err
    assert not (root / "x").exists()


TINY_RF = """
levels:
  - {name: DRAM, word-bits: 8, read_energy: 100, write_energy: 100}
  - {name: RF, word-bits: 8, depth: 2, width: 8, read_energy: 1, write_energy: 1, tensors: [W, I, O]}
compute: {mac_energy: 0.3}
constraints:
  - {level: RF, keep: [W, I, O], factors: {C: 0, R: 0, S: 0}}
"""
C_FIXED_TO_3 = """
levels:
  - {name: DRAM, word-bits: 8, read_energy: 100, write_energy: 100}
  - {name: SRAM, word-bits: 8, depth: 4096, width: 8, read_energy: 3, write_energy: 3}
compute: {mac_energy: 0.3}
constraints:
  - {level: SRAM, factors: {C: 3}}
"""


@pytest.mark.parametrize("arch_text, said", [
    (TINY_RF, ["RF"]),                                          # no tile fits the RF
    (C_FIXED_TO_3, ["layer conv:", "3 at level SRAM", "C = 4"]),  # a fixed factor no factorisation of C meets
    (C_FIXED_TO_3.replace("{C: 3}}", "{C: 1}}\n  - {level: DRAM, factors: {C: 1}}"),
     ["layer conv:", "C's factor to 1 at every level"]),       # no slot left for C
])
def test_an_infeasible_layer_exits_3_saying_where(compiled, tmp_path, capsys, arch_text, said):
    _, model, _, _ = compiled
    arch = tmp_path / "arch.yaml"
    arch.write_text(arch_text)
    code = main(["compile", model, "--arch", str(arch), "-o", str(tmp_path / "out"), "--no-cache", "--jobs", "1"])
    err = capsys.readouterr().err
    assert code == 3, err
    assert all(text in err for text in said) and "Traceback" not in err, err
    assert not (tmp_path / "out").exists()


def test_interrupted_compile_leaves_nothing(compiled, tmp_path, monkeypatch, capsys):
    _, model, _, _ = compiled

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "compile_model", interrupt)
    code = main(["compile", model, "--arch", "edge_npu", "-o", str(tmp_path / "out")])
    assert code == 130 and not (tmp_path / "out").exists()
    assert "interrupted" in capsys.readouterr().err


def test_require_optimal_fails_when_a_layer_is_not_proved(compiled, tmp_path, capsys):
    _, model, _, _ = compiled
    code = main(["compile", model, "--arch", "eyeriss", "-o", str(tmp_path / "out"), "--time-limit", "0.05",
                 "--no-cache", "--require-optimal", "--quiet"])
    err = capsys.readouterr().err
    schedule = api.load_compiled(tmp_path / "out")
    if all(plan.status.status == "OPTIMAL" for plan in schedule.layers):
        assert code == 0
    else:
        assert code == 1 and "--require-optimal" in err


def test_unproved_layers_are_counted_with_what_to_do(compiled, tmp_path, capsys):
    _, model, _, _ = compiled
    code = main(["compile", model, "--arch", "eyeriss", "-o", str(tmp_path / "out"), "--time-limit", "0.05",
                 "--no-cache"])
    out = capsys.readouterr().out
    schedule = api.load_compiled(tmp_path / "out")
    unproved = sum(plan.status.status != "OPTIMAL" for plan in schedule.layers)
    assert code == 0
    if unproved:
        assert f"{unproved} mapped layer(s) not proved optimal at 0.05 s" in out and "--time-limit" in out
    else:
        assert "not proved optimal" not in out


def test_validation_mismatch_exits_1(compiled, tmp_path, capsys):
    _, _, out, _ = compiled
    wrong = tmp_path / "other.onnx"
    _tiny_model(wrong)
    model = onnx.load(str(wrong))
    model.graph.initializer[0].raw_data = bytes(len(model.graph.initializer[0].raw_data))  # zero the conv weights
    onnx.save(model, str(wrong))
    code = main(["validate", str(out), "--model", str(wrong)])
    assert code == 1 and "FAIL" in capsys.readouterr().out


def test_internal_error_exits_4(compiled, tmp_path, monkeypatch, capsys):
    _, model, _, _ = compiled

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(api, "compile_model", broken)
    code = main(["compile", model, "--arch", "edge_npu", "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 4 and "internal error" in err and "please report" in err and "Traceback" not in err


def _abort(*_args) -> None:
    os.abort()


def test_a_layer_whose_solver_dies_is_mapped_with_a_warning(compiled, tmp_path, monkeypatch, capsys):
    """The conv's solver process aborts: the compile goes on, warns once naming the layer, writes and validates."""
    _, model, _, _ = compiled
    solve_one = network._solve_one
    monkeypatch.setattr(network, "_solve_one",
                        lambda wl, *rest: _abort() if rest[4] == "conv" else solve_one(wl, *rest))
    code = main(["compile", model, "--arch", "edge_npu", "-o", str(tmp_path / "out"), "--time-limit", "1",
                 "--no-cache", "--validate"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    warnings = [line for line in captured.err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and warnings[0].startswith(
        "warning: layer conv: mapped without CP-SAT, whose process ended without an answer: killed by signal 6 "
        "(SIGABRT)")
    assert "PASS" in captured.out and "Traceback" not in captured.err


def test_a_layer_whose_search_dies_twice_exits_4_saying_what_to_try(compiled, tmp_path, monkeypatch, capsys):
    _, model, _, _ = compiled
    monkeypatch.setattr(network, "_solve_one", _abort)
    monkeypatch.setattr(network, "_search_one", _abort)
    code = main(["compile", model, "--arch", "edge_npu", "-o", str(tmp_path / "out"), "--no-cache"])
    err = capsys.readouterr().err
    assert code == 4 and not (tmp_path / "out").exists()
    assert err.startswith("error: layer ") and "then its search without CP-SAT, ended without an answer: killed by " \
        "signal 6 (SIGABRT)" in err and "--jobs 1" in err and "Traceback" not in err
