"""Where finished tasks are kept, so a stopped sweep resumes: the result cache, and the sweep's journal.

Proved (OPTIMAL) results go to the result cache `compile` reads and fills
(`mapper.cache.ResultCache`). What the cache does not take (a result not
proved within the time limit, a layer that does not fit) goes to the
sweep's own journal, `SWEEPDIR/tasks/`, under the task key and the time
limit: a run with the same limit reads it back, a run with more time solves
the task again. Both are read back through the cost model (`solve.rescore`).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from accelmap.mapper.cache import ResultCache
from accelmap.mapper.mapping import mapping_from_dict, mapping_to_dict
from accelmap.mapper.solve import MapResult, rescore
from accelmap.sweep.tasks import Infeasible, Outcome, Task


class TaskStore:
    """The result cache (its directory None: off) plus the journal directory of one sweep (None: none)."""

    def __init__(self, cache: ResultCache, journal: Path | None):
        self.cache = cache
        self.journal = journal

    def get(self, task: Task) -> Outcome | None:
        """The kept outcome of `task`, or None when it must be solved."""
        hit = self.cache.get(task.key, task.workload, task.arch, task.settings.objective)
        if hit is not None or self.journal is None:
            return hit
        try:
            doc = json.loads(_path(self.journal, task).read_text())
            if "infeasible" in doc:
                return Infeasible(doc["infeasible"])
            return rescore(task.workload, task.arch, mapping_from_dict(doc["mapping"]), task.settings.objective, doc)
        except (OSError, ValueError, KeyError):
            return None

    def put(self, task: Task, outcome: Outcome) -> None:
        """Keep `outcome`: a proved result in the cache (if on), anything else in the journal."""
        if isinstance(outcome, MapResult) and outcome.status == "OPTIMAL" and self.cache.directory is not None:
            self.cache.put(task.key, outcome, task.workload, task.arch)
            return
        if self.journal is None:
            return
        if isinstance(outcome, Infeasible):
            doc = {"infeasible": outcome.reason}
        else:
            doc = {"mapping": mapping_to_dict(outcome.mapping), "status": outcome.status,
                   "bound": outcome.bound, "wall_time": outcome.wall_time, "canonical": outcome.canonical}
        self.journal.mkdir(parents=True, exist_ok=True)
        target = _path(self.journal, task)
        partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        partial.write_text(json.dumps(doc))
        partial.replace(target)


def _path(journal: Path, task: Task) -> Path:
    """The journal file of `task`: its key and time limit (a longer limit may prove what a shorter did not)."""
    return journal / f"{task.key}-{task.settings.time_limit:g}s.json"
