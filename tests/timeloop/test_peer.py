"""accelmap against the bundled Timeloop v3.0.3 itself (skipped when it is absent or cannot start).

- exported problem / architecture / ERT / mapping files of random mappings on
  every preset, and on random archs outside the cases where the two count
  differently (docs/timeloop.md, "Differences" 7 and 8), run in
  `timeloop-model`, whose energy and cycles equal accelmap's in Timeloop's
  accounting within 0.1%;
- a `timeloop-mapper` run interrupted as a user would stop it leaves its best
  mapping so far, which `timeloop-model` scores the same;
- the mappings `timeloop-mapper` finds for ResNet-18's unique layers on the
  ISPASS Eyeriss design (with its constraints) score within 0.1% in both.
"""
from __future__ import annotations

import random
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from accelmap.arch import load_arch
from accelmap.arch.spec import TIMELOOP_ACCOUNTING
from accelmap.interop.timeloop import problem_to_timeloop, timeloop_files
from accelmap.interop.timeloop.components import approximations
from accelmap.interop.timeloop.peer import (TimeloopFailed, find_timeloop, map_and_compare, mapper_inputs,
                                           read_stats, run_mapper_until, run_timeloop)
from accelmap.ir.workload import make_workload
from accelmap.mapper.mapspace import Mapspace
from accelmap.mapper.model import evaluate
from fuzz.random_archs import random_arch
from mapper_cpsat.cases import random_workload

from .test_export import timeloop_expressible

REPO = Path(__file__).resolve().parents[2]
TIMELOOP = find_timeloop(REPO.parent / "shared" / "peers" / "timeloop")
needs_timeloop = pytest.mark.skipif(TIMELOOP is None, reason="no runnable Timeloop in ../shared/peers/timeloop "
                                                              "(run its setup.sh)")
ISPASS = Path(__file__).parent / "fixtures" / "eyeriss_ispass"
WORKLOADS = [make_workload(k=8, c=6, p=6, q=5, r=3, s=3, stride=(2, 1)),
             make_workload(n=2, g=2, k=16, c=8, p=4, q=4, dilation=(1, 2), r=1, s=2),
             make_workload(k=16, c=8, p=8, q=8, r=3, s=3),
             make_workload(k=12, c=10, p=7, kind="matmul")]
RESNET18 = {  # (K, C, P, R, stride) of each unique layer, P = Q and R = S
    "conv1": (64, 3, 112, 7, 2), "layer1.conv": (64, 64, 56, 3, 1), "layer2.conv1": (128, 64, 28, 3, 2),
    "layer2.conv2": (128, 128, 28, 3, 1), "layer2.downsample": (128, 64, 28, 1, 2),
    "layer3.conv1": (256, 128, 14, 3, 2), "layer3.conv2": (256, 256, 14, 3, 1),
    "layer3.downsample": (256, 128, 14, 1, 2), "layer4.conv1": (512, 256, 7, 3, 2),
    "layer4.conv2": (512, 512, 7, 3, 1), "layer4.downsample": (512, 256, 7, 1, 2), "fc": (1000, 512, 1, 1, 1)}
FAST = ("layer2.downsample", "layer4.downsample")


def test_stats_reader_sums_every_energy_line():
    text = ("    Energy (total)          : 10.50 pJ\n        Energy (total)   : 2.25 pJ\n"
            "        Temporal Reduction Energy (total)        : 1.00 pJ\nCycles: 12\nComputes = 7\n")
    assert read_stats(text) == read_stats(text.replace("Cycles", "\nCycles"))
    stats = read_stats(text)
    assert (stats.energy_pj, stats.cycles, stats.macs) == (13.75, 12, 7)
    with pytest.raises(ValueError, match="not a Timeloop stats file"):
        read_stats("Energy (total) : 1 pJ")


@needs_timeloop
@pytest.mark.parametrize("preset", ["eyeriss", "simba", "gemmini", "tpu_v1", "edge_npu"])
def test_exported_files_run_in_timeloop_with_the_same_energy_and_cycles(tmp_path, preset):
    arch = replace(timeloop_expressible(load_arch(preset)), accounting=TIMELOOP_ACCOUNTING)
    rng = random.Random(preset)
    for n, workload in enumerate(WORKLOADS):
        space = Mapspace(workload, arch)
        for k in range(2):
            mapping = space.sample(rng)
            folder = tmp_path / f"{n}_{k}"
            folder.mkdir()
            files = timeloop_files(workload, arch, mapping)
            for name, text in files.items():
                (folder / name).write_text(text)
            stats = run_timeloop("model", TIMELOOP, folder, list(files))
            cost = evaluate(workload, arch, mapping)
            assert stats.macs == cost.macs
            assert cost.energy / 1000 == pytest.approx(stats.energy_pj, rel=1e-3), mapping.describe()
            # Timeloop divides by a floating-point throttle: 168 / (4 / (960 / 168)) comes out as 241.
            assert abs(cost.cycles - stats.cycles) <= max(1, 1e-3 * stats.cycles), mapping.describe()


def run_model(tmp_path: Path, workload, arch, mapping):
    """timeloop-model's stats for the exported files of one mapping."""
    files = timeloop_files(workload, arch, mapping)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return run_timeloop("model", TIMELOOP, tmp_path, list(files))


