"""CP-SAT's answer equals the exhaustive optimum of the same mapspace, for every objective.

Each case enumerates `Mapspace.enumerate()` completely, scores every mapping
with `model.evaluate`, and compares the least score with `map_workload`'s,
which must be status OPTIMAL, equal to its proved bound, valid by
`check_mapping`, and the model's score of the returned mapping (DESIGN rules
1 and 4). The archs are the presets' shapes shrunk so each case enumerates
in well under a second.
"""
from __future__ import annotations

import copy

import pytest

from accelmap.arch import build_arch

from accelmap.mapper.model import OBJECTIVES, evaluate, score
from accelmap.mapper.solve import map_workload
from accelmap.mapper.validity import check_mapping

from .archs import EYERISS_LIKE, small_arch
from .cases import exhaustive_optima, workloads

ARCHS = ("eyeriss_like", "gemmini_like", "simba_like")
FAST = workloads(seed=2024, count=40, archs=[small_arch(a) for a in ARCHS], max_size=20_000)
SLOW = workloads(seed=7, count=40, archs=[small_arch(a) for a in ARCHS], max_size=150_000)


def check_all_objectives(workload, arch):
    size, best = exhaustive_optima(workload, arch)
    for objective in OBJECTIVES:
        result = map_workload(workload, arch, objective, time_limit=60.0, workers=2, count=True)
        where = f"{objective} {workload.describe()} on {arch.name}"
        assert result.status == "OPTIMAL", where
        assert result.objective == best[objective][0] == result.bound, where
        assert result.cost.energy == best[objective][1], where        # least energy among the optima
        assert result.gap == 0.0
        assert result.mapspace_size == size, where
        assert check_mapping(workload, arch, result.mapping) == [], where
        assert score(evaluate(workload, arch, result.mapping), objective) == result.objective, where


@pytest.mark.parametrize("arch_name", ARCHS)
@pytest.mark.parametrize("index", range(len(FAST)))
def test_cpsat_equals_exhaustive_optimum(arch_name, index):
    check_all_objectives(FAST[index], small_arch(arch_name))


@pytest.mark.slow
@pytest.mark.parametrize("arch_name", ARCHS)
@pytest.mark.parametrize("index", range(len(SLOW)))
def test_cpsat_equals_exhaustive_optimum_larger(arch_name, index):
    check_all_objectives(SLOW[index], small_arch(arch_name))


DEEP_FAST = workloads(seed=11, count=6, archs=[small_arch("deep_chain")], max_size=20_000)
DEEP_SLOW = workloads(seed=12, count=20, archs=[small_arch("deep_chain")], max_size=150_000)


@pytest.mark.parametrize("index", range(len(DEEP_FAST)))
def test_cpsat_equals_exhaustive_on_a_deep_chain(index):
    """Six levels (a storage-less level whose factors are all forced to 1, three single-tensor
    scratchpads in a chain) and two fanouts, as Timeloop's ISPASS Eyeriss."""
    check_all_objectives(DEEP_FAST[index], small_arch("deep_chain"))


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(DEEP_SLOW)))
def test_cpsat_equals_exhaustive_on_a_deep_chain_larger(index):
    check_all_objectives(DEEP_SLOW[index], small_arch("deep_chain"))


def test_the_cases_cover_the_shapes_that_matter():
    """Strides, dilations, groups / depthwise, odd and prime bounds and matmuls are all in the fast set."""
    assert any(w.stride != (1, 1) for w in FAST)
    assert any(w.dilation != (1, 1) for w in FAST)
    assert any(w.bound("G") > 1 for w in FAST)
    assert any(w.kind == "matmul" for w in FAST)
    assert any(b in (5, 7) for w in FAST for _, b in w.bounds)
    assert any(w.bound("R") > 1 and w.bound("P") > 1 for w in FAST)


def permuted_arch():
    """eyeriss-like with permutation constraints (the total-order encoding) at DRAM and the GLB."""
    raw = copy.deepcopy(EYERISS_LIKE)
    raw["constraints"] += [{"level": "DRAM", "permutation": ["K", "C", "P"]},
                           {"level": "GLB", "permutation": ["Q", "P", "C", "K"]}]
    return build_arch(raw, "eyeriss_permuted")


@pytest.mark.parametrize("index", range(0, len(FAST), 4))
def test_permutation_constraints_are_honoured_and_optimal(index):
    check_all_objectives(FAST[index], permuted_arch())
