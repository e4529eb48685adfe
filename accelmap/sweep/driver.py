"""`run_sweep`: a checked spec to the results table and SWEEPDIR, one step per line below."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from accelmap.ir.graph import Graph
from accelmap.mapper.cache import ResultCache, default_cache_dir
from accelmap.mapper.network import SolveSettings
from accelmap.sweep.designs import Design, check_designs
from accelmap.sweep.output import write_outputs
from accelmap.sweep.run import SweepProgress, run_tasks
from accelmap.sweep.spec import SweepSpec
from accelmap.sweep.store import TaskStore
from accelmap.sweep.table import SweepRow, job_row, mark_pareto
from accelmap.sweep.tasks import Job, Outcome, plan


@dataclass(frozen=True)
class SweepResult:
    """The table and how the run went.

    `tasks_before_dedup` counts (design, unique workload, objective) per
    model; `tasks` the distinct ones left; `solved` those this run solved
    (the rest came from the cache or the sweep's journal). `outcomes` holds
    every task's result (a `MapResult` with its mapping, or `Infeasible`) by
    task key; `jobs` say which keys make up each row.
    """

    spec: SweepSpec
    designs: tuple[Design, ...]
    rows: tuple[SweepRow, ...]
    tasks_before_dedup: int
    tasks: int
    solved: int
    solved_keys: tuple[str, ...]
    outcomes: dict[str, Outcome]
    jobs: tuple[Job, ...]
    proved: int
    workers: int
    wall_time: float
    out_dir: Path | None


def run_sweep(spec: SweepSpec, load_graph: Callable[[str], Graph], out_dir: Path | None, *,
              scheduler: str | None = None,
              workers: int | None = None, in_process: bool = False, use_cache: bool = True,
              cache_dir: Path | None = None, progress: Callable[[SweepProgress], None] | None = None) -> SweepResult:
    """Run every task of `spec` (its models lowered by `load_graph`) and write SWEEPDIR when `out_dir` is given.

    Tasks already kept (result cache, SWEEPDIR/tasks/) are read back, not solved.
    """
    start = time.monotonic()
    # 1. Designs: every axis value and every design checked as an arch before any work starts.
    designs = check_designs(spec)
    graphs = {model: load_graph(model) for model in spec.models}
    # 2. Tasks: (design, unique workload, objective), equal ones merged by their cache key.
    settings = SolveSettings("energy", spec.search.time_limit, spec.search.padding, spec.search.tie_break)
    jobs, tasks, before = plan(designs, graphs, spec.objectives, settings)
    # 3. Run: kept tasks read back, the rest on Dask (or here), each kept as it finishes.
    cache = ResultCache(Path(cache_dir or default_cache_dir()) if use_cache else None)
    journal = out_dir / "tasks" if out_dir is not None else None
    stats = run_tasks(tasks, TaskStore(cache, journal), scheduler=scheduler, workers=workers,
                      in_process=in_process, progress=progress)
    # 4. Table: one row per design x model x objective, Pareto fronts marked.
    rows = tuple(mark_pareto([job_row(job, stats.outcomes) for job in jobs]))
    proved = sum(getattr(o, "status", "") == "OPTIMAL" for o in stats.outcomes.values())
    result = SweepResult(spec, tuple(designs), rows, before, len(tasks), len(stats.solved), stats.solved,
                         stats.outcomes, tuple(jobs), proved, stats.workers, time.monotonic() - start, out_dir)
    # 5. Files: table (CSV, Parquet), sweep.html, the Pareto designs' arch YAMLs.
    if out_dir is not None:
        write_outputs(result, out_dir)
    return result
