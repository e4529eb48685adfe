"""Local search: improve a mapping by small moves, keeping the best valid one found.

The solver's anytime partner. Where CP-SAT cannot prove a layer in its time
(free mapspaces of deep hierarchies, whose formulations take a third of the
limit to presolve), the answer is the best mapping seen; this search finds a
good one quickly from any start, so that answer is never left to chance.

A move changes one thing of a `Mapping`: a prime factor of one dim moved
from one slot to another (temporal level or fanout axis), prime factors of
two dims exchanged between two slots (a full array stays full), one loop
moved to another place in its level's order, or one tensor kept or
bypassed at one level. Only slots where a dim's factor is a decision are
touched (`slots.Slots.forced`); every candidate is checked by
`validity.check_mapping` (the mapspace's one set of rules) and scored by
`model.evaluate`. The search is simulated annealing: a move no worse is
taken, a worse one with a probability that falls as the time runs out.
On eyeriss256 without constraints (ResNet-18's eight unproved unique
layers, 3 s each from the best of 300 walks) it ends at 2,458-2,491 uJ in
sum over three seeds; a hill climb with restarts from the kicked best at
2,496 uJ, stalling in the first basin it finds (conv1: 373 uJ after 3 s and
after 30 s, against 334-373 uJ for annealing over six runs).
"""
from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass

from accelmap.arch.spec import Arch
from accelmap.ir.workload import DIMS, TENSORS, Workload
from accelmap.mapper.cpsat.terms import prime_exponents
from accelmap.mapper.mapping import Loop, Mapping
from accelmap.mapper.model import evaluate, score
from accelmap.mapper.search_random import SearchResult
from accelmap.mapper.slots import Slot, arrange, keep_choice, order_rule, slot_loops, slots, with_slot_loops
from accelmap.mapper.validity import check_mapping

TEMPERATURE = (0.1, 0.002)
"""The annealing's temperature at the start and at the end of its time (geometric in between), relative
to the current score: a move 10% worse is taken with probability exp(-1) at the start."""


@dataclass(frozen=True)
class _Moves:
    """What may change: per dim the slots (two or more) where its factor is a decision, the number of
    temporal levels, and the (level, tensor) pairs whose keep is a decision."""

    free_slots: dict[str, tuple[Slot, ...]]
    levels: int
    keep_flips: tuple[tuple[int, str], ...]


def _moves(workload: Workload, arch: Arch) -> _Moves:
    """The decisions of `workload` on `arch` that moves may change (`slots.py`'s rules)."""
    shape = slots(arch)
    free = {}
    for dim in DIMS:
        bound = workload.dims[dim]
        if bound > 1:
            places = tuple(s for s in shape.places if shape.forced(arch, dim, s, bound) is None)
            if len(places) > 1:
                free[dim] = places
    flips = tuple((i, t) for i in range(1, len(arch.levels)) for t in TENSORS if keep_choice(arch, i, t) is None)
    return _Moves(free, len(arch.levels), flips)


def _prime_of(rng: random.Random, value: int) -> int:
    """A random prime factor of `value` (> 1)."""
    return rng.choice(sorted(prime_exponents(value)))


def _factor(loops: tuple[Loop, ...], dim: str) -> int:
    """`dim`'s factor among one slot's `loops` (1 without a loop)."""
    return next((lp.factor for lp in loops if lp.dim == dim), 1)


