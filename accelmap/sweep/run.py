"""Running the tasks: kept ones read back, the rest on Dask (an embedded LocalCluster or a scheduler's
cluster) or, on request, one after another in this process.

Each finished task is kept (`store.TaskStore`) the moment its result
arrives, so Ctrl-C loses only the tasks still running: the cluster's
futures are cancelled, an embedded cluster is shut down, and
`SweepInterrupted` says how many tasks were kept. Each task runs CP-SAT with
as many workers as its Dask worker's host has cores per Dask thread.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from typing import Callable

from accelmap.errors import ClusterError
from accelmap.mapper.solve import MapResult
from accelmap.sweep.store import TaskStore
from accelmap.sweep.tasks import Outcome, Task, local_cores, solve_task

CONNECT_TIMEOUT = "20s"
"""How long to try reaching a scheduler before saying it cannot be reached."""
WORKER_WAIT_SECONDS = 120.0
"""How long a run on an existing cluster waits for the `--workers` it asked for."""


@dataclass(frozen=True)
class SweepProgress:
    """Reported after every finished task: `done` of `total` distinct tasks, `solved` of them in this run."""

    done: int
    total: int
    proved: int
    solved: int
    elapsed: float
    layer: str
    status: str


@dataclass(frozen=True)
class RunStats:
    """Every task's outcome by key, and which keys this run solved (the others were kept from before)."""

    outcomes: dict[str, Outcome]
    solved: tuple[str, ...]
    workers: int


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep: `done` of `total` tasks are kept; running the sweep again resumes."""

    def __init__(self, done: int, total: int):
        super().__init__(f"{done} of {total} tasks finished and kept; run the same sweep again to resume")
        self.done = done
        self.total = total


def _status(outcome: Outcome) -> str:
    return outcome.status if isinstance(outcome, MapResult) else "INFEASIBLE"


def run_tasks(tasks: dict[str, Task], store: TaskStore, *, scheduler: str | None = None,
              workers: int | None = None, in_process: bool = False,
              progress: Callable[[SweepProgress], None] | None = None) -> RunStats:
    """Every task's outcome: kept ones read back, the rest solved (hardest first) and kept as they finish."""
    start = time.monotonic()
    outcomes: dict[str, Outcome] = {}
    solved: list[str] = []

    def report(layer: str, status: str) -> None:
        if progress is not None:
            proved = sum(isinstance(o, MapResult) and o.status == "OPTIMAL" for o in outcomes.values())
            progress(SweepProgress(len(outcomes), len(tasks), proved, len(solved), time.monotonic() - start,
                                   layer, status))

    def finished(key: str, outcome: Outcome) -> None:
        outcomes[key] = outcome
        store.put(tasks[key], outcome)
        solved.append(key)
        report(tasks[key].layer, _status(outcome))

    pending = []
    for key, task in tasks.items():
        kept = store.get(task)
        if kept is None:
            pending.append(task)
        else:
            outcomes[key] = kept
    report("", "KEPT")                        # once: the tasks read back from the cache and the journal
    pending.sort(key=lambda t: t.priority, reverse=True)
    used = 1
    try:
        if in_process:
            for task in pending:
                finished(task.key, solve_task(task, local_cores()))
        elif pending:
            used = _run_on_dask(pending, scheduler, workers, finished)
    except KeyboardInterrupt:
        raise SweepInterrupted(len(outcomes), len(tasks)) from None
    return RunStats(outcomes, tuple(solved), used)


def _run_on_dask(pending: list[Task], scheduler: str | None, workers: int | None,
                 finished: Callable[[str, Outcome], None]) -> int:
    """Submit `pending` to a Dask cluster and hand each result to `finished` as it arrives; the worker count."""
    from distributed import as_completed

    cluster = None
    if scheduler is None:
        count = max(1, min(workers or local_cores(), len(pending)))
        cluster = _start_local_cluster(count)
        address = cluster.scheduler_address
    else:
        address = scheduler
    try:
        client = _connect(address, scheduler)
        futures = []
        try:
            _wait_for_workers(client, workers if scheduler is not None and workers else 1, address)
            budget = cpsat_budget(client)
            pids = client.run(os.getpid) if cluster is not None else {}
            futures = [client.submit(solve_task, task, budget, key=f"accelmap-task-{task.key}",
                                     priority=task.priority, pure=False) for task in pending]
            for future in as_completed(futures, loop=client.loop):
                finished(future.key.removeprefix("accelmap-task-"), future.result())
            return len(budget)
        except KeyboardInterrupt:
            client.cancel(futures)
            if cluster is not None:
                _kill_workers(cluster, pids)
            raise
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()


def _kill_workers(cluster, pids: dict[str, int]) -> None:
    """End our embedded workers' solves at once: a worker shut down gently while CP-SAT runs aborts noisily."""
    for nanny in cluster.workers.values():
        nanny.auto_restart = False
    for pid in pids.values():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _start_local_cluster(count: int):
    """A LocalCluster of `count` single-thread worker processes that ignore SIGINT.

    Ctrl-C in a terminal reaches the whole process group; the workers are
    started with SIGINT ignored (a spawned Python keeps an ignored SIGINT),
    so only this process sees it, cancels the tasks and shuts them down.
    """
    from distributed import LocalCluster

    def start() -> LocalCluster:
        # ":0": the scheduler's HTTP endpoint on a free port, never a clash with another cluster's 8787.
        return LocalCluster(n_workers=count, threads_per_worker=1, processes=True, dashboard_address=":0",
                            silence_logs=logging.ERROR)

    if threading.current_thread() is not threading.main_thread():
        return start()                        # signal handlers belong to the main thread
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return start()
    finally:
        signal.signal(signal.SIGINT, previous)


def _connect(address: str, scheduler: str | None):
    """A client of the scheduler at `address`; ClusterError naming `--scheduler` when it cannot be reached."""
    from distributed import Client

    try:
        return Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as err:
        raise ClusterError(f"--scheduler {scheduler}: cannot reach a Dask scheduler there ({err}); start one with "
                           "`dask scheduler` and workers with `dask worker ADDRESS`") from None


def _wait_for_workers(client, count: int, scheduler: str) -> None:
    """Wait until `count` workers have joined; ClusterError saying how many did otherwise."""
    try:
        client.wait_for_workers(count, timeout=WORKER_WAIT_SECONDS)
    except TimeoutError:
        have = len(client.scheduler_info()["workers"])
        raise ClusterError(f"{scheduler}: {have} of the {count} Dask worker(s) needed joined within "
                           f"{WORKER_WAIT_SECONDS:g} s; start more with `dask worker {scheduler}`") from None


def cpsat_budget(client) -> dict[str, int]:
    """CP-SAT workers per task on each Dask worker: its host's cores over the Dask threads on that host."""
    info = client.scheduler_info()["workers"]
    cores = client.run(local_cores)
    threads: dict[str, int] = {}
    for worker in info.values():
        threads[worker["host"]] = threads.get(worker["host"], 0) + worker["nthreads"]
    return {address: max(1, cores.get(address, 1) // threads[worker["host"]]) for address, worker in info.items()}
