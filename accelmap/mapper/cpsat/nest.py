"""The static shape of a mapping problem for the solver: `slots.py`'s rules per dim, padding candidates.

The slots and which factors are forced come from `slots.py` (the one owner
of the mapspace's rules, which `mapspace.Mapspace` and `validity` read too).

Padding (`allow_padding`): a dim's bound may be raised to one of its
`padded_bounds`. Candidates that can never be strictly better are
dropped before the model is built, by a dominance argument that holds for
every objective: all traffic counts, tile sizes and cycle counts are
products of loop factors that never decrease when one factor grows (see
`padding_candidates`), so a padded bound B' whose every split over the
dim's free slots is, slot by slot, at least some split of a smaller
candidate B'' is never needed. The argument needs a first write to cost
at least an update everywhere (rmw = updates - first writes; see
`model.psum_write_energy`); otherwise nothing is dropped.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from math import prod

from accelmap.arch.spec import Arch
from accelmap.errors import InfeasibleLayer
from accelmap.ir.workload import DIMS, Workload
from accelmap.mapper.cpsat.terms import prime_exponents
from accelmap.mapper.model import psum_write_energy
from accelmap.mapper.slots import Slot, padded_bounds, slot_name, slots

DOMINANCE_BUDGET = 20_000
"""Split checks spent per dim on padding dominance before keeping the remaining candidates as they are."""


@dataclass(frozen=True)
class Nest:
    """Everything about (workload, arch) that does not depend on the mapping."""

    workload: Workload
    arch: Arch
    places: tuple[Slot, ...]
    fanout_below: dict[int, int]               # level -> index of the fanout below it
    fanout_parent: dict[int, int]              # fanout index -> its parent level
    targets: dict[str, tuple[int, ...]]        # active dim -> candidate bounds (first: unpadded)
    kmax: dict[str, dict[int, int]]            # active dim -> prime -> largest exponent over targets
    fixed: dict[tuple[str, Slot], int]         # (dim, slot) -> forced factor (1 when not allowed)
    caps: dict[Slot, int]                      # spatial slot -> axis size
    dropped: dict[str, tuple[int, ...]]        # padded bounds left out by dominance

    @property
    def levels(self) -> int:
        """Number of storage levels."""
        return len(self.arch.levels)

    @property
    def active(self) -> tuple[str, ...]:
        """Dims that can have a loop (some candidate bound > 1), in DIMS order."""
        return tuple(self.targets)

    def free(self, dim: str) -> tuple[Slot, ...]:
        """Slots where `dim`'s factor is a decision."""
        return tuple(s for s in self.places if (dim, s) not in self.fixed)

    def may_loop(self, dim: str, slot: Slot) -> bool:
        """Whether `dim` can have a factor > 1 at `slot`."""
        return dim in self.targets and self.fixed.get((dim, slot), 2) != 1

    def position(self, slot: Slot) -> int:
        """Index of `slot` in nest order."""
        return self.places.index(slot)

    def slots_below(self, level: int) -> tuple[Slot, ...]:
        """Slots inside level `level`'s temporal loops: its tile (temporal at `level` and below, their fanouts)."""
        return self.places[self.position(("T", level)):]

    def spatial_between(self, top: int, bottom: int) -> tuple[tuple[int, Slot], ...]:
        """(fanout index, slot) of the fanouts below levels top..bottom-1 (bottom = levels: down to the MACs)."""
        out = []
        for lv in range(top, bottom):
            j = self.fanout_below.get(lv)
            if j is not None:
                out += [(j, ("X", j)), (j, ("Y", j))]
        return tuple(out)


def build_nest(workload: Workload, arch: Arch, allow_padding: bool) -> Nest:
    """Slots, forced factors (`slots.py`) and (dominance-pruned) padding candidates."""
    shape = slots(arch)
    places = list(shape.places)
    bounds = workload.dims
    wanted = {d: padded_bounds(b) if allow_padding else (b,) for d, b in bounds.items()}
    active = [d for d in DIMS if max(wanted[d]) > 1]
    fixed = {(d, s): f for s in places for d in active if (f := shape.forced(arch, d, s, bounds[d])) is not None}
    targets, dropped = {}, {}
    prune = allow_padding and _updates_cost_no_more_than_writes(arch)
    for d in active:
        keep = _viable(wanted[d], d, places, fixed)
        if not keep:
            raise _no_bound_fits(workload, arch, d, wanted[d], fixed)
        if prune:
            kept = padding_candidates(keep, d, places, fixed, shape.caps)
            dropped[d] = tuple(b for b in keep if b not in kept)
            keep = kept
        targets[d] = keep
    kmax = {}
    for d, cands in targets.items():
        exps: dict[int, int] = {}
        for b in cands:
            for p, k in prime_exponents(b).items():
                exps[p] = max(exps.get(p, 0), k)
        kmax[d] = exps
    return Nest(workload, arch, tuple(places), shape.fanout_below, shape.fanout_parent, targets, kmax, fixed,
                shape.caps, dropped)


