"""Random search: the baseline every smarter search must beat.

It sees the mapspace only through `propose()` / `report(cost)` (Timeloop's
search interface) and imports nothing from the CP-SAT formulation. Each
proposal is a uniform sample of the valid mapspace (`random_search`) or a
walk that needs no count (`walk_search`); `check_fits` runs before the full
evaluation, as everywhere else.
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from accelmap.arch.spec import Arch
from accelmap.errors import InfeasibleLayer, MappingError
from accelmap.ir.workload import Workload
from accelmap.mapper.mapping import Mapping
from accelmap.mapper.mapspace import Mapspace
from accelmap.mapper.model import OBJECTIVES, Cost, check_fits, evaluate, score

DEFAULT_SAMPLES = 1000
"""Proposals tried when neither `samples` nor `time_limit` is given."""


@dataclass(frozen=True)
class SearchResult:
    """The best mapping found, its cost and score, and how the search went."""

    mapping: Mapping
    cost: Cost
    objective: str
    score: int
    samples: int
    valid: int
    mapspace_size: int | None          # None: not counted (`walk_search`)
    seconds: float


class RandomSearch:
    """Propose random mappings of a mapspace (uniform samples, or with `walk` `Mapspace.sample_walk`'s
    draws); keep the best reported one."""

    def __init__(self, mapspace: Mapspace, objective: str, seed: int = 0, *, walk: bool = False):
        if objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {objective!r}; objectives are {', '.join(OBJECTIVES)}")
        self.mapspace = mapspace
        self.objective = objective
        self.walk = walk
        self.rng = random.Random(seed)
        self.best: tuple[int, Mapping, Cost] | None = None
        self._pending: Mapping | None = None

    def propose(self) -> Mapping | None:
        """The next mapping to score (None: a walk that failed; only with `walk`)."""
        self._pending = self.mapspace.sample_walk(self.rng) if self.walk else self.mapspace.sample(self.rng)
        return self._pending

    def report(self, cost: Cost) -> None:
        """The cost of the last proposal; kept when it beats the best so far (first one wins ties)."""
        value = score(cost, self.objective)
        if self.best is None or value < self.best[0]:
            self.best = (value, self._pending, cost)


def _score_proposals(workload: Workload, arch: Arch, search: RandomSearch,
                     more: Callable[[int, int], bool]) -> tuple[int, int]:
    """Propose, check the fit, evaluate and report while `more(tried, valid)`; (tried, valid)."""
    tried = valid = 0
    while more(tried, valid):
        mapping = search.propose()
        tried += 1
        if mapping is None:
            continue
        try:
            check_fits(workload, arch, mapping)
        except MappingError:
            continue
        valid += 1
        search.report(evaluate(workload, arch, mapping))
    return tried, valid


def random_search(workload: Workload, arch: Arch, objective: str, *, time_limit: float | None = None,
                  samples: int | None = None, seed: int = 0) -> SearchResult:
    """Best of uniform random valid mappings, stopping at `samples` proposals or `time_limit` seconds.

    With neither limit, `DEFAULT_SAMPLES` proposals. Raises `InfeasibleLayer`
    when no mapping of `workload` fits `arch`, and `TimeoutError` when
    `time_limit` ends before the mapspace is counted (uniform sampling needs
    the count).
    """
    start = time.perf_counter()
    mapspace = Mapspace(workload, arch)
    size = mapspace.size(deadline=None if time_limit is None else start + time_limit)
    if size == 0:
        raise InfeasibleLayer(f"no valid mapping of {workload.describe()} on arch '{arch.name}': "
                              "check capacities and dataflow constraints")
    if samples is None and time_limit is None:
        samples = DEFAULT_SAMPLES
    search = RandomSearch(mapspace, objective, seed)
    tried, valid = _score_proposals(workload, arch, search, lambda tried, _: (
        (samples is None or tried < samples)
        and (time_limit is None or time.perf_counter() - start < time_limit)))
    if search.best is None:
        raise InfeasibleLayer(f"random search found no valid mapping of {workload.describe()} on "
                              f"arch '{arch.name}' within the limits; raise samples or time_limit")
    best, mapping, cost = search.best
    return SearchResult(mapping=mapping, cost=cost, objective=objective, score=best, samples=tried,
                        valid=valid, mapspace_size=size, seconds=time.perf_counter() - start)


def walk_search(workload: Workload, arch: Arch, objective: str, *, time_limit: float, samples: int,
                seed: int = 0) -> SearchResult | None:
    """Best of `samples` valid mappings drawn by `Mapspace.sample_walk`, or of those found within
    `time_limit` seconds; None when none was found.

    Not uniform (the draws favour small inner tiles) and it cannot show that
    the mapspace is empty, but it needs no count, so it answers within its
    limit on any mapspace: the solver's start when time is short.
    """
    start = time.perf_counter()
    search = RandomSearch(Mapspace(workload, arch), objective, seed, walk=True)
    tried, valid = _score_proposals(workload, arch, search, lambda _, valid: (
        valid < samples and time.perf_counter() - start < time_limit))
    if search.best is None:
        return None
    best, mapping, cost = search.best
    return SearchResult(mapping=mapping, cost=cost, objective=objective, score=best, samples=tried,
                        valid=valid, mapspace_size=None, seconds=time.perf_counter() - start)
