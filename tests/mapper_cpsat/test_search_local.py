"""Local search: on small mapspaces it reaches the exhaustive optimum from the worst mapping; on big,
deep and constrained ones every answer is valid, scored by the model and never worse than its start."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from accelmap.ir.workload import make_workload
from accelmap.mapper.mapspace import Mapspace
from accelmap.mapper.model import OBJECTIVES, evaluate, score
from accelmap.mapper.search_local import local_search
from accelmap.mapper.search_random import walk_search
from accelmap.mapper.validity import check_mapping

from .archs import ispass_arch, small_arch
from .cases import workloads

ARCHS = ("eyeriss_like", "simba_like", "deep_chain")
CASES = workloads(seed=31, count=6, archs=[small_arch(a) for a in ARCHS], max_size=5_000)
STEPS = 5_000
"""Moves proposed per search: 1,000 reached every optimum below when this was written."""


@pytest.mark.parametrize("arch_name", ARCHS)
@pytest.mark.parametrize("index", range(len(CASES)))
def test_reaches_the_exhaustive_optimum_from_the_worst_mapping(arch_name, index):
    workload, arch = CASES[index], small_arch(arch_name)
    mappings = list(Mapspace(workload, arch).enumerate())
    for objective in OBJECTIVES:
        scores = [score(evaluate(workload, arch, m), objective) for m in mappings]
        worst = mappings[scores.index(max(scores))]
        found = local_search(workload, arch, objective, [worst], time_limit=600.0, steps=STEPS, seed=0)
        assert found.score == min(scores), f"{objective} {workload.describe()} on {arch.name}"
        assert found.score == score(evaluate(workload, arch, found.mapping), objective) == score(found.cost, objective)
        assert found.samples == STEPS and 0 < found.valid <= STEPS


@pytest.mark.parametrize("arch_name", ARCHS)
def test_the_search_stops_at_a_target_it_meets(arch_name):
    """Given a lower bound it meets (here the exhaustive optimum), the search ends there, not at its limit."""
    workload, arch = CASES[1], small_arch(arch_name)
    mappings = list(Mapspace(workload, arch).enumerate())
    scores = [score(evaluate(workload, arch, m), "energy") for m in mappings]
    worst = mappings[scores.index(max(scores))]
    found = local_search(workload, arch, "energy", [worst], time_limit=600.0, steps=STEPS, seed=0, target=min(scores))
    assert found.score == min(scores) and found.samples < STEPS
    above = local_search(workload, arch, "energy", [worst], time_limit=600.0, steps=STEPS, seed=0,
                         target=min(scores) - 1)
    assert above.score == min(scores) and above.samples == STEPS


def test_steps_make_the_search_reproducible():
    workload, arch = CASES[0], small_arch("deep_chain")
    start = next(Mapspace(workload, arch).enumerate())
    runs = [local_search(workload, arch, "edp", [start], time_limit=600.0, steps=500, seed=3) for _ in range(2)]
    assert runs[0].mapping == runs[1].mapping and runs[0].valid == runs[1].valid


BIG_ARCHS = {"ispass": ispass_arch(constrained=False), "ispass_constrained": ispass_arch(constrained=True),
             "deep_chain": small_arch("deep_chain"), "simba_like": small_arch("simba_like")}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(BIG_ARCHS)), objective=st.sampled_from(OBJECTIVES),
       k=st.sampled_from([1, 3, 16, 97, 128]), c=st.sampled_from([1, 3, 7, 64]),
       p=st.sampled_from([1, 5, 14, 29]), r=st.sampled_from([1, 3, 5]),
       stride=st.sampled_from([1, 2]), dilation=st.sampled_from([1, 2]), groups=st.sampled_from([1, 2]),
       seed=st.integers(0, 3))
def test_answers_are_valid_and_never_worse_than_the_start(name, objective, k, c, p, r, stride, dilation, groups,
                                                          seed):
    """Deep hierarchies, two fanouts, fixed factors, forced keeps and loop orders (Timeloop's ISPASS Eyeriss
    with its constraints), odd and prime sizes, strides, dilations and groups."""
    arch = BIG_ARCHS[name]
    workload = make_workload(g=groups, k=k, c=c, p=p, q=p, r=r, s=r, stride=(stride, stride),
                             dilation=(dilation, dilation))
    start = walk_search(workload, arch, objective, time_limit=5.0, samples=20, seed=seed)
    if start is None:
        return                                                  # no walk found a mapping: nothing to improve
    found = local_search(workload, arch, objective, [start.mapping], time_limit=600.0, steps=400, seed=seed)
    assert check_mapping(workload, arch, found.mapping) == []
    assert found.score == score(evaluate(workload, arch, found.mapping), objective) <= start.score
