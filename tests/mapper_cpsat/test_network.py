"""Whole-graph mapping: identical layers solved once, the on-disk cache, determinism, padding."""
from __future__ import annotations

import os

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from accelmap.frontend import load_model
from accelmap.mapper import network
from accelmap.mapper.model import evaluate, score
from accelmap.mapper.network import SolveSettings, map_graph
from accelmap.mapper.validity import check_mapping
from accelmap.mapper.workers import WorkerDied
from .archs import small_arch

SETTINGS = SolveSettings("energy", time_limit=20.0, allow_padding=False)


def _repeated_blocks(blocks: int = 3) -> onnx.ModelProto:
    """`blocks` identical 1x1 convs (4 -> 4 channels, 3x3 map) in a row, plus one different one."""
    rng = np.random.default_rng(0)
    nodes, inits, x = [], [], "x"
    for i in range(blocks):
        inits.append(numpy_helper.from_array(rng.standard_normal((4, 4, 1, 1)).astype(np.float32), f"w{i}"))
        nodes.append(helper.make_node("Conv", [x, f"w{i}"], [f"y{i}"], name=f"block{i}"))
        x = f"y{i}"
    inits.append(numpy_helper.from_array(rng.standard_normal((2, 4, 1, 1)).astype(np.float32), "wl"))
    nodes.append(helper.make_node("Conv", [x, "wl"], ["out"], name="last"))
    graph = helper.make_graph(nodes, "blocks", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 3, 3])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 2, 3, 3])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


def _solves(progress: list) -> int:
    """How many unique workloads were solved (not taken from the cache) according to the progress reports."""
    return sum(not p.cached for p in progress)


def test_identical_layers_are_solved_once(tmp_path):
    graph = load_model(_repeated_blocks())
    progress = []
    result = map_graph(graph, small_arch("eyeriss_like"), SETTINGS, jobs=1, use_cache=False,
                       progress=progress.append)
    assert _solves(progress) == 2 and result.unique == 2
    assert set(result.results) == {"block0", "block1", "block2", "last"}
    assert result.results["block0"] is result.results["block2"]


def test_cache_hit_then_invalidated_by_a_changed_arch(tmp_path):
    graph = load_model(_repeated_blocks())
    arch = small_arch("eyeriss_like")
    progress = []
    first = map_graph(graph, arch, SETTINGS, jobs=1, cache_dir=tmp_path, progress=progress.append)
    proved = sum(r.status == "OPTIMAL" for r in {id(r): r for r in first.results.values()}.values())
    again = map_graph(graph, arch, SETTINGS, jobs=1, cache_dir=tmp_path, progress=progress.append)
    assert again.cache_hits == proved == 2  # tiny layers are proved, so both come back from disk
    assert _solves(progress) == 2
    assert {n: r.mapping for n, r in again.results.items()} == {n: r.mapping for n, r in first.results.items()}
    cheaper_dram = arch.__class__(**{**arch.__dict__, "clock_mhz": arch.clock_mhz + 1})
    changed = map_graph(graph, cheaper_dram, SETTINGS, jobs=1, cache_dir=tmp_path, progress=progress.append)
    assert changed.cache_hits == 0 and _solves(progress) == 4


def test_same_inputs_give_the_same_mappings(tmp_path):
    graph = load_model(_repeated_blocks())
    arch = small_arch("gemmini_like")
    one = map_graph(graph, arch, SETTINGS, jobs=1, use_cache=False)
    two = map_graph(graph, arch, SETTINGS, jobs=1, use_cache=False)
    split = map_graph(graph, arch, SETTINGS, jobs=2, use_cache=False)
    for name, result in one.results.items():
        # Proved optima go through the canonical tie-break, so runs and job splits agree exactly.
        assert result.status == two.results[name].status == split.results[name].status == "OPTIMAL"
        assert result.canonical and two.results[name].canonical and split.results[name].canonical
        assert result.mapping == two.results[name].mapping == split.results[name].mapping, name


def _abort(*_args) -> None:
    """What CP-SAT does on a failed internal check: a message on fd 2, then abort."""
    os.write(2, b"Check failed: a CP-SAT invariant\n*** Check failure stack trace: ***\n    @ 0x1 frame\n")
    os.abort()


def test_a_layer_whose_solver_dies_is_mapped_without_it(tmp_path, monkeypatch, capfd):
    """A crashed solver process costs the layer its proof, not the compile: the layer is searched again
    without CP-SAT, its answer valid and scored by the model, the crash said once, nothing left in TMPDIR."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    graph = load_model(_repeated_blocks())
    arch = small_arch("eyeriss_like")
    solve_one = network._solve_one
    monkeypatch.setattr(network, "_solve_one",
                        lambda wl, *rest: _abort() if rest[4] == "last" else solve_one(wl, *rest))
    result = map_graph(graph, arch, SolveSettings("energy", time_limit=2.0), jobs=2, use_cache=False)
    last = result.results["last"]
    workload = graph.node("last").workload
    assert check_mapping(workload, arch, last.mapping) == []
    assert last.objective == score(evaluate(workload, arch, last.mapping), "energy")
    assert last.bound <= last.objective and not last.canonical
    assert "killed by signal 6 (SIGABRT), saying 'Check failed: a CP-SAT invariant'" in last.note
    assert result.warnings == (f"layer last: {last.note}",)
    assert result.results["block0"].status == "OPTIMAL" and result.results["block0"].canonical
    assert capfd.readouterr().err == ""
    assert list(tmp_path.iterdir()) == []


def test_a_layer_whose_search_dies_twice_stops_the_compile(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(network, "_solve_one", _abort)
    monkeypatch.setattr(network, "_search_one", _abort)
    with pytest.raises(WorkerDied, match=r"layer (block0|last)'s solver process, then its search without CP-SAT, "
                                         r"ended without an answer: killed by signal 6 \(SIGABRT\), saying "
                                         r"'Check failed: a CP-SAT invariant'"):
        map_graph(load_model(_repeated_blocks()), small_arch("eyeriss_like"), SETTINGS, jobs=2, use_cache=False)
    assert list(tmp_path.iterdir()) == []
