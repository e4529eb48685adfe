"""The constraint forms Timeloop's files bring (factor bounds, innermost loops, spatial residuals) and
Timeloop's accounting: enumeration, validity and CP-SAT read them from `slots.py` and agree."""
from __future__ import annotations

import copy
from dataclasses import replace
from math import prod

import pytest

from accelmap.arch import build_arch
from accelmap.arch.spec import TIMELOOP_ACCOUNTING
from accelmap.errors import InfeasibleLayer
from accelmap.ir.workload import make_workload
from accelmap.mapper.mapspace import Mapspace
from accelmap.mapper.solve import map_workload
from accelmap.mapper.validity import check_mapping

from .archs import EYERISS_LIKE, small_arch
from .cases import workloads
from .test_optimality import check_all_objectives

def timeloop_like_arch():
    """eyeriss-like with Timeloop's forms: innermost loops, factor bounds per level and per fanout axis, a
    spatial residual, and Timeloop's accounting."""
    raw = copy.deepcopy(EYERISS_LIKE)
    raw["constraints"] = [
        {"level": "PE", "factors": {"S": 0}, "innermost_loops": ["C", "R"]},
        {"level": "GLB", "innermost_loops": ["P"], "max_factors": {"Q": 2}},
        {"level": "DRAM", "min_factors": {"K": 2}},
        {"fanout": "PE_array", "x_dims": ["P", "Q", "K"], "y_dims": ["R", "C", "K"], "x_max_factors": {"K": 1},
         "y_factors": {"R": 0}},
    ]
    raw["accounting"] = {"drain_reads": False, "psum_writes": "update"}
    return build_arch(raw, "timeloop_like")


CASES = workloads(seed=2024, count=8, archs=[timeloop_like_arch()], max_size=20_000)


def test_every_enumerated_mapping_keeps_the_rules_and_the_count_is_exact():
    arch = timeloop_like_arch()
    total = 0
    for workload in CASES:
        space = Mapspace(workload, arch)
        mappings = list(space.enumerate())
        assert len(mappings) == space.size()
        for mapping in mappings:
            assert check_mapping(workload, arch, mapping) == [], mapping.describe()
            glb, pe = mapping.temporal[1], mapping.temporal[2]
            assert not any(loop.dim == "Q" and loop.factor > 2 for loop in glb)
            if any(loop.dim == "P" for loop in glb):
                assert glb[-1].dim == "P"
            assert [loop.dim for loop in pe if loop.dim in "CR"] == [loop.dim for loop in pe][-len(
                [loop for loop in pe if loop.dim in "CR"]) or len(pe):]
        total += len(mappings)
    assert total > 100


def test_violations_are_named():
    arch = timeloop_like_arch()
    workload = CASES[0]
    free = replace(arch, level_constraints=(), fanout_constraints=())
    bad = next(m for m in Mapspace(workload, free).enumerate() if check_mapping(workload, arch, m))
    assert all("(dataflow constraint)" in p or "may not be unrolled" in p for p in check_mapping(workload, arch, bad))


@pytest.mark.parametrize("index", [0, 1, 4, 6])
def test_cpsat_equals_exhaustive_optimum_under_timeloop_constraints(index):
    check_all_objectives(CASES[index], timeloop_like_arch())


@pytest.mark.slow
@pytest.mark.parametrize("index", [2, 3, 5, 7])
def test_cpsat_equals_exhaustive_optimum_under_timeloop_constraints_larger(index):
    check_all_objectives(CASES[index], timeloop_like_arch())


@pytest.mark.slow
def test_timeloop_accounting_alone_is_still_exact():
    arch = replace(small_arch("simba_like"), accounting=TIMELOOP_ACCOUNTING)
    check_all_objectives(CASES[1], arch)


def test_a_minimum_factor_on_a_unit_dim_leaves_no_mapping():
    arch = timeloop_like_arch()
    workload = next(w for w in workloads(seed=5, count=30, archs=[small_arch("eyeriss_like")], max_size=20_000)
                    if w.bound("K") == 1)
    assert Mapspace(workload, arch).size() == 0
    with pytest.raises(InfeasibleLayer, match="factor bounds"):
        map_workload(workload, arch, "energy", time_limit=5.0)


def fixed_k_arch():
    """eyeriss-like with the array's X axis fixed to K=2 and GLB's temporal C fixed to 3 (as the 2024 DSE
    exercise design fixes M=8 across its array)."""
    raw = copy.deepcopy(EYERISS_LIKE)
    raw["constraints"] = [{"level": "PE", "factors": {"S": 0}},
                          {"level": "GLB", "factors": {"C": 3}},
                          {"fanout": "PE_array", "x_dims": ["K"], "y_dims": ["R", "C", "K"], "x_factors": {"K": 2}}]
    return build_arch(raw, "fixed_k")


@pytest.mark.parametrize("k, c, g, p", [(1, 1, 3, 3), (1, 2, 1, 3), (2, 1, 1, 3), (4, 6, 1, 1)])
def test_a_fixed_factor_above_the_layer_bound_asks_for_the_bound(k, c, g, p):
    """Timeloop's rule: K=2 fixed on a layer with K=1 (a depthwise conv) means K=1 there, C=3 on C <= 2
    means all of C. Enumeration, validity and CP-SAT agree on it, and CP-SAT finds the exhaustive optimum."""
    arch = fixed_k_arch()
    workload = make_workload(g=g, k=k, c=c, p=p, q=2, r=3, s=1)   # p=1 where K and C leave a large mapspace
    mappings = list(Mapspace(workload, arch).enumerate())
    assert mappings and all(check_mapping(workload, arch, m) == [] for m in mappings)
    assert {m.spatial[0].x_size for m in mappings} == {min(2, k)}
    assert {prod(loop.factor for loop in m.temporal[1] if loop.dim == "C") for m in mappings} == {min(3, c)}
    check_all_objectives(workload, arch)


def test_a_fixed_factor_within_the_bound_that_does_not_divide_it_leaves_no_mapping():
    arch = fixed_k_arch()
    workload = make_workload(k=2, c=4, p=3, q=2, r=3, s=1)       # C=3 fixed at GLB does not divide C=4
    assert Mapspace(workload, arch).size() == 0
    with pytest.raises(InfeasibleLayer):
        map_workload(workload, arch, time_limit=10.0, workers=1)