def timeloop_counts_differently(arch, mapping) -> bool:
    """Where Timeloop's counts are known to differ (docs/timeloop.md, "Differences", 7 and 8): loops of
    both dims of one window axis (P and R, or Q and S), or a fanout that reduces a dim O does not depend on
    while a loop of such a dim runs at or above that fanout's level."""
    loops = [lp for level in mapping.temporal for lp in level]
    loops += [lp for fan in mapping.spatial for lp in fan.x + fan.y]
    dims = {lp.dim for lp in loops if lp.factor > 1}
    if {"P", "R"} <= dims or {"Q", "S"} <= dims:
        return True
    for fanout, fan in zip(arch.fanouts, mapping.spatial):
        if fanout.reduction and any(lp.dim in "CRS" and lp.factor > 1 for lp in fan.x + fan.y):
            above = mapping.temporal[:arch.level_index(fanout.parent) + 1]
            if any(lp.dim in "CRS" and lp.factor > 1 for level in above for lp in level):
                return True
    return False


@needs_timeloop
@pytest.mark.parametrize("seed", range(12))
def test_exported_files_of_random_archs_run_in_timeloop_with_the_same_energy_and_cycles(tmp_path, seed):
    # Archs nobody wrote (levels that keep nothing, single-tensor buffers, storage-less levels, fanouts
    # below the innermost level or of one child, double buffering, bandwidths), as far as Timeloop's
    # files can say them exactly; a fanout of one child wrote a spatial entry Timeloop refused.
    rng, compared = random.Random(seed), 0
    while compared < 3:
        arch = replace(timeloop_expressible(random_arch(rng)), accounting=TIMELOOP_ACCOUNTING)
        workload = random_workload(rng)
        space = Mapspace(workload, arch)
        if approximations(arch) or not space.size():
            continue
        mapping = space.sample(rng)
        if timeloop_counts_differently(arch, mapping):
            continue
        folder = tmp_path / str(compared)
        folder.mkdir()
        stats, cost = run_model(folder, workload, arch, mapping), evaluate(workload, arch, mapping)
        where = f"{workload.describe()}: {mapping.describe([lv.name for lv in arch.levels])}"
        assert stats.macs == cost.macs, where
        assert cost.energy / 1000 == pytest.approx(stats.energy_pj, rel=1e-3), where
        assert abs(cost.cycles - stats.cycles) <= max(1, 1e-3 * stats.cycles), where
        compared += 1


def resnet18_layer(name: str):
    k, c, p, r, stride = RESNET18[name]
    if name == "fc":
        return make_workload(k=k, c=c, p=1, kind="matmul")
    return make_workload(k=k, c=c, p=p, q=p, r=r, s=r, stride=(stride, stride))


def check_layer(tmp_path, name: str):
    """timeloop-mapper's mapping of the layer on the ISPASS Eyeriss: Timeloop's accounting within 0.1%,
    cycles equal; accelmap's own accounting above (it prices the drains)."""
    agreement = map_and_compare(resnet18_layer(name), ISPASS, TIMELOOP, tmp_path, victory=20)
    assert abs(agreement.energy_diff("timeloop")) < 1e-3
    assert agreement.cycles["timeloop"] == agreement.timeloop.cycles
    assert agreement.energy_pj["accelmap"] > agreement.energy_pj["drains free"]


@needs_timeloop
@pytest.mark.parametrize("name", FAST)
def test_timeloop_mapper_mappings_score_the_same(tmp_path, name):
    check_layer(tmp_path, name)


@needs_timeloop
@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in RESNET18 if n not in FAST])
def test_timeloop_mapper_mappings_score_the_same_on_every_resnet18_layer(tmp_path, name):
    check_layer(tmp_path, name)


@needs_timeloop
def test_an_interrupted_mapper_run_leaves_its_best_mapping_so_far(tmp_path):
    files = mapper_inputs(ISPASS, tmp_path, problem_to_timeloop(resnet18_layer("layer1.conv")), victory=10**9,
                          threads=1)
    stats, stopped = run_mapper_until(TIMELOOP, tmp_path, files, seconds=2)
    assert stopped
    shutil.copy(tmp_path / "timeloop-mapper.map.yaml", tmp_path / "mapping.yaml")
    again = run_timeloop("model", TIMELOOP, tmp_path, ["arch.yaml", "ERT.yaml", "problem.yaml", "mapping.yaml"])
    assert again.macs == stats.macs == 64 * 64 * 56 * 56 * 9
    assert again.energy_pj == pytest.approx(stats.energy_pj, rel=1e-6)
    assert again.cycles == stats.cycles


@needs_timeloop
def test_a_mapper_run_that_ends_in_time_is_not_interrupted(tmp_path):
    files = mapper_inputs(ISPASS, tmp_path, problem_to_timeloop(resnet18_layer("layer4.downsample")), victory=5,
                          threads=1)
    stats, stopped = run_mapper_until(TIMELOOP, tmp_path, files, seconds=300)
    assert not stopped and stats.macs == 512 * 256 * 7 * 7


@needs_timeloop
def test_a_failed_timeloop_run_says_how_it_ended(tmp_path):
    with pytest.raises(TimeloopFailed) as failed:
        run_timeloop("model", TIMELOOP, tmp_path, ["missing.yaml"])
    assert failed.value.returncode not in (0, None) and str(tmp_path) in str(failed.value)
