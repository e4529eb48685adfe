"""The static shape of the mapspace: which loops may sit where, and what each level may keep.

The one owner of these rules. `mapspace` (counting, enumeration, sampling),
`validity` (checking a mapping) and the CP-SAT formulation (`cpsat.nest`)
all read them here, so "proved optimal" covers exactly the space that is
counted and checked.

- **Slots**, outermost first: level 0's temporal loops, the X and Y axes of
  the fanout below level 0 (if any), level 1's temporal loops, ... A slot is
  ("T", level), ("X", fanout) or ("Y", fanout).
- **Forced factors**: a dim's factor at a slot is fixed by a dataflow
  constraint (one above the layer's bound is the bound: `fixed_factor`);
  forced to 1 when a residual constraint (factor 0: "the whole
  remaining bound") of that dim sits at another slot, when the fanout axis
  does not allow the dim, when the axis is one wide or when a bound caps it
  at 1; free otherwise.
- **Factor bounds**: a free factor may be limited to [least, most] by a
  level's `min_factors` / `max_factors` or a fanout axis's.
- **Keep sets**: DRAM keeps every tensor; a buffer-less level nothing; other
  levels a subset of `Level.keeps` honouring forced keep / bypass.
- **Loop orders**: any order at a temporal level, except that the dims a
  level's permutation constraint lists keep that relative order, and the
  dims its `innermost_loops` lists are its innermost loops in that order,
  every other loop outside them.
- **Padding**: a dim's bound may be raised to one of its `padded_bounds`.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import product

from accelmap.arch.spec import Arch
from accelmap.ir.workload import TENSORS
from accelmap.mapper.mapping import Loop, Mapping, SpatialLoops

Slot = tuple[str, int]
"""Where a loop sits: ("T", level index) temporal, ("X", fanout index) or ("Y", fanout index) spatial."""


@dataclass(frozen=True)
class Slots:
    """The slots of an arch in nest order and the constraint-fixed factors at each."""

    places: tuple[Slot, ...]
    fanout_below: dict[int, int]                  # level -> index of the fanout below it
    fanout_parent: dict[int, int]                 # fanout index -> its parent level
    caps: dict[Slot, int]                         # spatial slot -> axis size
    constrained: dict[Slot, dict[str, int]]       # slot -> dim -> fixed factor (0: the remaining bound)
    limits: dict[Slot, dict[str, tuple[int, int | None]]]   # slot -> dim -> (least, most or None)

    def forced(self, arch: Arch, dim: str, slot: Slot, bound: int) -> int | None:
        """The factor `dim` (of the layer's `bound`) must take at `slot` (module docstring), or None when
        it is a decision."""
        fix = self.constrained.get(slot, {})
        if fix.get(dim):
            return fixed_factor(fix[dim], bound)
        residual = [s for s, f in self.constrained.items() if f.get(dim) == 0]
        if residual and residual != [slot]:
            return 1                              # the whole remaining bound sits at the residual slot
        if slot[0] != "T" and (not axis_allows(arch, slot, dim) or self.caps[slot] == 1):
            return 1
        if self.limits.get(slot, {}).get(dim, (1, None))[1] == 1:
            return 1
        return None

    def position(self, slot: Slot) -> int:
        """Index of `slot` in nest order."""
        return self.places.index(slot)


def slots(arch: Arch) -> Slots:
    """The slots of `arch` in nest order, with axis sizes and the constraints' fixed factors."""
    fanout_below, fanout_parent = {}, {}
    places: list[Slot] = []
    for i, level in enumerate(arch.levels):
        places.append(("T", i))
        j = next((j for j, f in enumerate(arch.fanouts) if f.parent == level.name), None)
        if j is not None:
            fanout_below[i], fanout_parent[j] = j, i
            places += [("X", j), ("Y", j)]
    caps = {("X", j): f.x for j, f in enumerate(arch.fanouts)}
    caps.update({("Y", j): f.y for j, f in enumerate(arch.fanouts)})
    return Slots(tuple(places), fanout_below, fanout_parent, caps, fixed_factors(arch), factor_limits(arch))


def slot_name(arch: Arch, slot: Slot) -> str:
    """A slot in words: 'level GLB' or 'fanout PE_array X'."""
    kind, index = slot
    if kind == "T":
        return f"level {arch.levels[index].name}"
    return f"fanout {arch.fanouts[index].name} {kind}"


def fixed_factor(want: int, bound: int) -> int:
    """The factor a constraint fixing a dim's factor to `want` (> 0) asks of a layer whose bound is `bound`:
    `want`, or the bound when `want` exceeds it. Timeloop's rule ("Constraint M=8 exceeds problem
    dimension M=1. Setting constraint M=1"): a design fixing 8 output channels across its array maps a
    depthwise conv (one output channel per group) with one, rather than having no mapping for it."""
    return min(want, bound)


def fixed_factors(arch: Arch) -> dict[Slot, dict[str, int]]:
    """The factors the arch's constraints fix, per slot; a temporal 0 means "the whole remaining bound"."""
    fixed: dict[Slot, dict[str, int]] = {}
    names = [level.name for level in arch.levels]
    fanouts = [fanout.name for fanout in arch.fanouts]
    for con in arch.level_constraints:
        if con.level in names and con.factors:
            fixed[("T", names.index(con.level))] = dict(con.factors)
    for con in arch.fanout_constraints:
        if con.fanout in fanouts:
            j = fanouts.index(con.fanout)
            for axis, factors in (("X", con.x_factors), ("Y", con.y_factors)):
                if factors:
                    fixed[(axis, j)] = dict(factors)
    return fixed


def factor_limits(arch: Arch) -> dict[Slot, dict[str, tuple[int, int | None]]]:
    """Per slot and dim, (least, most) a factor may be by the constraints' bounds (most None: no cap)."""
    names = [level.name for level in arch.levels]
    fanouts = [fanout.name for fanout in arch.fanouts]
    bounds: list[tuple[Slot, dict[str, int], dict[str, int]]] = []
    for con in arch.level_constraints:
        if con.level in names:
            bounds.append((("T", names.index(con.level)), con.min_factors, con.max_factors))
    for con in arch.fanout_constraints:
        if con.fanout in fanouts:
            j = fanouts.index(con.fanout)
            bounds += [(("X", j), con.x_min_factors, con.x_max_factors),
                       (("Y", j), con.y_min_factors, con.y_max_factors)]
    limits: dict[Slot, dict[str, tuple[int, int | None]]] = {}
    for slot, least, most in bounds:
        for dim in {*least, *most}:
            limits.setdefault(slot, {})[dim] = (least.get(dim, 1), most.get(dim))
    return limits


def axis_allows(arch: Arch, slot: Slot, dim: str) -> bool:
    """Whether the fanout axis `slot` may unroll `dim` (its `x_dims` / `y_dims`)."""
    fanout = arch.fanouts[slot[1]]
    allowed = fanout.x_dims if slot[0] == "X" else fanout.y_dims
    return allowed is None or dim in allowed


def slot_loops(mapping: Mapping) -> dict[Slot, tuple[Loop, ...]]:
    """A mapping's loops by slot."""
    loops: dict[Slot, tuple[Loop, ...]] = {("T", i): level for i, level in enumerate(mapping.temporal)}
    for j, fan in enumerate(mapping.spatial):
        loops[("X", j)], loops[("Y", j)] = fan.x, fan.y
    return loops


def with_slot_loops(mapping: Mapping, loops: dict[Slot, tuple[Loop, ...]]) -> Mapping:
    """`mapping` with its loops replaced by `loops` (by slot, as `slot_loops` gives them)."""
    temporal = tuple(loops[("T", i)] for i in range(len(mapping.temporal)))
    spatial = tuple(SpatialLoops(loops[("X", j)], loops[("Y", j)]) for j in range(len(mapping.spatial)))
    return Mapping(temporal, spatial, mapping.keep, mapping.padded)


# -- keep sets -------------------------------------------------------------------------------------

def level_tensors(arch: Arch, level: int) -> tuple[str, ...]:
    """Tensors level `level` can keep before constraints (DRAM: all; buffer-less: none)."""
    if level == 0:
        return TENSORS
    lv = arch.levels[level]
    return tuple(t for t in TENSORS if lv.storage and t in lv.keeps)


def forced_keep(arch: Arch, level: int) -> tuple[frozenset[str], frozenset[str]]:
    """(tensors level `level` must keep, tensors it must bypass) by its dataflow constraint."""
    name = arch.levels[level].name
    con = next((c for c in arch.level_constraints if c.level == name), None)
    return (con.keep, con.bypass) if con else (frozenset(), frozenset())


def keep_choice(arch: Arch, level: int, tensor: str) -> bool | None:
    """True / False when level `level` must / cannot keep `tensor`, None when it is a decision."""
    if level == 0:
        return True
    keep, bypass = forced_keep(arch, level)
    if tensor not in level_tensors(arch, level) or tensor in bypass:
        return False
    return True if tensor in keep else None


def keep_candidates(arch: Arch, level: int) -> list[frozenset[str]]:
    """Every keep set level `level` allows before capacity, in a fixed order."""
    choices = [keep_choice(arch, level, t) for t in TENSORS]
    sets = product(*([c] if c is not None else [False, True] for c in choices))
    return [frozenset(t for t, bit in zip(TENSORS, bits) if bit) for bits in sets]


# -- loop orders -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class OrderRule:
    """A level's loop-order constraint: `dims` (outermost first) keep this relative order; with
    `rest_outside` they are also the level's innermost loops, every other loop outside them."""

    dims: tuple[str, ...] = ()
    rest_outside: bool = False


def order_rule(arch: Arch, level: int) -> OrderRule:
    """The loop-order constraint at `level` (`permutation` or `innermost_loops`); empty for none."""
    name = arch.levels[level].name
    for c in arch.level_constraints:
        if c.level == name and (c.permutation or c.innermost_loops):
            return OrderRule(c.permutation or c.innermost_loops, rest_outside=bool(c.innermost_loops))
    return OrderRule()


def arrange(dims: list[str], rule: OrderRule) -> tuple[str, ...]:
    """`dims` in an order the rule allows, otherwise as given (the rule's dims last when they are innermost)."""
    listed = [d for d in rule.dims if d in dims]
    if rule.rest_outside:
        return tuple([d for d in dims if d not in listed] + listed)
    placed = iter(listed)
    return tuple(next(placed) if d in listed else d for d in dims)


def order_allowed(order: tuple[str, ...], rule: OrderRule) -> bool:
    """Whether a level's loop order (outermost first) keeps its order rule."""
    listed = [d for d in order if d in rule.dims]
    if listed != [d for d in rule.dims if d in listed]:
        return False
    return not rule.rest_outside or list(order[len(order) - len(listed):]) == listed


# -- padding ---------------------------------------------------------------------------------------

def max_padded_bound(bound: int) -> int:
    """The largest bound a dim may be padded to: one more, or an eighth more for bounds >= 16.

    A bound of 1 is never padded (that would only add idle iterations).
    """
    return bound if bound == 1 else bound + max(1, bound // 8)


@lru_cache(maxsize=None)
def padded_bounds(bound: int) -> tuple[int, ...]:
    """The bound, then the values it may be padded to: the 5-smooth ones (no prime factor above 5) up to
    `max_padded_bound`.

    Padding pays only through a better factorisation (a tile or an axis
    that divides evenly); the smooth values have the most ways to split.
    Keeping only them keeps the solver's prime set small ({2, 3, 5} and
    the bound's own): every value in the range would bring its own primes.
    """
    return (bound, *(n for n in range(bound + 1, max_padded_bound(bound) + 1) if _smooth(n)))


def _smooth(n: int) -> bool:
    for p in (2, 3, 5):
        while n % p == 0:
            n //= p
    return n == 1

