"""Padding: chosen exactly when the exact model says a padded mapping is cheaper, and never worse."""
from __future__ import annotations

import pytest

from accelmap.arch import load_arch
from accelmap.ir.workload import make_workload
from accelmap.mapper.mapspace import Mapspace
from accelmap.mapper.model import OBJECTIVES, evaluate, score
from accelmap.mapper.solve import map_workload
from accelmap.mapper.validity import check_mapping

from .archs import small_arch

ARCHS = ("eyeriss_like", "gemmini_like", "simba_like")
CASES = [make_workload(k=7, stride=(1, 3), dilation=(2, 1)), make_workload(c=3, p=4), make_workload(c=7, p=3),
         make_workload(c=6, p=5), make_workload(k=6, c=7)]


def best_by_padding(workload, arch, objective: str) -> dict[bool, tuple[int, int]]:
    """Exhaustively, the least (score, energy) among unpadded (False) and padded (True) mappings."""
    best: dict[bool, tuple[int, int]] = {}
    for mapping in Mapspace(workload, arch, allow_padding=True).enumerate():
        cost = evaluate(workload, arch, mapping)
        key, value = bool(mapping.padded), (score(cost, objective), cost.energy)
        best[key] = min(best.get(key, value), value)
    return best


@pytest.mark.parametrize("arch_name", ARCHS)
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_padding_is_chosen_exactly_when_the_model_says_it_is_cheaper(arch_name, objective):
    arch = small_arch(arch_name)
    chosen = 0
    for workload in CASES:
        best = best_by_padding(workload, arch, objective)
        pays = True in best and best[True] < best[False]
        result = map_workload(workload, arch, objective, time_limit=60.0, allow_padding=True)
        where = f"{objective} {workload.describe()} on {arch_name}"
        assert result.status == "OPTIMAL" and result.canonical, where
        assert (result.objective, result.cost.energy) == min(best.values()), where
        assert bool(result.mapping.padded) == pays, where
        assert check_mapping(workload, arch, result.mapping) == [], where
        chosen += pays
    if objective == "latency":
        assert chosen >= 3          # these cases were picked because padding pays for latency


def test_padding_never_makes_a_large_layer_worse():
    """ResNet-50's layer3 1x1 conv: the padded mapspace cannot be proved in 8 s, the unpadded one can."""
    workload = make_workload(k=256, c=512, p=28, q=28)
    arch = load_arch("eyeriss")
    plain = map_workload(workload, arch, "energy", time_limit=30.0)
    padded = map_workload(workload, arch, "energy", time_limit=8.0, allow_padding=True)
    assert plain.status == "OPTIMAL"
    assert padded.objective <= plain.objective
    assert padded.status == "FEASIBLE" and not padded.canonical
    assert padded.bound <= padded.objective
    if padded.objective == plain.objective:         # nothing cheaper found: the unpadded best is kept
        assert padded.mapping.padded == () and "no padded mapping cheaper" in padded.note
    else:
        assert padded.mapping.padded and "padding pays" in padded.note
