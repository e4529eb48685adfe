"""Mapping a whole graph: each unique workload solved once, in parallel, cached on disk.

Identical layers (same workload signature) share one solve. Unique workloads
run in worker processes (`jobs`), each solve getting its share of the cores
as CP-SAT workers. OPTIMAL results are cached in the user's cache directory,
keyed by everything that decides the answer.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from accelmap.arch.spec import Arch
from accelmap.ir.graph import Graph
from accelmap.ir.workload import Workload
from accelmap.mapper.cache import ResultCache, cache_key, default_cache_dir
from accelmap.mapper.solve import MapResult, map_workload


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


def _solve_one(workload: Workload, arch: Arch, settings: SolveSettings, workers: int) -> MapResult:
    return map_workload(workload, arch, settings.objective, time_limit=settings.time_limit, workers=workers,
                        allow_padding=settings.allow_padding, tie_break=settings.tie_break)


def _expected_effort(workload: Workload) -> tuple[bool, int]:
    """Sort key, hardest first, so no long solve starts last: layers with a sliding window (R or S > 1)
    take seconds to prove where pointwise ones take a fraction of one (ResNet-50 on Eyeriss), then MACs."""
    return workload.bound("R") * workload.bound("S") > 1, workload.macs


def map_graph(graph: Graph, arch: Arch, settings: SolveSettings = SolveSettings(), *, jobs: int | None = None,
              cache_dir: Path | None = None, use_cache: bool = True,
              progress: Callable[[Progress], None] | None = None) -> NetworkResult:
    """Map every layer of `graph` on `arch`; identical workloads are solved once."""
    start = time.monotonic()
    groups = graph.unique_workloads()
    cache = ResultCache((cache_dir or default_cache_dir()) if use_cache else None)
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(groups) or 1))
    workers = max(1, (os.cpu_count() or 1) // jobs)
    solved: dict[str, MapResult] = {}
    pending: dict[str, Workload] = {}
    hits = 0

    def report(sig: str, cached: bool) -> None:
        if progress is not None:
            progress(Progress(len(solved), len(groups), groups[sig][0].name, solved[sig].status,
                              time.monotonic() - start, cached))

    for sig, nodes in groups.items():
        wl = nodes[0].workload
        hit = cache.get(cache_key(wl, arch, settings), wl, arch, settings.objective)
        if hit is not None:
            solved[sig], hits = hit, hits + 1
            report(sig, True)
        else:
            pending[sig] = wl
    if jobs == 1 or len(pending) <= 1:
        for sig, wl in pending.items():
            solved[sig] = _solve_one(wl, arch, settings, os.cpu_count() or 1)
            cache.put(cache_key(wl, arch, settings), solved[sig])
            report(sig, False)
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            order = sorted(pending, key=lambda sig: _expected_effort(pending[sig]), reverse=True)
            futures = {pool.submit(_solve_one, pending[sig], arch, settings, workers): sig for sig in order}
            while futures:
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
                for future in done:
                    sig = futures.pop(future)
                    solved[sig] = future.result()
                    cache.put(cache_key(pending[sig], arch, settings), solved[sig])
                    report(sig, False)
    results = {node.name: solved[sig] for sig, nodes in groups.items() for node in nodes}
    return NetworkResult(results, len(groups), hits, time.monotonic() - start)