def _viable(cands: tuple[int, ...], dim: str, places: list[Slot], fixed: dict) -> tuple[int, ...]:
    """Candidate bounds the fixed factors divide (the others have no mapping); all fixed: exact product."""
    forced = prod(fixed.get((dim, s), 1) for s in places)
    any_free = any((dim, s) not in fixed for s in places)
    return tuple(b for b in cands if b % forced == 0 and (any_free or b == forced))


def _no_bound_fits(workload: Workload, arch: Arch, dim: str, cands: tuple[int, ...],
                   fixed: dict[tuple[str, Slot], int]) -> InfeasibleLayer:
    """The error for a dim whose fixed factors leave no candidate bound: which factors, and where."""
    where = ", ".join(f"{f} at {slot_name(arch, s)}" for (d, s), f in fixed.items() if d == dim and f > 1)
    fixes = f"fix {dim}'s factors to {where}" if where else f"fix {dim}'s factor to 1 at every level and axis"
    bounds = " or ".join(str(b) for b in cands)
    return InfeasibleLayer(f"no mapping of {workload.describe()} on arch '{arch.name}': its dataflow constraints "
                           f"{fixes}, which no factorisation of {dim} = {bounds} meets. "
                           "Relax those fixed factors, or map this layer on another arch.")


def _updates_cost_no_more_than_writes(arch: Arch) -> bool:
    return all(c.update_energy <= psum_write_energy(c, arch.accounting)
               for level in arch.levels for c in level.tensors.values())


def padding_candidates(cands: tuple[int, ...], dim: str, places: list[Slot], fixed: dict,
                       caps: dict[Slot, int]) -> tuple[int, ...]:
    """The candidates not dominated by a smaller one (module docstring); the unpadded bound always stays."""
    free = [s for s in places if (dim, s) not in fixed]
    forced = prod(fixed.get((dim, s), 1) for s in places)
    limits = tuple(caps.get(s) for s in free)
    budget = [DOMINANCE_BUDGET]
    kept = [cands[0]]
    for i, b in enumerate(cands[1:], start=1):
        smaller = tuple(c // forced for c in cands[:i])
        if not _dominated(b // forced, smaller, limits, budget):
            kept.append(b)
    return tuple(kept)


def _dominated(total: int, smaller: tuple[int, ...], limits: tuple[int | None, ...], budget: list[int]) -> bool:
    """Whether every split of `total` over the slots (within `limits`) sits above a split of a smaller value."""
    n = len(limits)

    @lru_cache(maxsize=None)
    def fits_under(value: int, k: int, caps: tuple[int, ...]) -> bool:
        """`value` splits over slots k.. with each part <= caps[k..]."""
        if k == n:
            return value == 1
        return any(f <= caps[k] and fits_under(value // f, k + 1, caps) for f in _divisors(value))

    def every_split(value: int, k: int, parts: tuple[int, ...]) -> bool:
        budget[0] -= 1
        if budget[0] < 0:
            raise _OutOfBudget
        if k == n - 1:                                 # the last slot takes the rest
            if limits[k] is not None and value > limits[k]:
                return True                            # not a split at all
            return any(fits_under(s, 0, parts + (value,)) for s in smaller)
        limit = limits[k] or value
        return all(every_split(value // f, k + 1, parts + (f,)) for f in _divisors(value) if f <= limit)

    if n == 0:
        return False
    try:
        return every_split(total, 0, ())
    except _OutOfBudget:
        return False


@lru_cache(maxsize=4096)
def _divisors(value: int) -> tuple[int, ...]:
    small = [f for f in range(1, int(value ** 0.5) + 1) if value % f == 0]
    return tuple(sorted(set(small + [value // f for f in small])))


class _OutOfBudget(Exception):
    """Dominance checking ran out of budget: keep the candidate."""
