"""Mapping a whole graph: each unique workload solved once, in parallel, cached on disk.

Identical layers (same workload signature) share one solve. Unique workloads
run in worker processes (`jobs`; see `workers` for why never in this one),
each solve getting its share of the cores as CP-SAT workers; a layer whose
solver process dies (a crash in CP-SAT, the system's out-of-memory killer)
is mapped again without CP-SAT (`solve.map_by_search`), once, and said so
in the result's warnings. OPTIMAL results
are cached in the user's cache directory, keyed by everything that decides
the answer; an unproved result is kept there as the next solve's warm start
(it must be matched or beaten, never returned from the cache); a cache that
cannot be written turns into a warning.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from accelmap.arch.spec import Arch
from accelmap.errors import InfeasibleLayer
from accelmap.ir.graph import Graph
from accelmap.ir.workload import Workload
from accelmap.mapper.cache import ResultCache, cache_key, default_cache_dir
from accelmap.mapper.mapping import Mapping
from accelmap.mapper.solve import MapResult, map_by_search, map_workload
from accelmap.mapper.workers import Task, WorkerDied, run_each


@dataclass(frozen=True)
class SolveSettings:
    """What, besides the workload and arch, decides a solve's answer."""

    objective: str = "energy"
    time_limit: float = 30.0
    allow_padding: bool = False
    tie_break: bool = True


@dataclass(frozen=True)
class Progress:
    """Reported after every solved unique workload."""

    done: int
    total: int
    layer: str
    status: str
    elapsed: float
    cached: bool


@dataclass(frozen=True)
class NetworkResult:
    """Per mapped layer (by node name) its result, plus how the run went."""

    results: dict[str, MapResult]
    unique: int
    cache_hits: int
    wall_time: float
    warnings: tuple[str, ...] = ()


def _solve_one(workload: Workload, arch: Arch, settings: SolveSettings, workers: int,
               warm: Mapping | None, layer: str, copies: int) -> MapResult:
    """One unique workload mapped; an infeasible one's error names `layer`, the first of the `copies`
    layers it stands for."""
    try:
        return map_workload(workload, arch, settings.objective, time_limit=settings.time_limit, workers=workers,
                            allow_padding=settings.allow_padding, tie_break=settings.tie_break, hint=warm)
    except InfeasibleLayer as err:
        raise _naming(err, layer, copies) from None


def _search_one(workload: Workload, arch: Arch, settings: SolveSettings, warm: Mapping | None, layer: str,
                copies: int, died: str) -> MapResult:
    """`_solve_one` without CP-SAT, from the warm start if any, after the solver's process died (`died` says
    how)."""
    try:
        return map_by_search(workload, arch, settings.objective, time_limit=settings.time_limit, hint=warm,
                             reason=f"mapped without CP-SAT, whose process ended without an answer: {died}")
    except InfeasibleLayer as err:
        raise _naming(err, layer, copies) from None


def _naming(err: InfeasibleLayer, layer: str, copies: int) -> InfeasibleLayer:
    """`err` naming `layer`, the first of the `copies` layers its workload stands for."""
    more = f" (and {copies - 1} more of the same shape)" if copies > 1 else ""
    return InfeasibleLayer(f"layer {layer}{more}: {err}")


def _expected_effort(workload: Workload) -> tuple[bool, int]:
    """Sort key, hardest first, so no long solve starts last: layers with a sliding window (R or S > 1)
    take seconds to prove where pointwise ones take a fraction of one (ResNet-50 on Eyeriss), then MACs."""
    return workload.bound("R") * workload.bound("S") > 1, workload.macs


def map_graph(graph: Graph, arch: Arch, settings: SolveSettings = SolveSettings(), *, jobs: int | None = None,
              cache_dir: Path | None = None, use_cache: bool = True,
              progress: Callable[[Progress], None] | None = None) -> NetworkResult:
    """Map every layer of `graph` on `arch`; identical workloads are solved once, each in a worker process."""
    start = time.monotonic()
    groups = graph.unique_workloads()
    cache = ResultCache((cache_dir or default_cache_dir()) if use_cache else None)
    solved: dict[str, MapResult] = {}

    def record(sig: str, result: MapResult, cached: bool) -> None:
        solved[sig] = result
        if not cached:
            wl = groups[sig][0].workload
            cache.put(cache_key(wl, arch, settings), result, wl, arch)
        if progress is not None:
            progress(Progress(len(solved), len(groups), groups[sig][0].name, result.status,
                              time.monotonic() - start, cached))

    pending, warm = {}, {}
    for sig, nodes in groups.items():
        wl = nodes[0].workload
        key = cache_key(wl, arch, settings)
        hit = cache.get(key, wl, arch, settings.objective)
        if hit is None:
            pending[sig] = wl
            started = cache.warm(key, wl, arch, settings.objective)
            warm[sig] = started.mapping if started is not None else None
        else:
            record(sig, hit, cached=True)
    hits = len(solved)
    processes, workers = _pool_size(jobs, len(pending))
    order = sorted(pending, key=lambda sig: _expected_effort(pending[sig]), reverse=True)
    searched: list[str] = []

    def without_solver(sig: str, died: WorkerDied) -> Task:
        if sig in searched:
            raise WorkerDied(f"layer {groups[sig][0].name}'s solver process, then its search without CP-SAT,",
                             died.how) from None
        searched.append(sig)
        return sig, _search_one, (pending[sig], arch, settings, warm[sig], groups[sig][0].name, len(groups[sig]),
                                  died.how)

    run_each([(sig, _solve_one, (pending[sig], arch, settings, workers, warm[sig], groups[sig][0].name,
                                 len(groups[sig]))) for sig in order], processes,
             lambda sig, result: record(sig, result, cached=False), without_solver)
    results = {node.name: solved[sig] for sig, nodes in groups.items() for node in nodes}
    warnings = tuple(f"layer {groups[sig][0].name}: {solved[sig].note}" for sig in searched)
    warnings += (cache.warning,) if cache.warning else ()
    return NetworkResult(results, len(groups), hits, time.monotonic() - start, warnings)


def _pool_size(jobs: int | None, tasks: int) -> tuple[int, int]:
    """(worker processes, CP-SAT workers each): `jobs` processes (default: one per core), never more than
    there are solves, sharing the cores between them."""
    cores = os.cpu_count() or 1
    processes = max(1, min(jobs or cores, tasks))
    return processes, max(1, cores // processes)
