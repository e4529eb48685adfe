"""Unproved results as warm starts: kept apart from proved ones, never returned as answers, the next
solve starts from the best of them and never ends worse."""
from __future__ import annotations

import json
import random

from accelmap.mapper.cache import ResultCache, cache_key
from accelmap.mapper.mapspace import Mapspace
from accelmap.mapper.network import SolveSettings, map_graph
from accelmap.mapper.solve import map_workload, rescore
from .archs import small_arch
from .test_cache_untrusted import WORKLOAD
from .test_network import _repeated_blocks

SETTINGS = SolveSettings("energy", time_limit=20.0)


def unproved(arch, seed: int):
    """A valid random mapping of WORKLOAD as an unproved result (bound 0)."""
    mapping = Mapspace(WORKLOAD, arch).sample(random.Random(seed))
    return rescore(WORKLOAD, arch, mapping, "energy", {"status": "FEASIBLE", "bound": 0})


def test_an_unproved_result_is_a_warm_start_only_and_the_best_one_is_kept(tmp_path):
    arch = small_arch("eyeriss_like")
    key = cache_key(WORKLOAD, arch, SETTINGS)
    results = sorted((unproved(arch, seed) for seed in range(8)), key=lambda r: r.objective)
    best, worst = results[0], results[-1]
    assert best.objective < worst.objective and best.status == "FEASIBLE"
    cache = ResultCache(tmp_path)
    cache.put(key, worst, WORKLOAD, arch)
    assert cache.get(key, WORKLOAD, arch, "energy") is None          # never an answer
    assert cache.warm(key, WORKLOAD, arch, "energy").objective == worst.objective
    cache.put(key, best, WORKLOAD, arch)
    cache.put(key, worst, WORKLOAD, arch)                             # a worse one does not replace it
    assert cache.warm(key, WORKLOAD, arch, "energy").mapping == best.mapping
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{key}.warm.json"]
    # Untrusted like every entry: an edited objective or a claimed proof is not a warm start.
    path = tmp_path / f"{key}.warm.json"
    doc = json.loads(path.read_text())
    for change in ({"objective": doc["objective"] - 1}, {"status": "OPTIMAL"}, {"bound": doc["objective"]}):
        path.write_text(json.dumps({**doc, **change}))
        assert cache.warm(key, WORKLOAD, arch, "energy") is None
        assert cache.get(key, WORKLOAD, arch, "energy") is None


def test_a_solve_never_ends_worse_than_its_warm_start():
    arch = small_arch("simba_like")
    start = unproved(arch, 3)
    for seconds in (0.01, 5.0):
        result = map_workload(WORKLOAD, arch, "energy", time_limit=seconds, workers=1, hint=start.mapping)
        assert result.objective <= start.objective


def test_a_compile_starts_from_the_warm_entry_and_replaces_it_with_the_proof(tmp_path):
    from accelmap.frontend import load_model

    arch = small_arch("eyeriss_like")
    graph = load_model(_repeated_blocks(1))
    wl = graph.unique_workloads()[next(iter(graph.unique_workloads()))][0].workload
    key = cache_key(wl, arch, SETTINGS)
    cache = ResultCache(tmp_path)
    mapping = Mapspace(wl, arch).sample(random.Random(0))
    start = rescore(wl, arch, mapping, "energy", {"status": "FEASIBLE", "bound": 0})
    cache.put(key, start, wl, arch)
    net = map_graph(graph, arch, SETTINGS, jobs=1, cache_dir=tmp_path)
    assert net.cache_hits == 0
    result = net.results["block0"]
    assert result.status == "OPTIMAL" and result.objective <= start.objective
    assert (tmp_path / f"{key}.json").exists()
    assert map_graph(graph, arch, SETTINGS, jobs=1, cache_dir=tmp_path).cache_hits == 2
