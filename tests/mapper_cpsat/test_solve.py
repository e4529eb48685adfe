"""`map_workload` on real presets and layers, infeasible layers, padding, EDP bounds, re-scoring."""
from __future__ import annotations

import copy

import pytest

from accelmap.arch import build_arch, load_arch
from accelmap.errors import InfeasibleLayer
from accelmap.ir.workload import make_workload
from accelmap.mapper.mapping import mapping_to_dict
from accelmap.mapper.mapspace import Mapspace
from accelmap.mapper.bounds import lower_bounds
from accelmap.mapper.model import evaluate, score
from accelmap.mapper.search_random import walk_search
from accelmap.mapper.solve import HINT_SAMPLES, MapResult, map_by_search, map_workload, rescore
from accelmap.mapper.validity import check_mapping

from .archs import EYERISS_LIKE, ispass_arch, small_arch


def test_resnet50_pointwise_layer_is_proved_optimal_on_eyeriss():
    workload = make_workload(k=64, c=64, p=56, q=56)
    arch = load_arch("eyeriss")
    result = map_workload(workload, arch, "energy", time_limit=60.0, count=True)
    assert isinstance(result, MapResult)
    assert result.status == "OPTIMAL" and result.gap == 0.0
    assert result.objective == result.bound == evaluate(workload, arch, result.mapping).energy
    assert result.objective <= result.baseline
    assert result.objective >= lower_bounds(workload, arch).energy
    assert result.mapspace_size == Mapspace(workload, arch).size() > 10**9
    assert result.variables > 0 and result.constraints > 0
    assert check_mapping(workload, arch, result.mapping) == []


@pytest.mark.parametrize("objective", ["latency", "edp"])
def test_small_conv_on_gemmini_is_proved_for_latency_and_edp(objective):
    workload = make_workload(k=16, c=8, p=8, q=8, r=3, s=3)
    arch = load_arch("gemmini")
    result = map_workload(workload, arch, objective, time_limit=60.0)
    assert result.status == "OPTIMAL"
    assert result.objective == result.bound == score(evaluate(workload, arch, result.mapping), objective)


def test_a_layer_that_cannot_fit_names_level_tensor_and_smallest_tile():
    raw = copy.deepcopy(EYERISS_LIKE)
    raw["levels"][2]["partitions"][0]["depth"] = 4                       # filter_spad: 4 x 16 bits
    raw["constraints"][0] = {"level": "PE", "factors": {"S": 0}, "keep": ["W"]}
    arch = build_arch(raw, "tiny_filter_spad")
    workload = make_workload(k=2, p=2, s=5)                              # a whole filter row (5 words) per PE
    with pytest.raises(InfeasibleLayer) as err:
        map_workload(workload, arch, "energy", time_limit=10.0)
    text = str(err.value)
    assert "filter_spad" in text and "level PE" in text and "tensor W" in text
    assert "needs 80 bits, it has 64" in text


def test_padding_is_searched_and_proved_on_a_small_case():
    arch = small_arch("gemmini_like")
    workload = make_workload(k=3, c=5, p=3)
    best = min(score(evaluate(workload, arch, m), "latency")
               for m in Mapspace(workload, arch, allow_padding=True).enumerate())
    result = map_workload(workload, arch, "latency", time_limit=30.0, allow_padding=True, count=True)
    assert result.status == "OPTIMAL" and result.objective == best
    assert result.mapspace_size == Mapspace(workload, arch, allow_padding=True).size()
    assert check_mapping(workload, arch, result.mapping) == []


def test_an_unfinished_edp_sweep_reports_a_bound_that_holds():
    workload = make_workload(k=32, c=32, p=14, q=14, r=3, s=3)
    arch = load_arch("eyeriss")
    quick = map_workload(workload, arch, "edp", time_limit=3.0)
    assert quick.bound <= quick.objective
    assert quick.bound >= lower_bounds(workload, arch).energy * lower_bounds(workload, arch).cycles
    if quick.status == "OPTIMAL":
        assert quick.bound == quick.objective


def test_rescore_rebuilds_a_result_from_a_stored_mapping():
    workload = make_workload(k=4, c=3, p=5)
    arch = small_arch("eyeriss_like")
    result = map_workload(workload, arch, "energy", time_limit=10.0)
    doc = {"mapping": mapping_to_dict(result.mapping), "status": result.status, "objective": result.objective,
           "bound": result.bound, "wall_time": result.wall_time}
    again = rescore(workload, arch, result.mapping, "energy", doc)
    assert (again.status, again.objective, again.bound, again.cost) == (
        result.status, result.objective, result.bound, result.cost)
    with pytest.raises(ValueError):
        rescore(make_workload(k=5, c=3, p=5), arch, result.mapping, "energy", doc)


@pytest.mark.parametrize("name", ["ispass", "ispass_constrained", "simba"])
def test_a_short_limit_starts_from_walks_and_never_ends_worse(name):
    # ResNet-18 layer1 (64 -> 64, 3x3, 56x56): 300 walks take ~0.1 s of the 0.6 s they may have,
    # so the start is the same as here.
    arch = load_arch(name) if name == "simba" else ispass_arch(constrained=name == "ispass_constrained")
    workload = make_workload(k=64, c=64, p=56, q=56, r=3, s=3)
    start = walk_search(workload, arch, "energy", time_limit=60.0, samples=HINT_SAMPLES, seed=0)
    result = map_workload(workload, arch, "energy", time_limit=3.0, workers=1, tie_break=False)
    assert result.objective <= start.score
    assert result.objective == evaluate(workload, arch, result.mapping).energy
    assert check_mapping(workload, arch, result.mapping) == []
    assert result.bound <= result.objective and (result.status == "OPTIMAL") == (result.bound == result.objective)


def test_the_search_without_cp_sat_starts_from_a_warm_start_and_never_ends_worse():
    arch = load_arch("simba")
    workload = make_workload(k=64, c=64, p=56, q=56, r=3, s=3)
    warm = map_workload(workload, arch, "energy", time_limit=3.0, workers=1, tie_break=False)
    result = map_by_search(workload, arch, "energy", time_limit=0.5, hint=warm.mapping, reason="solver died")
    assert result.objective <= warm.objective
    assert result.objective == evaluate(workload, arch, result.mapping).energy
    assert check_mapping(workload, arch, result.mapping) == []
    assert result.bound <= result.objective and (result.status == "OPTIMAL") == (result.bound == result.objective)
    assert result.note.startswith("solver died; the warm start, improved by local search, is reported")
    other = make_workload(k=32, c=64, p=28, q=28, r=3, s=3)           # the hint is not a mapping of this layer
    walked = map_by_search(other, arch, "energy", time_limit=0.5, hint=warm.mapping)
    assert check_mapping(other, arch, walked.mapping) == []
    assert walked.note.startswith("the best of random mappings, improved by local search, is reported")
