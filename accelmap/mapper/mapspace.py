"""The mapspace of a workload on an arch: exact size, enumeration, uniform sampling.

One module shared by everything that searches (Timeloop's mapspace: a
product of sub-spaces, here made exact). A point is a `Mapping` that passes
`validity.check_mapping`:

- factors: each dim's bound (or, with `allow_padding`, any of its
  `padded_bounds`) split over the *slots* of the nest, outermost first:
  level 0 temporal, fanout-below-0 X, Y, level 1 temporal, ..., subject to
  axis sizes, the dims each axis allows and the constraints' fixed factors;
- orders: every order of the loops (factor > 1) at each temporal level that
  respects the level's order rule (permutation or innermost loops);
- keep: at every level, each subset of the tensors it may keep that honours
  forced keep / bypass and whose tiles fit (capacity couples keep to factors).

Spatial loops on one axis form a set (their order changes nothing), listed
in DIMS order. `size()` is an exact count, not an estimate. For every slot,
innermost first, it counts the completions of each possible tile inside it
(a vector of divisors of the bounds): the tile at a level fully decides what
fits there, so each state is weighted by its number of fitting keep sets,
and each split by its number of loop orders. The work grows with the number
of divisor vectors (a second or a few for a ResNet-50 layer); with padding,
with the union of the padded bounds' divisors, so padded counts are meant
for small layers. The same counts drive `sample()`, which walks the slots
outermost first choosing each split with probability proportional to the
completions it leaves: every valid mapping is equally likely.
`sample_walk()` draws without the counts (not uniform, but cheap where
counting is not: six-level hierarchies of big layers take tens of seconds).
"""
from __future__ import annotations

import random
import time
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import permutations, product, repeat
from math import factorial, prod

from accelmap.arch.spec import Arch
from accelmap.ir.workload import DIMS, TENSORS, Workload
from accelmap.mapper.mapping import Loop, Mapping, SpatialLoops
from accelmap.mapper.slots import (OrderRule, arrange, keep_candidates, order_allowed, order_rule, padded_bounds,
                                   slots)
from accelmap.mapper.validity import level_capacity_problems, words


@dataclass(frozen=True)
class _Slot:
    """One place loops can go: `kind` "T" (temporal, `index` = level) or "X" / "Y" (`index` = fanout).

    `fixed[p]` is the forced factor of active dim p (None: free) and
    `limits[p]` its (least, most) bounds; `cap` the axis size; `must_be[p]`
    the exact value the slots inside must multiply to when none of them is
    free (None otherwise); `rule` the level's order rule and `ordered[p]`
    whether dim p is in it.
    """

    kind: str
    index: int
    cap: int | None
    fixed: tuple[int | None, ...]
    limits: tuple[tuple[int, int | None], ...]
    must_be: tuple[int | None, ...]
    rule: OrderRule
    ordered: tuple[bool, ...]

    def orders(self, loops: int, ordered: int) -> int:
        """Loop orders of `loops` loops, `ordered` of them in the rule: n! / c!, or (n - c)! when the rule's
        dims are the innermost loops."""
        if self.rule.rest_outside:
            return factorial(loops - ordered)
        return factorial(loops) // factorial(ordered)


