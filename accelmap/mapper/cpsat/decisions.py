"""The decision variables of the CP-SAT formulation and the literals that follow from them.

Decisions (the mapspace's four sub-spaces):

- `pick[d, b]`: dim d's bound is the candidate b (only with padding);
- `e[d, s, p]`: exponent of prime p in dim d's factor at slot s;
- the loop order at each level, as what the cost sees of it: `group[m, g]`,
  `inside[m, t, d]` and `jd[m, d]` below (a level under an order rule,
  permutation or innermost loops, gets a total order `before[m, a, b]` and
  the same three from it);
- `keep[i, t]`: level i keeps tensor t.

Derived literals (each defined exactly, both directions, so every solution's
objective is its mapping's cost):

- `nz[m, d]`: level m has a loop over d (factor > 1);
- `group[m, g]`: the innermost loop of level m is irrelevant to tensor g (or is G);
- `inside[m, t, d]`: d, irrelevant to t, sits inside every loop of level m relevant to t;
- `jd[m, d]`: d is the innermost loop of level m relevant to I (the candidate sliding loop);
- `clear[i, t, m]`: no loop relevant to t at levels m+1..i-1;
- `reused[i, t, m, d] = clear and inside`: the level-m loop over d does not refetch t's tile at level i;
- `link[j, i, t]`: j is the nearest level above i that keeps t (i's parent);
- `innermost[k, t]`: k is the innermost level keeping t (the MACs' source);
- `slide[i, m, d]`: I's fills of level i slide along d's loop at level m (it is the innermost
  relevant loop above i, and consecutive windows overlap).
"""
from __future__ import annotations

from itertools import product
from math import prod

from ortools.sat.python import cp_model

from accelmap.arch.spec import Arch
from accelmap.ir.workload import DIMS, TENSORS
from accelmap.mapper.cpsat.nest import Nest
from accelmap.mapper.cpsat.terms import ONE, Algebra, Lit, Mono, mono, prime_exponents, sel_sub
from accelmap.mapper.slots import OrderRule, Slot, factor_limits, keep_choice, order_rule

WINDOW = {"P": ("H", "stride"), "R": ("H", "dilation"), "Q": ("W", "stride"), "S": ("W", "dilation")}
"""Sliding-window dims: the input axis each moves and whether its step is the stride or the dilation."""


