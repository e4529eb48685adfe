"""Sweeps run: in this process, on the embedded LocalCluster and on a real `dask scheduler` with two
`dask worker` processes give identical tables; a stopped sweep resumes without solving a task twice;
each row equals what `compile` reports for that design."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from accelmap import api
from accelmap.arch import load_arch
from accelmap.backend.present.summary import layer_rows, totals
from accelmap.sweep import SweepInterrupted

SPEC = "spec.yaml"


def kept_keys(cache: Path, journal: Path) -> set[str]:
    """Task keys kept on disk: proved ones in the result cache, the rest in the sweep's journal."""
    return {p.stem for p in cache.glob("*.json")} | {p.name.split("-")[0] for p in journal.glob("*.json")}


def test_reference_sweep_is_proved_and_counts_its_tasks(reference):
    result, table, _ = reference
    assert [r.design for r in result.rows] == ["d0", "d1", "d2", "d3"]
    assert result.tasks_before_dedup == result.tasks == result.solved == 12      # 4 designs x 3 unique layers
    assert result.proved == 12 and all(r.proved == 1.0 and r.worst_gap == 0.0 for r in result.rows)
    assert len({(r.energy_uj, r.cycles) for r in result.rows}) > 1
    assert table.count("\n") == 5


def test_each_row_equals_compile_of_its_design(reference, tiny_dir):
    result, _, root = reference
    model = str(tiny_dir / "tiny.onnx")
    for design, row in zip(result.designs, result.rows):
        compiled = api.compile_model(model, design.arch, "energy", jobs=1, time_limit=10, cache_dir=root / "cache")
        assert compiled.cache_hits == 3                                   # the sweep filled compile's cache
        total = totals(layer_rows(compiled.schedule()))
        assert (row.energy_uj, row.cycles) == (total.energy_pj / 1e6, total.cycles)
    # A Pareto design written out compiles (solved afresh: its file names the arch) to the same numbers.
    front = next(r for r in result.rows if r.pareto)
    arch = load_arch(root / "out" / "pareto" / f"{front.design}.yaml")
    compiled = api.compile_model(model, arch, "energy", jobs=1, time_limit=10, use_cache=False)
    total = totals(layer_rows(compiled.schedule()))
    assert (front.energy_uj, front.cycles) == (total.energy_pj / 1e6, total.cycles)
    assert sorted(p.stem for p in (root / "out" / "pareto").iterdir()) == sorted({r.design for r in result.rows
                                                                                  if r.pareto})


def test_embedded_cluster_gives_the_same_table(reference, tiny_dir, tmp_path):
    result, table, _ = reference
    again = api.sweep(tiny_dir / SPEC, tmp_path / "out", workers=2, cache_dir=tmp_path / "cache")
    assert again.workers == 2 and again.solved == 12
    assert (tmp_path / "out" / "sweep.csv").read_text() == table
    assert again.rows == result.rows


def test_interrupted_sweep_resumes_without_solving_a_task_twice(reference, tiny_dir, tmp_path):
    result, table, _ = reference
    out, cache = tmp_path / "out", tmp_path / "cache"

    def stop_after_five(progress):
        if progress.solved == 5:
            raise KeyboardInterrupt

    with pytest.raises(SweepInterrupted) as stopped:
        api.sweep(tiny_dir / SPEC, out, in_process=True, cache_dir=cache, progress=stop_after_five)
    assert (stopped.value.done, stopped.value.total) == (5, 12)
    assert not (out / "sweep.csv").exists()
    first = kept_keys(cache, out / "tasks")
    assert len(first) == 5
    resumed = api.sweep(tiny_dir / SPEC, out, in_process=True, cache_dir=cache)
    assert resumed.solved == 7 and not first & set(resumed.solved_keys)
    assert first | set(resumed.solved_keys) == kept_keys(cache, out / "tasks") and len(kept_keys(cache, out / "tasks")) == 12
    assert (out / "sweep.csv").read_text() == table
    assert api.sweep(tiny_dir / SPEC, out, in_process=True, cache_dir=cache).solved == 0


def test_a_design_where_a_layer_cannot_fit_is_an_infeasible_row(tiny_dir, tmp_path):
    spec = tmp_path / "inf.yaml"
    (tmp_path / "tiny.onnx").write_bytes((tiny_dir / "tiny.onnx").read_bytes())
    spec.write_text("arch: edge_npu\nmodels: [tiny.onnx]\naxes:\n  rf:\n    keys: [levels.RF.capacity, constraints]\n"
                    "    values:\n      roomy: [64B, []]\n      tiny: [4B, [{level: RF, keep: [W, I, O]}]]\n")
    result = api.sweep(spec, tmp_path / "out", in_process=True, cache_dir=tmp_path / "cache")
    roomy, tiny = result.rows
    assert roomy.feasible and roomy.pareto and not tiny.feasible and not tiny.pareto
    assert tiny.energy_uj is None and tiny.proved is None
    assert tiny.reason.startswith("layer conv1: no mapping of K=8 C=4 P=6 Q=6 fits arch 'edge_npu'")
    assert "level RF" in tiny.reason
    # The infeasible tasks are kept in the journal: a second run solves nothing.
    assert api.sweep(spec, tmp_path / "out", in_process=True, cache_dir=tmp_path / "cache").solved == 0


# -- a real Dask cluster on 127.0.0.1 ------------------------------------------------------------------

