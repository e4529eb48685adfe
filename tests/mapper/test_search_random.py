"""Random search: finds the exhaustive optimum of a small mapspace, reports honestly, fails clearly; walks."""
from __future__ import annotations

from dataclasses import replace

import pytest

from accelmap.arch.spec import LevelConstraint
from accelmap.errors import InfeasibleLayer
from accelmap.ir.workload import make_workload
from accelmap.mapper.mapspace import Mapspace
from accelmap.mapper.model import evaluate, score
from accelmap.mapper.search_random import RandomSearch, random_search, walk_search
from accelmap.mapper.validity import check_mapping

from .archs import WALK_ARCHS, three_level

WORKLOAD = make_workload(p=3, r=2)
ARCH = three_level(glb_bits=48, rf_bits=16)
"""A 1-D convolution with a halo on tiny buffers: 627 mappings."""


@pytest.mark.parametrize("objective", ["energy", "latency", "edp"])
def test_finds_the_exhaustive_optimum(objective):
    space = Mapspace(WORKLOAD, ARCH)
    best = min(score(evaluate(WORKLOAD, ARCH, m), objective) for m in space.enumerate())
    # 20 x size uniform draws miss a given mapping with probability e^-20.
    result = random_search(WORKLOAD, ARCH, objective, samples=20 * space.size(), seed=1)
    assert result.score == best == score(result.cost, objective)
    assert result.cost == evaluate(WORKLOAD, ARCH, result.mapping)
    assert (result.samples, result.valid, result.mapspace_size) == (20 * space.size(),) * 2 + (space.size(),)


def test_time_limit_stops_the_search():
    result = random_search(WORKLOAD, ARCH, "edp", time_limit=0.2)
    assert result.samples > 0 and result.seconds < 1.0   # stopped near 0.2 s; the count depends on the load


def test_propose_report_keeps_the_first_best():
    search = RandomSearch(Mapspace(WORKLOAD, ARCH), "energy", seed=3)
    costs = []
    for _ in range(50):
        costs.append(evaluate(WORKLOAD, ARCH, search.propose()))
        search.report(costs[-1])
    assert search.best[0] == min(c.energy for c in costs)
    assert search.best[2] is next(c for c in costs if c.energy == search.best[0])


def test_infeasible_layer_is_named():
    # The RF must keep O, but its 8 bits cannot hold one 16-bit output word.
    arch = replace(three_level(rf_bits=8), level_constraints=(LevelConstraint("RF", keep=frozenset("O")),))
    with pytest.raises(InfeasibleLayer, match=r"no valid mapping of K=2 P=2 on arch 'three_level'"):
        random_search(make_workload(k=2, p=2), arch, "energy")


def test_unknown_objective():
    with pytest.raises(ValueError, match="objectives are energy, latency, edp"):
        RandomSearch(Mapspace(WORKLOAD, ARCH), "speed")


@pytest.mark.parametrize("name", sorted(WALK_ARCHS))
def test_walks_find_valid_mappings_where_counting_is_slow(name):
    # VGG-16 features.5: counting the imported ISPASS design's free mapspace takes ~16 s; walks do not count.
    arch, workload = WALK_ARCHS[name], make_workload(k=128, c=64, p=112, q=112, r=3, s=3)
    found = walk_search(workload, arch, "energy", time_limit=60.0, samples=20, seed=0)
    assert found.valid == 20 and found.samples >= 20 and found.mapspace_size is None
    assert check_mapping(workload, arch, found.mapping) == []
    assert found.score == score(evaluate(workload, arch, found.mapping), "energy") == score(found.cost, "energy")


def test_walks_on_an_empty_mapspace_find_nothing():
    arch = replace(three_level(rf_bits=8), level_constraints=(LevelConstraint("RF", keep=frozenset("O")),))
    assert walk_search(make_workload(k=2, p=2), arch, "energy", time_limit=0.5, samples=10) is None


def test_uniform_search_stops_counting_at_its_time_limit():
    with pytest.raises(TimeoutError, match="counting the mapspace"):
        random_search(make_workload(k=128, c=64, p=112, q=112, r=3, s=3), WALK_ARCHS["ispass"], "energy",
                      time_limit=0.05)
