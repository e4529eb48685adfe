"""Tasks: every (design, unique workload, objective) is one; tasks equal in every input are solved once.

A task's identity is the result cache's key (`mapper.cache.cache_key`:
workload, full arch, settings, accelmap version), so equal tasks across
designs and models collapse to one, and a task solved by `compile` or by an
earlier, stopped sweep is read back instead of solved again.
`solve_task` is what a Dask worker runs.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from accelmap.arch.spec import Arch
from accelmap.errors import InfeasibleLayer
from accelmap.ir.graph import Graph
from accelmap.ir.workload import Workload
from accelmap.mapper.cache import cache_key
from accelmap.mapper.network import SolveSettings, _expected_effort
from accelmap.mapper.solve import MapResult, map_workload
from accelmap.sweep.designs import Design


@dataclass(frozen=True)
class Task:
    """One solve: a workload on a design's arch for one objective; `key` is its cache key."""

    key: str
    workload: Workload
    arch: Arch
    settings: SolveSettings
    layer: str

    @property
    def priority(self) -> int:
        """Larger runs first: layers with a sliding window, then by MACs (no long solve starts last)."""
        window, macs = _expected_effort(self.workload)
        return int(window) * 10**15 + min(macs, 10**15 - 1)


@dataclass(frozen=True)
class Infeasible:
    """A task whose layer no mapping fits, with the mapper's reason."""

    reason: str


Outcome = MapResult | Infeasible


@dataclass(frozen=True)
class Job:
    """One row of the table to be: a design, a model, an objective, and per mapped layer its task key."""

    design: Design
    model: str
    graph: Graph
    objective: str
    layer_keys: dict[str, str]


def plan(designs: list[Design], graphs: dict[str, Graph], objectives: tuple[str, ...],
         settings: SolveSettings) -> tuple[list[Job], dict[str, Task], int]:
    """The jobs, the distinct tasks by key, and the task count before removing duplicates."""
    jobs: list[Job] = []
    tasks: dict[str, Task] = {}
    before = 0
    for design in designs:
        for model, graph in graphs.items():
            groups = graph.unique_workloads()
            for objective in objectives:
                chosen = SolveSettings(objective, settings.time_limit, settings.allow_padding, settings.tie_break)
                layer_keys = {}
                for nodes in groups.values():
                    wl = nodes[0].workload
                    key = cache_key(wl, design.arch, chosen)
                    tasks.setdefault(key, Task(key, wl, design.arch, chosen, nodes[0].name))
                    layer_keys.update({node.name: key for node in nodes})
                    before += 1
                jobs.append(Job(design, model, graph, objective, layer_keys))
    return jobs, tasks, before


def solve_task(task: Task, cpsat_workers: dict[str, int] | int) -> Outcome:
    """Solve one task (on a Dask worker or in this process); an unmappable layer is an `Infeasible`.

    `cpsat_workers` is the CP-SAT worker count, or a map from Dask worker
    address to its count (the cores of its host per Dask thread there).
    """
    if isinstance(cpsat_workers, dict):
        from distributed import get_worker

        workers = cpsat_workers.get(get_worker().address, 1)
    else:
        workers = cpsat_workers
    s = task.settings
    try:
        return map_workload(task.workload, task.arch, s.objective, time_limit=s.time_limit, workers=workers,
                            allow_padding=s.allow_padding, tie_break=s.tie_break)
    except InfeasibleLayer as err:
        return Infeasible(f"layer {task.layer}: {err}")


def local_cores() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