@pytest.fixture
def dask_cluster(tmp_path):
    """`dask scheduler` and two `dask worker` processes (one thread each) on 127.0.0.1; yields the address."""
    info = tmp_path / "scheduler.json"
    base = [sys.executable, "-m"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": tmp_path}
    procs = [subprocess.Popen(base + ["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
                                      "--no-dashboard", "--scheduler-file", str(info)], **quiet)]
    try:
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert info.exists(), "the dask scheduler did not start"
        for _ in range(2):
            procs.append(subprocess.Popen(base + ["distributed.cli.dask_worker", "--scheduler-file", str(info),
                                                  "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                                  "--host", "127.0.0.1"],
                                          **quiet))
        import json
        yield json.loads(info.read_text())["address"]
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_real_dask_cluster_gives_the_same_table(reference, tiny_dir, tmp_path, dask_cluster):
    result, table, _ = reference
    assert dask_cluster.startswith("tcp://127.0.0.1:")
    again = api.sweep(tiny_dir / SPEC, tmp_path / "out", scheduler=dask_cluster, workers=2,
                      cache_dir=tmp_path / "cache")
    assert again.workers == 2 and again.solved == 12
    assert (tmp_path / "out" / "sweep.csv").read_text() == table


def group_alive(group: int, wait: float) -> bool:
    """True when a process of `group` still exists after `wait` seconds (killed workers are reaped by init)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        time.sleep(0.2)
    return True


# -- slow: Ctrl-C on the embedded cluster, and ResNet-18 (width / 8) on both kinds of cluster ---------------

@pytest.mark.slow
def test_ctrl_c_on_the_embedded_cluster_keeps_finished_tasks_and_resumes(tiny_dir, tmp_path):
    """A 3x3 conv that edge_npu cannot prove in 3 s: each task runs its full limit; SIGINT to the whole
    process group (as a terminal sends it) mid-sweep; the run stops at once, quietly, and resumes."""
    import json

    import onnx
    from onnx import TensorProto, helper, numpy_helper
    import numpy as np

    w = numpy_helper.from_array(np.ones((8, 4, 3, 3), np.float32), "w")
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], name="conv", pads=[1, 1, 1, 1])], "c3",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 6, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 6, 6])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "c3.onnx"))
    spec = tmp_path / "c3.yaml"
    spec.write_text("arch: edge_npu\nmodels: [c3.onnx]\nsearch: {time_limit: 3}\naxes:\n"
                    "  mac: {key: compute.mac_energy, values: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]}\n")
    out, cache = tmp_path / "out", tmp_path / "cache"
    command = [str(Path(sys.executable).parent / "accelmap"), "sweep", str(spec), "-o", str(out),
               "--cache-dir", str(cache), "--workers", "2"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while len(kept_keys(cache, out / "tasks")) < 1 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)
    sent = time.monotonic()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert time.monotonic() - sent < 15
    assert "Traceback" not in err and "terminate called" not in err, err
    kept = kept_keys(cache, out / "tasks")
    assert f"interrupted: {len(kept)} of 6 tasks finished and kept" in err
    assert 1 <= len(kept) < 6 and not (out / "sweep.csv").exists()
    assert not group_alive(proc.pid, 10), "a process of the embedded cluster is left behind"
    again = subprocess.run(command + ["--json"], capture_output=True, text=True, timeout=300, check=True)
    doc = json.loads(again.stdout)
    assert doc["solved"] == 6 - len(kept) and len(doc["rows"]) == 6


@pytest.mark.slow
def test_resnet18_w8_on_the_embedded_and_a_real_cluster(tmp_path, dask_cluster):
    """8 designs x ResNet-18 (width / 8) on tpu_v1, 5 s per task: tasks proved in both runs have the same
    optimum, and the same mapping where both finished the canonical tie-break (it shares the task's time
    limit, so on a loaded machine one run may keep the solver's own optimum); rows made only of such
    tasks are equal, rows proved throughout have equal energy, and the unproved differ only in timing."""
    spec = tmp_path / "r18.yaml"
    spec.write_text("arch: tpu_v1\nmodels: [resnet18_w8]\nsearch: {time_limit: 5}\naxes:\n"
                    "  mesh: {keys: [fanouts.matrix_unit.meshX, fanouts.matrix_unit.meshY], "
                    "values: [[16, 16], [32, 32]]}\n"
                    "  ub: {key: levels.unified_buffer.capacity, values: [256KiB, 1MiB]}\n"
                    "  fifo: {key: levels.weight_fifo.capacity, values: [16KiB, 64KiB]}\n")
    embedded = api.sweep(spec, tmp_path / "a", workers=2, cache_dir=tmp_path / "cache-a")
    real = api.sweep(spec, tmp_path / "b", scheduler=dask_cluster, workers=2, cache_dir=tmp_path / "cache-b")
    assert len(embedded.rows) == len(real.rows) == 8 and embedded.tasks == real.tasks == 96
    both = [k for k, o in embedded.outcomes.items()
            if getattr(o, "status", "") == "OPTIMAL" and getattr(real.outcomes[k], "status", "") == "OPTIMAL"]
    assert len(both) >= 48, f"only {len(both)} of 96 tasks proved in both runs"
    assert all(embedded.outcomes[k].objective == real.outcomes[k].objective for k in both)
    canonical = {k for k in both if embedded.outcomes[k].canonical and real.outcomes[k].canonical}
    assert len(canonical) >= 40, f"only {len(canonical)} of 96 tasks canonical in both runs"
    assert all(embedded.outcomes[k].mapping == real.outcomes[k].mapping for k in canonical)
    for job, a, b in zip(embedded.jobs, embedded.rows, real.rows):
        if set(job.layer_keys.values()) <= canonical:
            assert replace(a, pareto=()) == replace(b, pareto=())   # the fronts also depend on other rows
        elif a.proved == b.proved == 1.0:
            assert a.energy_uj == b.energy_uj