class Decisions:
    """The variables and derived literals of one (workload, arch) problem."""

    def __init__(self, nest: Nest, model: cp_model.CpModel):
        self.nest = nest
        self.model = model
        self.arch: Arch = nest.arch
        self.relevant = {t: nest.workload.relevant(t) for t in TENSORS}
        self.live = {(d, s) for d in nest.active for s in nest.places if nest.fixed.get((d, s), 2) != 1}
        self.pick: dict[tuple[str, int], Lit] = {}
        self.e: dict[tuple[str, Slot, int], object] = {}
        self.totals: dict[tuple[str, int], list[tuple[int, Lit]]] = {}
        self._factor_variables()
        self.alg = Algebra(model, self.e, nest.kmax, {d: max(b) for d, b in nest.targets.items()}, self.totals)
        self.nz: dict[tuple[int, str], Lit] = {}
        self.before: dict[tuple[int, str, str], Lit] = {}
        self.keep: dict[tuple[int, str], Lit] = {}
        self._keep_variables()
        self._keep_chain()
        self._order_variables()
        self._spatial_sizes()
        self.slide: dict[tuple[int, int, str], Lit] = {}

    # -- factors ---------------------------------------------------------------------------------

    def _factor_variables(self) -> None:
        """e[d, s, p] per dim, free slot and prime; fixed slots are constants; one bound per dim."""
        nest, model = self.nest, self.model
        for d, cands in nest.targets.items():
            if len(cands) > 1:
                for b in cands:
                    self.pick[d, b] = model.new_bool_var(f"pick[{d},{b}]")
                model.add_exactly_one(self.pick[d, b] for b in cands).with_name(f"one_bound[{d}]")
            for s in nest.places:
                fixed = nest.fixed.get((d, s))
                exps = prime_exponents(fixed) if fixed is not None else {}
                for p, k in nest.kmax[d].items():
                    if fixed is not None:
                        self.e[d, s, p] = exps.get(p, 0)
                    else:
                        self.e[d, s, p] = model.new_int_var(0, k, f"e[{d},{s[0]}{s[1]},{p}]")
            # Factorisation: each prime's exponents over the slots add up to the bound's.
            for p in nest.kmax[d]:
                self.totals[d, p] = [(prime_exponents(b).get(p, 0), self.pick[d, b] if len(cands) > 1 else 1)
                                     for b in cands]
                total = sum(k * x for k, x in self.totals[d, p])
                model.add(sum(self.e[d, s, p] for s in nest.places) == total).with_name(f"factorise[{d},{p}]")
        self._factor_bounds()

    def _factor_bounds(self) -> None:
        """Factor bounds (`min_factors` / `max_factors`): the exponents may take only the values in range."""
        nest, model = self.nest, self.model
        for s, limits in factor_limits(self.arch).items():
            for d, (least, most) in limits.items():
                if d not in nest.targets:
                    if least > 1:
                        model.add_bool_or([]).with_name(f"min_factor[{d},{s[0]}{s[1]}]_of_a_unit_dim")
                    continue
                primes = list(nest.kmax[d])
                fixed = nest.fixed.get((d, s))
                if fixed is not None:
                    if fixed < least or (most is not None and fixed > most):
                        model.add_bool_or([]).with_name(f"fixed_factor[{d},{s[0]}{s[1]}]_out_of_bounds")
                    continue
                allowed = [exps for exps in product(*(range(nest.kmax[d][p] + 1) for p in primes))
                           if least <= prod(p ** k for p, k in zip(primes, exps)) <= (most or float("inf"))]
                model.add_allowed_assignments([self.e[d, s, p] for p in primes], allowed) \
                    .with_name(f"factor_bounds[{d},{s[0]}{s[1]}]")

    def factor_exps(self, d: str, s: Slot) -> list[object]:
        """The exponent variables of d's factor at s."""
        return [self.e[d, s, p] for p in self.nest.kmax.get(d, {})]

    def _spatial_sizes(self) -> None:
        """Fanout sizes: the factors on one axis multiply to at most its size."""
        nest = self.nest
        for s, cap in nest.caps.items():
            picks = {(d, s): ONE for d in nest.active if nest.may_loop(d, s)}
            used = self.alg.value(mono(picks)) if picks else 1
            fixed = prod(nest.fixed.get((d, s), 1) for d in nest.active if not nest.may_loop(d, s))
            self.model.add(fixed * used <= cap).with_name(f"axis_size[{s[0]}{s[1]}]")

    # -- loop orders -----------------------------------------------------------------------------

    def order_dims(self, m: int) -> list[str]:
        """Dims that can have a loop at level m."""
        return [d for d in self.nest.active if self.nest.may_loop(d, ("T", m))]

    def _order_variables(self) -> None:
        """nz[m, d] per level; then the loop order's class (or, under a permutation constraint, a total order).

        Only what the cost sees of an order is decided: `inside[m, t, d]` and
        `jd[m, d]`. The innermost level's order is never seen (no keeper lies below it).
        """
        model, nest = self.model, self.nest
        for m in range(nest.levels):
            for d in self.order_dims(m):
                if nest.fixed.get((d, ("T", m))):
                    self.nz[m, d] = True
                    continue
                self.nz[m, d] = model.new_bool_var(f"nz[{m},{d}]")
                exps = self.factor_exps(d, ("T", m))
                model.add(sum(exps) >= 1).only_enforce_if(self.nz[m, d])
                model.add(sum(exps) == 0).only_enforce_if(~self.nz[m, d])
        self.group: dict[tuple[int, str], Lit] = {}
        self.inside: dict[tuple[int, str, str], Lit] = {}
        self.jd: dict[tuple[int, str], Lit] = {}
        for m in range(nest.levels - 1):
            if self._rule(m).dims:
                self._total_order(m)
            else:
                self._order_class(m)

    def _rule(self, m: int) -> OrderRule:
        return order_rule(self.arch, m)

    def _order_class(self, m: int) -> None:
        """The order's class at level m, exactly the features some permutation of its loops has.

        group[m, t]: the innermost loop is irrelevant to t (t = W, I, O), or is G;
        inside[m, t, d]: d is among t's irrelevant loops below all its relevant ones
        (a non-empty set, and only for the group's tensor); jd[m, d]: the
        innermost I-relevant loop is the sliding dim d (none: it is N, G or C).
        """
        model, alg = self.model, self.alg
        dims = self.order_dims(m)
        has = {d: self.has_loop(m, d) for d in dims}
        groups = {t: [d for d in dims if d not in self.relevant[t]] for t in TENSORS}
        for t, irr in groups.items():
            if irr:
                self.group[m, t] = model.new_bool_var(f"group[{m},{t}]")
        if "G" in dims:
            self.group[m, "G"] = model.new_bool_var(f"group[{m},G]")
            _implies(model, self.group[m, "G"], has["G"])
        any_loop = alg.lor(list(has.values()), f"any_loop[{m}]")
        # One group when the level has a loop, none otherwise.
        model.add(sum(self.group.get((m, g), 0) for g in (*TENSORS, "G")) == _as_int(any_loop))
        for t, irr in groups.items():
            if not irr:
                continue
            rel = self.has_relevant(m, t)
            for d in irr:
                self.inside[m, t, d] = ins = model.new_bool_var(f"inside[{m},{t},{d}]")
                _implies(model, ins, has[d])
                _implies(model, ins, self.group[m, t])
                # A loop of the group left out of the innermost run needs a relevant loop to stand between.
                model.add_bool_or(_live([~self.group[m, t], _not(has[d]), ins, rel]))
                # With no relevant loop at all, every irrelevant loop is inside.
                model.add_bool_or(_live([_not(has[d]), rel, ins]))
            model.add_bool_or([~self.group[m, t], *[self.inside[m, t, d] for d in irr]])
        self._innermost_relevant_class(m, dims, has)

    def _innermost_relevant_class(self, m: int, dims: list[str], has: dict) -> None:
        """jd[m, d] for the sliding dims: which one (if any) is the innermost loop relevant to I."""
        model = self.model
        sliding = [d for d in dims if d in WINDOW]
        if not sliding:
            return
        for d in sliding:
            self.jd[m, d] = jd = model.new_bool_var(f"jd[{m},{d}]")
            _implies(model, jd, has[d])
            if (m, "G") in self.group:
                _implies(model, jd, ~self.group[m, "G"])
            owner = "W" if d in ("P", "Q") else "O"         # the group whose innermost run d can end
            other = "O" if owner == "W" else "W"
            if (m, owner) in self.group:
                model.add_bool_or([~jd, ~self.group[m, owner], self.inside[m, owner, d]])
            if (m, other) in self.group:
                _implies(model, jd, ~self.group[m, other])
        model.add_at_most_one(self.jd[m, d] for d in sliding)
        jds = [self.jd[m, d] for d in sliding]
        # Group W ends with N or a sliding P/Q; group O with C or a sliding R/S.
        for owner, plain in (("W", "N"), ("O", "C")):
            if (m, owner) in self.group:
                ends = [self.jd[m, d] for d in sliding if (d in ("P", "Q")) == (owner == "W")]
                model.add_bool_or(_live([~self.group[m, owner], self.inside.get((m, owner, plain), False), *ends]))
        # Group I: the loop just outside K is a sliding dim, or N, G or C, or there is no I-relevant loop.
        if (m, "I") in self.group:
            plain = [has[d] for d in dims if d in ("N", "G", "C")]
            for d in sliding:
                model.add_bool_or(_live([~self.group[m, "I"], *jds, *plain, _not(has[d])]))

    def _total_order(self, m: int) -> None:
        """before[m, a, b] as a total order (for a level with an order rule), and the features from it."""
        model = self.model
        dims = self.order_dims(m)
        for x, a in enumerate(dims):
            for b in dims[x + 1:]:
                self.before[m, a, b] = model.new_bool_var(f"before[{m},{a},{b}]")
        # Transitivity: no cycle on any three loops.
        for x, a in enumerate(dims):
            for y, b in enumerate(dims[x + 1:], start=x + 1):
                for c in dims[y + 1:]:
                    ab, bc, ac = self.before[m, a, b], self.before[m, b, c], self.before[m, a, c]
                    model.add_bool_or([~ab, ~bc, ac])
                    model.add_bool_or([ab, bc, ~ac])
        # Factor-1 loops (not in the mapping) sit outermost in DIMS order: one order per class of mappings.
        for x, a in enumerate(dims):
            for b in dims[x + 1:]:
                ab = self.before[m, a, b]
                model.add_bool_or(_live([self.nz[m, a], ab]))
                model.add_bool_or(_live([_not(self.nz[m, a]), self.nz[m, b], ~ab]))
        # Order rule: the listed dims that have loops appear in the listed order ...
        rule = self._rule(m)
        chain = [d for d in rule.dims if d in dims]
        for x, a in enumerate(chain):
            for b in chain[x + 1:]:
                model.add_bool_or(_live([_not(self.nz[m, a]), _not(self.nz[m, b]), self.outside(m, a, b)]))
        # ... and, for innermost loops, inside every other loop of the level.
        for a in chain if rule.rest_outside else ():
            for b in (d for d in dims if d not in rule.dims):
                model.add_bool_or(_live([_not(self.nz[m, a]), _not(self.nz[m, b]), self.outside(m, b, a)]))
        for t in TENSORS:
            rel = [r for r in dims if r in self.relevant[t]]
            for d in dims:
                if d not in self.relevant[t]:
                    self.inside[m, t, d] = self.alg.land(
                        [self.has_loop(m, d), *[self._ok(m, r, d) for r in rel]], f"inside[{m},{t},{d}]")
        for d in dims:
            if d in WINDOW:
                rel = [r for r in dims if r in self.relevant["I"] and r != d]
                self.jd[m, d] = self.alg.land([self.has_loop(m, d), *[self._ok(m, r, d) for r in rel]],
                                              f"jd[{m},{d}]")

    def outside(self, m: int, a: str, b: str) -> Lit:
        """a's loop is outside b's at level m (total-order levels only)."""
        if DIMS.index(a) < DIMS.index(b):
            return self.before[m, a, b]
        return ~self.before[m, b, a]

    def _ok(self, m: int, r: str, d: str) -> Lit:
        """r has no loop at level m, or its loop is outside d's."""
        return self.alg.lor([_not(self.has_loop(m, r)), self.outside(m, r, d)], f"ok[{m},{r},{d}]")

    def has_loop(self, m: int, d: str) -> Lit:
        """nz[m, d], False when d cannot loop at m."""
        return self.nz.get((m, d), False)

    # -- keep ------------------------------------------------------------------------------------

    def _keep_variables(self) -> None:
        """keep[i, t]: a constant where `slots.keep_choice` decides it, a decision otherwise."""
        for i in range(len(self.arch.levels)):
            for t in TENSORS:
                choice = keep_choice(self.arch, i, t)
                self.keep[i, t] = choice if choice is not None else self.model.new_bool_var(f"keep[{i},{t}]")

    def _keep_chain(self) -> None:
        """Implied by the definitions, stated for the LP: one innermost keeper per tensor, one parent per keeper."""
        levels = self.nest.levels
        for t in TENSORS:
            self.model.add(sum(_as_int(self.innermost(k, t)) for k in range(levels)) == 1)
            for i in range(1, levels):
                if self.keep[i, t] is not False:
                    self.model.add(sum(_as_int(self.link(j, i, t)) for j in range(i)) == _as_int(self.keep[i, t]))

    def link(self, j: int, i: int, t: str) -> Lit:
        """Level j is the parent of keeper i for t (the nearest level above i that keeps t)."""
        return self.alg.land([self.keep[j, t], self.keep[i, t], *[_not(self.keep[m, t]) for m in range(j + 1, i)]],
                             f"link[{j},{i},{t}]")

    def innermost(self, k: int, t: str) -> Lit:
        """Level k is the innermost keeper of t: the MACs read (or update) t there."""
        return self.alg.land([self.keep[k, t], *[_not(self.keep[m, t]) for m in range(k + 1, self.nest.levels)]],
                             f"innermost[{k},{t}]")

    # -- reuse -----------------------------------------------------------------------------------

    def inside_all(self, m: int, t: str, d: str) -> Lit:
        """inside[m, t, d]: d (irrelevant to t) has a loop at m inside every loop relevant to t there."""
        return self.inside.get((m, t, d), False)

    def innermost_relevant(self, m: int, d: str) -> Lit:
        """jd[m, d]: d's loop is the innermost loop of level m relevant to I."""
        return self.jd.get((m, d), False)

    def has_relevant(self, m: int, t: str) -> Lit:
        """Level m has a loop relevant to t."""
        return self.alg.lor([self.has_loop(m, r) for r in self.order_dims(m) if r in self.relevant[t]],
                            f"has_rel[{m},{t}]")

    def clear(self, i: int, t: str, m: int) -> Lit:
        """No loop relevant to t at levels m+1..i-1."""
        return self.alg.land([_not(self.has_relevant(x, t)) for x in range(m + 1, i)], f"clear[{i},{t},{m}]")

    def reused(self, i: int, t: str, m: int, d: str) -> Lit:
        """The level-m loop over d (irrelevant to t) sits inside the innermost relevant loop above level i."""
        return self.alg.land([self.clear(i, t, m), self.inside_all(m, t, d)], f"reused[{i},{t},{m},{d}]")

    # -- basic products --------------------------------------------------------------------------

    def picks(self, dims, slots) -> dict:
        """Selector 1 on each (dim, slot) that can hold a factor > 1."""
        return {(d, s): ONE for d in dims for s in slots if (d, s) in self.live}

    def tile(self, i: int, dims) -> Mono:
        """Product of `dims`' factors inside level i (temporal at i and below, their fanouts)."""
        return mono(self.picks(dims, self.nest.slots_below(i)))

    def below(self, m: int, d: str) -> Mono:
        """Product of d's factors strictly inside level m's temporal loops."""
        return mono(self.picks([d], self.nest.slots_below(m)[1:]))

    def instances(self, i: int) -> Mono:
        """Used copies of level i: the spatial factors of the fanouts above it."""
        return mono(self.picks(DIMS, [s for _, s in self.nest.spatial_between(0, i)]))

    def shrink(self, top: int, bottom: int, dims, flag: str | None) -> Mono:
        """1 / product of `dims`' spatial factors over the fanouts below levels top..bottom-1 that have `flag`.

        `flag` None takes every fanout on the way.
        """
        slots = [s for j, s in self.nest.spatial_between(top, bottom)
                 if flag is None or getattr(self.arch.fanouts[j], flag)]
        picks = self.picks(dims, slots)
        return mono({k: (-1, ()) for k in picks})

    def residencies(self, i: int, t: str, skip: dict | None = None) -> Mono:
        """Tiles of t at one instance of level i over the whole layer: temporal loops above i except the reused.

        `skip[(d, slot)]`, a selector, divides out one more loop (the sliding loop: starts = residencies / F).
        """
        picks = {}
        for m in range(i):
            for d in self.order_dims(m):
                s = ("T", m)
                sel = ONE if d in self.relevant[t] else self.alg.one_minus(self.reused(i, t, m, d))
                if skip and (d, s) in skip:
                    sel = sel_sub(sel, skip[d, s])
                picks[d, s] = sel
        return mono(picks)

    def distinct(self, i: int) -> Mono:
        """Distinct output tiles at level i: the O-relevant temporal loops above it."""
        return mono(self.picks(self.relevant["O"], [("T", m) for m in range(i)]))


def _not(lit: Lit) -> Lit:
    """The negation of a literal or constant."""
    if lit is True or lit is False:
        return not lit
    return ~lit


def _implies(model: cp_model.CpModel, a: Lit, b: Lit) -> None:
    """a => b, constants folded."""
    model.add_bool_or(_live([_not(a), b]))


def _as_int(x: Lit) -> object:
    """A literal as a 0/1 term of a linear expression."""
    return int(x) if isinstance(x, bool) else x


def _live(lits: list[Lit]) -> list[Lit]:
    """A clause's literals with constants folded ([True] when satisfied, [] when it cannot be)."""
    if any(lit is True for lit in lits):
        return [True]
    return [lit for lit in lits if lit is not False]