class Mapspace:
    """All valid mappings of `workload` on `arch` (see the module docstring for what is counted)."""

    def __init__(self, workload: Workload, arch: Arch, *, allow_padding: bool = False):
        self.workload = workload
        self.arch = arch
        self.allow_padding = allow_padding
        bounds = workload.dims
        targets = {d: padded_bounds(b) if allow_padding else (b,) for d, b in bounds.items()}
        self._active = tuple(d for d in DIMS if max(targets[d]) > 1)
        unit_bound_needs_more = any(least > 1 for limits in slots(arch).limits.values()
                                    for d, (least, _) in limits.items() if d not in self._active)
        self._targets = [] if unit_bound_needs_more else list(product(*(targets[d] for d in self._active)))
        self._keep_options = [keep_candidates(arch, i) for i in range(len(arch.levels))]
        self._slots = self._build_slots()
        self._targets_by_dim = [targets[d] for d in self._active]
        self._counts: list[dict[tuple[int, ...], int]] | None = None
        self._fits: dict[tuple[int, tuple[int, ...]], list[frozenset[str]]] = {}
        self._choices: dict[tuple[int, tuple[int, ...]], tuple[list, list[int]]] = {}
        self._divisors: dict[int, tuple[int, ...]] = {}
        self._orders_memo: dict[tuple[int, tuple[int, ...]], int] = {}

    def size(self, deadline: float | None = None) -> int:
        """The exact number of valid mappings (factors x loop orders x keep choices).

        With `deadline` (a `time.perf_counter()` value), raise `TimeoutError` if
        the counts are not done by then (deep hierarchies of big layers take
        tens of seconds); a later call starts the count again.
        """
        if self._counts is None:
            self._counts = self._count_all(deadline)
        return sum(self._count(0, target) for target in self._targets)

    def sample(self, rng: random.Random) -> Mapping:
        """A uniformly random valid mapping; raises ValueError when the mapspace is empty."""
        cumulative, total = [], 0
        for target in self._targets:
            total += self._count(0, target)
            cumulative.append(total)
        if not total:
            raise ValueError(f"no valid mapping of {self.workload.describe()} on '{self.arch.name}'")
        state = target = self._targets[bisect_right(cumulative, rng.randrange(total))]
        factors = []
        for k in range(len(self._slots)):
            moves, cumulative = self._moves(k, state)
            factor, state = moves[bisect_right(cumulative, rng.randrange(cumulative[-1]))]
            factors.append(factor)
        keep = [rng.choice(self._fitting(i, tile)) for i, tile in self._level_tiles(factors)]
        orders = [self._random_order(slot, factor, rng) for slot, factor in zip(self._slots, factors)
                  if slot.kind == "T"]
        return self._mapping(target, factors, orders, keep)

    def sample_walk(self, rng: random.Random) -> Mapping | None:
        """A random valid mapping drawn without the counts, or None when this draw fails.

        Innermost slot first, each dim's factor is a random divisor of what is
        left of its bound (1 half the time, so inner tiles stay small); the
        outermost slot takes the rest. A draw fails where a slot's rules or a
        level's capacity reject it. Not uniform over mappings, but cheap on any
        mapspace, where `sample` first needs the whole count.
        """
        if not self._targets:
            return None
        target = rng.choice(self._targets)
        below = tuple(1 for _ in self._active)
        factors: list[tuple[int, ...]] = [below] * len(self._slots)
        for k in range(len(self._slots) - 1, -1, -1):
            slot = self._slots[k]
            if k:
                factor = tuple(self._draw_factor(slot, p, t // b, rng)
                               for p, (t, b) in enumerate(zip(target, below)))
            else:
                factor = tuple(t // b for t, b in zip(target, below))
            if 0 in factor:
                return None
            state = tuple(f * b for f, b in zip(factor, below))
            options = self._options(slot, state)
            if options is None or any(f not in choice for f, choice in zip(factor, options)):
                return None
            if slot.cap is not None and prod(factor) > slot.cap:
                return None
            if slot.kind == "T" and not self._fitting(slot.index, state):
                return None
            factors[k], below = factor, state
        keep = [rng.choice(self._fitting(i, tile)) for i, tile in self._level_tiles(factors)]
        orders = [self._random_order(slot, factor, rng) for slot, factor in zip(self._slots, factors)
                  if slot.kind == "T"]
        return self._mapping(target, factors, orders, keep)

    def _draw_factor(self, slot: _Slot, p: int, left: int, rng: random.Random) -> int:
        """A factor of active dim p at `slot` for `sample_walk`, dividing `left`: 1 half the time when
        allowed, else uniform over the allowed divisors; 0 when none is allowed."""
        least, most = slot.limits[p]
        fixed, cap = slot.fixed[p], slot.cap
        allowed = [f for f in self._divisors_of(left) if (fixed is None or f == fixed) and least <= f
                   and (most is None or f <= most) and (cap is None or f <= cap)]
        if not allowed:
            return 0
        return 1 if allowed[0] == 1 and rng.random() < 0.5 else rng.choice(allowed)

    def enumerate(self) -> Iterator[Mapping]:
        """Every valid mapping, once each (a generator; meant for small workloads)."""
        for target in self._targets:
            for factors in self._factor_paths(0, target):
                keeps = [self._fitting(i, tile) for i, tile in self._level_tiles(factors)]
                orders = [list(self._orders(slot, factor)) for slot, factor in zip(self._slots, factors)
                          if slot.kind == "T"]
                for order in product(*orders):
                    for keep in product(*keeps):
                        yield self._mapping(target, factors, list(order), list(keep))

    # -- the sub-spaces --------------------------------------------------------------------------

    def _build_slots(self) -> tuple[_Slot, ...]:
        """The slots outermost first (`slots.py`), with each active dim's forced factor and the inner remainders."""
        arch = self.arch
        shape = slots(arch)
        rows = [[shape.forced(arch, dim, slot, self.workload.dims[dim]) for dim in self._active]
                for slot in shape.places]
        out = []
        for k, (kind, index) in enumerate(shape.places):
            inner = rows[k + 1:]
            must_be = tuple(None if any(r[p] is None for r in inner) else prod(r[p] for r in inner)
                            for p in range(len(self._active)))
            rule = order_rule(arch, index) if kind == "T" else OrderRule()
            limits = tuple(shape.limits.get((kind, index), {}).get(d, (1, None)) for d in self._active)
            out.append(_Slot(kind, index, shape.caps.get((kind, index)), tuple(rows[k]), limits, must_be, rule,
                             tuple(d in rule.dims for d in self._active)))
        return tuple(out)

    # -- counting ----------------------------------------------------------------------------------

    def _count(self, k: int, state: tuple[int, ...]) -> int:
        """Weighted completions of slots k.. whose factors multiply to `state` (the tile at slot k)."""
        if self._counts is None:
            self._counts = self._count_all()
        return self._counts[k].get(state, 0)

    def _count_all(self, deadline: float | None = None) -> list[dict[tuple[int, ...], int]]:
        """Counts for every state of every slot, innermost slot first.

        A slot's states are the tiles inside it: per dim, a divisor of some
        target, or the one value the slots inside multiply to when they are
        all fixed (`must_be`). Slot 0's states are the targets.
        """
        divisors = [sorted({x for t in targets for x in self._divisors_of(t)}) for targets in self._targets_by_dim]
        counts: list[dict[tuple[int, ...], int]] = [{} for _ in self._slots]
        counts.append({tuple(1 for _ in self._active): 1})
        for k in range(len(self._slots) - 1, -1, -1):
            if k == 0:
                states = self._targets
            else:
                must = self._slots[k - 1].must_be
                states = product(*([m] if m is not None else divs for m, divs in zip(must, divisors)))
            counts[k] = {}
            for n, state in enumerate(states):
                if deadline is not None and n % 256 == 0 and time.perf_counter() > deadline:
                    raise TimeoutError(f"counting the mapspace of {self.workload.describe()} on "
                                       f"'{self.arch.name}' ran past its deadline")
                counts[k][state] = self._count_at(k, state, counts[k + 1])
        return counts

    def _count_at(self, k: int, state: tuple[int, ...], below: dict[tuple[int, ...], int]) -> int:
        """count(k, state) from the counts of slot k+1 (`below`).

        A temporal slot's splits are grouped by which dims get a loop, as the
        number of loop orders depends only on that; each group's completions
        are summed over the product of the dims' remainders.
        """
        slot = self._slots[k]
        options = self._options(slot, state)
        if options is None:
            return 0
        if slot.kind != "T":
            return sum(below.get(inner, 0) for _, inner in self._splits(k, state))
        fits = len(self._fitting(slot.index, state))
        if not fits:
            return 0
        groups = []
        for value, choice, ordered in zip(state, options, slot.ordered):
            group = [(0, 0, (value,))] if 1 in choice else []
            looped = tuple(value // f for f in choice if f > 1)
            groups.append(group + [(1, int(ordered), looped)] if looped else group)
        total = 0
        for pattern in product(*groups):
            weight = slot.orders(sum(g[0] for g in pattern), sum(g[1] for g in pattern))
            total += weight * sum(map(below.get, product(*(g[2] for g in pattern)), repeat(0)))
        return total * fits

    def _options(self, slot: _Slot, state: tuple[int, ...]) -> list[tuple[int, ...]] | None:
        """Per active dim, the factors slot may take when the tile at it is `state`; None if some dim has none."""
        options = []
        for value, fixed, must, (least, most) in zip(state, slot.fixed, slot.must_be, slot.limits):
            if must is not None:
                choice = (value // must,) if value % must == 0 else ()
                if fixed is not None and choice != (fixed,):
                    choice = ()
            elif fixed is not None:
                choice = (fixed,) if value % fixed == 0 else ()
            else:
                choice = self._divisors_of(value)
            if slot.cap is not None:
                choice = tuple(c for c in choice if c <= slot.cap)
            choice = tuple(c for c in choice if least <= c and (most is None or c <= most))
            if not choice:
                return None
            options.append(choice)
        return options

    def _splits(self, k: int, state: tuple[int, ...]) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
        """(factors at slot k, the tile left inside it) for every allowed split of `state`."""
        slot = self._slots[k]
        options = self._options(slot, state)
        if options is None:
            return []
        combos = product(*options)
        if slot.cap is not None:
            combos = (c for c in combos if prod(c) <= slot.cap)
        return [(c, tuple(v // f for v, f in zip(state, c))) for c in combos]

    def _divisors_of(self, value: int) -> tuple[int, ...]:
        """Divisors of `value`, ascending (cached)."""
        hit = self._divisors.get(value)
        if hit is None:
            hit = self._divisors[value] = tuple(d for d in range(1, value + 1) if value % d == 0)
        return hit

    def _order_count(self, slot: _Slot, factor: tuple[int, ...]) -> int:
        """Loop orders at a temporal slot (`_Slot.orders`)."""
        if slot.kind != "T":
            return 1
        hit = self._orders_memo.get((slot.index, factor))
        if hit is None:
            loops = sum(1 for f in factor if f > 1)
            ordered = sum(1 for f, o in zip(factor, slot.ordered) if f > 1 and o)
            hit = self._orders_memo[(slot.index, factor)] = slot.orders(loops, ordered)
        return hit

    def _fitting(self, i: int, state: tuple[int, ...]) -> list[frozenset[str]]:
        """Keep sets of level i whose tiles fit when the tile inside level i is `state`."""
        key = (i, state)
        hit = self._fits.get(key)
        if hit is None:
            options = self._keep_options[i]
            if i and self.arch.levels[i].storage:
                tile = [1] * len(DIMS)
                for dim, value in zip(self._active, state):
                    tile[DIMS.index(dim)] = value
                sizes = {t: words(t, tile, self.workload.stride, self.workload.dilation) for t in TENSORS}
                level = self.arch.levels[i]
                options = [keep for keep in options if not level_capacity_problems(level, sizes, keep)]
            hit = self._fits[key] = options
        return hit

    # -- walking the counts --------------------------------------------------------------------------

    def _moves(self, k: int, state: tuple[int, ...]) -> tuple[list, list[int]]:
        """The splits of `state` at slot k with a completion, and their cumulative weights (cached)."""
        key = (k, state)
        hit = self._choices.get(key)
        if hit is None:
            moves, cumulative, total = [], [], 0
            for factor, inner in self._splits(k, state):
                weight = self._count(k + 1, inner) * self._order_count(self._slots[k], factor)
                if weight:
                    total += weight
                    moves.append((factor, inner))
                    cumulative.append(total)
            hit = self._choices[key] = (moves, cumulative)
        return hit

    def _factor_paths(self, k: int, state: tuple[int, ...]) -> Iterator[list[tuple[int, ...]]]:
        """Every factor assignment of slots k.. that multiplies to `state` and has a valid completion."""
        if k == len(self._slots):
            yield []
            return
        for factor, inner in self._moves(k, state)[0]:
            for rest in self._factor_paths(k + 1, inner):
                yield [factor, *rest]

    def _level_tiles(self, factors: list[tuple[int, ...]]) -> Iterator[tuple[int, tuple[int, ...]]]:
        """(level, tile inside it) for every level, from a full factor assignment."""
        tile = tuple(1 for _ in self._active)
        tiles = {}
        for slot, factor in zip(reversed(self._slots), reversed(factors)):
            tile = tuple(a * b for a, b in zip(tile, factor))
            if slot.kind == "T":
                tiles[slot.index] = tile
        return ((i, tiles[i]) for i in range(len(self.arch.levels)))

    def _orders(self, slot: _Slot, factor: tuple[int, ...]) -> Iterator[tuple[str, ...]]:
        """Every allowed loop order (outermost first) of the dims with factor > 1 at a temporal slot."""
        dims = [d for d, f in zip(self._active, factor) if f > 1]
        return (order for order in permutations(dims) if order_allowed(order, slot.rule))

    def _random_order(self, slot: _Slot, factor: tuple[int, ...], rng: random.Random) -> tuple[str, ...]:
        """A uniformly random allowed loop order: shuffle, then put the rule's dims in their places."""
        order = [d for d, f in zip(self._active, factor) if f > 1]
        rng.shuffle(order)
        return arrange(order, slot.rule)

    def _mapping(self, target: tuple[int, ...], factors: list[tuple[int, ...]],
                 orders: list[tuple[str, ...]], keep: list[frozenset[str]]) -> Mapping:
        """Assemble a `Mapping` from per-slot factors, per-level orders and keep sets."""
        temporal, spatial = [], {}
        level_orders = iter(orders)
        for slot, factor in zip(self._slots, factors):
            by_dim = dict(zip(self._active, factor))
            if slot.kind == "T":
                temporal.append(tuple(Loop(d, by_dim[d]) for d in next(level_orders)))
            else:
                spatial[(slot.kind, slot.index)] = tuple(Loop(d, by_dim[d]) for d in self._active
                                                         if by_dim[d] > 1)
        fans = tuple(SpatialLoops(x=spatial[("X", j)], y=spatial[("Y", j)])
                     for j in range(len(self.arch.fanouts)))
        bounds = self.workload.dims
        padded = tuple((d, b) for d, b in zip(self._active, target) if b != bounds[d])
        return Mapping(temporal=tuple(temporal), spatial=fans, keep=tuple(keep), padded=padded)