def _move_factor(arch: Arch, mapping: Mapping, moves: _Moves, rng: random.Random) -> Mapping | None:
    """A prime factor of one dim moved from one of its free slots to another."""
    if not moves.free_slots:
        return None
    dim = rng.choice(list(moves.free_slots))
    places = moves.free_slots[dim]
    loops = slot_loops(mapping)
    factor = {s: _factor(loops[s], dim) for s in places}
    sources = [s for s in places if factor[s] > 1]
    if not sources:
        return None
    src = rng.choice(sources)
    dst = rng.choice([s for s in places if s != src])
    p = _prime_of(rng, factor[src])
    loops[src] = _set_factor(arch, src, loops[src], dim, factor[src] // p, rng)
    loops[dst] = _set_factor(arch, dst, loops[dst], dim, factor[dst] * p, rng)
    return with_slot_loops(mapping, loops)


def _swap_factors(arch: Arch, mapping: Mapping, moves: _Moves, rng: random.Random) -> Mapping | None:
    """A prime factor of one dim and one of another dim exchanged between two slots free for both (an axis
    that is full stays full)."""
    if len(moves.free_slots) < 2:
        return None
    one, two = rng.sample(list(moves.free_slots), 2)
    shared = [s for s in moves.free_slots[one] if s in moves.free_slots[two]]
    loops = slot_loops(mapping)
    factor = {(d, s): _factor(loops[s], d) for d in (one, two) for s in shared}
    pairs = [(a, b) for a in shared for b in shared if a != b and factor[one, a] > 1 and factor[two, b] > 1]
    if not pairs:
        return None
    a, b = rng.choice(pairs)
    p, q = _prime_of(rng, factor[one, a]), _prime_of(rng, factor[two, b])
    loops[a] = _set_factor(arch, a, loops[a], one, factor[one, a] // p, rng)
    loops[b] = _set_factor(arch, b, loops[b], one, factor[one, b] * p, rng)
    loops[b] = _set_factor(arch, b, loops[b], two, factor[two, b] // q, rng)
    loops[a] = _set_factor(arch, a, loops[a], two, factor[two, a] * q, rng)
    return with_slot_loops(mapping, loops)


def _set_factor(arch: Arch, slot: Slot, loops: tuple[Loop, ...], dim: str, value: int,
                rng: random.Random) -> tuple[Loop, ...]:
    """`loops` of `slot` with `dim`'s factor set to `value` (a new temporal loop goes to a random place that
    the level's order rule allows; spatial loops stay in DIMS order)."""
    kept = [lp for lp in loops if lp.dim != dim]
    if value == 1:
        return tuple(kept)
    if any(lp.dim == dim for lp in loops):
        return tuple(Loop(dim, value) if lp.dim == dim else lp for lp in loops)
    if slot[0] != "T":
        return tuple(sorted([*kept, Loop(dim, value)], key=lambda lp: DIMS.index(lp.dim)))
    kept.insert(rng.randrange(len(kept) + 1), Loop(dim, value))
    return _arranged(arch, slot[1], kept)


def _arranged(arch: Arch, level: int, loops: list[Loop]) -> tuple[Loop, ...]:
    """`loops` in an order `level`'s order rule allows (`slots.arrange`)."""
    by_dim = {lp.dim: lp for lp in loops}
    return tuple(by_dim[d] for d in arrange([lp.dim for lp in loops], order_rule(arch, level)))


def _move_loop(arch: Arch, mapping: Mapping, moves: _Moves, rng: random.Random) -> Mapping | None:
    """One loop of a level moved to another place in the level's order."""
    level = rng.randrange(moves.levels)
    order = list(mapping.temporal[level])
    if len(order) < 2:
        return None
    loop = order.pop(rng.randrange(len(order)))
    order.insert(rng.randrange(len(order) + 1), loop)
    loops = slot_loops(mapping)
    loops[("T", level)] = _arranged(arch, level, order)
    return with_slot_loops(mapping, loops)


def _flip_keep(arch: Arch, mapping: Mapping, moves: _Moves, rng: random.Random) -> Mapping | None:
    """One tensor kept where it was bypassed, or bypassed where it was kept."""
    if not moves.keep_flips:
        return None
    level, tensor = rng.choice(moves.keep_flips)
    keep = list(mapping.keep)
    keep[level] = keep[level] ^ {tensor}
    return Mapping(mapping.temporal, mapping.spatial, tuple(keep), mapping.padded)


_MOVES = (_move_factor, _move_factor, _swap_factors, _move_loop, _flip_keep)
"""Move kinds, drawn uniformly (a factor moved twice as often as each other kind)."""


def _neighbour(workload: Workload, arch: Arch, mapping: Mapping, moves: _Moves,
               rng: random.Random) -> Mapping | None:
    """A random valid neighbour of `mapping`, or None when the drawn move is not valid."""
    candidate = rng.choice(_MOVES)(arch, mapping, moves, rng)
    if candidate is None or candidate == mapping or check_mapping(workload, arch, candidate):
        return None
    return candidate


def local_search(workload: Workload, arch: Arch, objective: str, starts: list[Mapping], *,
                 time_limit: float, steps: int | None = None, seed: int = 0, target: int = 0) -> SearchResult:
    """The best mapping simulated annealing from the best of `starts` (valid mappings) finds within
    `time_limit` seconds, or within `steps` proposed moves when given (then the run is reproducible);
    it stops as soon as a mapping scores `target` or less (a lower bound: nothing can do better)."""
    begin = time.perf_counter()
    rng = random.Random(seed)
    moves = _moves(workload, arch)
    scored = [(score(cost, objective), m, cost) for m in starts for cost in (evaluate(workload, arch, m),)]
    best = current = min(scored, key=lambda s: s[0])
    high, low = TEMPERATURE
    tried = valid = 0
    while best[0] > target and (done := tried / steps if steps else (time.perf_counter() - begin) / time_limit) < 1:
        tried += 1
        candidate = _neighbour(workload, arch, current[1], moves, rng)
        if candidate is None:
            continue
        valid += 1
        cost = evaluate(workload, arch, candidate)
        value = score(cost, objective)
        temperature = high * (low / high) ** done
        if value <= current[0] or rng.random() < math.exp((current[0] - value) / (temperature * max(1, current[0]))):
            current = (value, candidate, cost)
            if value < best[0]:
                best = current
    return SearchResult(mapping=best[1], cost=best[2], objective=objective, score=best[0], samples=tried,
                        valid=valid, mapspace_size=None, seconds=time.perf_counter() - begin)
