"""Products of loop factors in CP-SAT: prime-exponent sums turned into values by one table lookup.

Every count the cost model multiplies — tile words, residencies, instances,
multicast shares, MACs — is a product of loop factors. With the factor of dim
`d` at slot `s` written as prime exponents `e[d, s, p]`, a product is a sum
of exponents per prime, and its value is ONE table lookup over those sums
(never a chain of multiplications). Each sum names as few exponent variables
as it can: a product over most slots of a dim is the bound's exponent less
the slots it leaves out (`Algebra._plain_sum`), and a product over all of
them is the bound itself, no lookup. Each table also gets one linear row,
a plane below all its entries (`supporting_plane`), the only trace of it in
CP-SAT's linear relaxation.

A `Mono` is `coef * prod factor(d, s) ** sel(d, s) * prod base ** sel`,
where every selector `sel` is affine in literals and worth 0 or 1 in every
solution (1 - reused[...], a slide literal, the constant 1). A `Poly` is a
sum of them: tile words of the input, `N*G*C*(sh*(p-1) + dh*(r-1) + 1)*...`,
expand into a few monomials with integer coefficients.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from math import floor, log, prod

from ortools.sat.python import cp_model

from accelmap.mapper.slots import Slot

Lit = object
"""A CP-SAT literal (BoolVar or its negation) or a Python bool, folded where it is known."""
Sel = tuple[int, tuple[tuple[int, int], ...]]
"""A selector: (constant, ((literal index, coefficient), ...)), affine in literals."""

ONE: Sel = (1, ())
MAX_TABLE = 400_000
"""Largest lookup table built; a larger one means the formulation is too big for this layer."""


def prime_exponents(value: int) -> dict[int, int]:
    """{prime: exponent} of a positive integer."""
    out: dict[int, int] = {}
    p = 2
    while p * p <= value:
        while value % p == 0:
            out[p] = out.get(p, 0) + 1
            value //= p
        p += 1
    if value > 1:
        out[value] = out.get(value, 0) + 1
    return out


def sel_add(a: Sel, b: Sel) -> Sel:
    """The sum of two selectors."""
    terms = dict(a[1])
    for lit, coef in b[1]:
        terms[lit] = terms.get(lit, 0) + coef
    return a[0] + b[0], tuple(sorted((k, v) for k, v in terms.items() if v))


def sel_sub(a: Sel, b: Sel) -> Sel:
    """a - b."""
    return sel_add(a, _neg(b))


def sel_max(sel: Sel) -> int:
    """An upper bound of a selector's value."""
    return sel[0] + sum(c for _, c in sel[1] if c > 0)


@dataclass(frozen=True)
class Mono:
    """coef * prod factor(d, s) ** sel * prod base ** sel (see the module docstring)."""

    coef: int
    powers: tuple[tuple[tuple[str, Slot], Sel], ...] = ()
    consts: tuple[tuple[int, Sel], ...] = ()

    @property
    def key(self) -> tuple:
        """What decides the monomial's value (everything but the coefficient)."""
        return self.powers, self.consts

    def __mul__(self, other: Mono) -> Mono:
        powers = dict(self.powers)
        for ds, sel in other.powers:
            powers[ds] = sel_add(powers[ds], sel) if ds in powers else sel
        consts = dict(self.consts)
        for base, sel in other.consts:
            consts[base] = sel_add(consts[base], sel) if base in consts else sel
        return Mono(self.coef * other.coef,
                    tuple(sorted((k, v) for k, v in powers.items() if v != (0, ()))),
                    tuple(sorted((k, v) for k, v in consts.items() if v != (0, ()) and k != 1)))


Poly = tuple[Mono, ...]


def mono(picks: dict[tuple[str, Slot], Sel] | None = None, coef: int = 1,
         consts: dict[int, Sel] | None = None) -> Mono:
    """A monomial from its factor selectors and constant bases."""
    return Mono(1) * Mono(coef, tuple(sorted((picks or {}).items())), tuple(sorted((consts or {}).items())))


def poly_mul(*polys: Poly) -> Poly:
    """The expanded product of polynomials (each a tuple of monomials, i.e. a SUM), like terms merged."""
    out: Poly = (Mono(1),)
    for poly in polys:
        out = tuple(a * b for a, b in product(out, poly))
    merged: dict[tuple, int] = {}
    for m in out:
        merged[m.key] = merged.get(m.key, 0) + m.coef
    return tuple(Mono(c, *k) for k, c in merged.items() if c)


class Algebra:
    """Owns the exponent variables' arithmetic: selectors times exponents, lookups, gates, literal logic."""

    def __init__(self, model: cp_model.CpModel, exps: dict[tuple[str, Slot, int], object],
                 kmax: dict[str, dict[int, int]], biggest: dict[str, int],
                 totals: dict[tuple[str, int], list[tuple[int, Lit]]]):
        self.model = model
        self.exps = exps                      # e[d, slot, p]: IntVar or int
        self.totals = totals                  # sum over slots of e[d, slot, p]: sum of k * pick (k * 1 unpadded)
        self.slots: dict[tuple[str, int], list[Slot]] = {}
        for dim, slot, p in exps:
            self.slots.setdefault((dim, p), []).append(slot)
        self.kmax = kmax                      # largest total exponent of p in dim d's bound
        self.biggest = biggest                # largest (padded) bound of dim d
        self.lits: dict[int, object] = {}
        self._scaled: dict[tuple, object] = {}
        self._values: dict[tuple, cp_model.IntVar] = {}
        self._ands: dict[tuple, object] = {}
        self._ors: dict[tuple, object] = {}
        self.lookups = 0
        self.table_entries = 0
        # Rows that hold in every solution and only tighten the linear relaxation: the objective's solves add
        # them (`Formulation.rows`), the tie-break's core search does without (with them a step on simba
        # MobileNetV2 features.12's expand conv went from 0.1 s to unfinished at 30 s).
        self.rows: list[cp_model.BoundedLinearExpression] = []

    # -- literals ----------------------------------------------------------------------------------

    def sel(self, lit: Lit) -> Sel:
        """The selector worth `lit` (1 when true, 0 when false)."""
        if lit is True:
            return ONE
        if lit is False:
            return 0, ()
        index = lit.index
        if index < 0:                                  # ~b is 1 - b
            self.lits[-index - 1] = ~lit
            return 1, ((-index - 1, -1),)
        self.lits[index] = lit
        return 0, ((index, 1),)

    def one_minus(self, lit: Lit) -> Sel:
        """The selector worth 1 - lit."""
        return sel_sub(ONE, self.sel(lit))

    def land(self, lits: list[Lit], name: str) -> Lit:
        """A literal equal to the conjunction of `lits` (constants folded, shared when repeated)."""
        live = []
        for lit in lits:
            if lit is False:
                return False
            if lit is not True:
                live.append(lit)
        if not live:
            return True
        if len(live) == 1:
            return live[0]
        key = tuple(sorted(lit.index for lit in live))
        if key not in self._ands:
            b = self.model.new_bool_var(name)
            self.model.add_bool_and(live).only_enforce_if(b)
            self.model.add_bool_or([b, *[~lit for lit in live]])
            self._ands[key] = b
        return self._ands[key]

    def lor(self, lits: list[Lit], name: str) -> Lit:
        """A literal equal to the disjunction of `lits`."""
        live = []
        for lit in lits:
            if lit is True:
                return True
            if lit is not False:
                live.append(lit)
        if not live:
            return False
        if len(live) == 1:
            return live[0]
        key = tuple(sorted(lit.index for lit in live))
        if key not in self._ors:
            b = self.model.new_bool_var(name)
            self.model.add_bool_or(live).only_enforce_if(b)
            for lit in live:
                self.model.add_implication(lit, b)
            self._ors[key] = b
        return self._ors[key]

    # -- exponents and values --------------------------------------------------------------------

    def _times(self, dim: str, slot: Slot, p: int, index: int) -> object:
        """e[dim, slot, p] * literal(index): an IntVar equal to the exponent when the literal holds, else 0."""
        key = (dim, slot, p, index)
        e = self.exps[dim, slot, p]
        if isinstance(e, int):
            return e * self.lits[index]
        if key not in self._scaled:
            lit = self.lits[index]
            y = self.model.new_int_var(0, self.kmax[dim][p], f"e[{dim},{slot[0]}{slot[1]},{p}]*b{index}")
            self.model.add(y == e).only_enforce_if(lit)
            self.model.add(y == 0).only_enforce_if(~lit)
            # The same lower bound as a relaxation row (see `gated`): the exponent, less its most while the
            # literal is off. edge_npu ResNet-50's 3x3 convs, energy solve, one worker, two at once: 19.3-31.9 s
            # against 23.7-37.9 s; whole layers at 30 s, 2 of the 3 FEASIBLE ones proved. The upper rows
            # (y <= e, y <= most x literal) gained nothing more.
            most = self.kmax[dim][p]
            self.rows.append(y >= e - most + most * lit)
            self._scaled[key] = y
        return self._scaled[key]

    def exponent(self, m: Mono, p: int) -> tuple[object, int]:
        """The linear expression of prime p's exponent in `m`, and an upper bound of it."""
        expr = 0
        most_by_dim: dict[str, int] = {}
        plain: dict[str, dict[Slot, int]] = {}
        for (dim, slot), sel in m.powers:
            if (dim, slot, p) not in self.exps:
                continue
            const, terms = sel
            plain.setdefault(dim, {})[slot] = const
            for index, coef in terms:
                expr += coef * self._times(dim, slot, p, index)
            most_by_dim[dim] = max(most_by_dim.get(dim, 0), sel_max(sel))
        for dim, coefs in plain.items():
            expr += self._plain_sum(dim, p, coefs)
        bound = sum(most * self.kmax[dim].get(p, 0) for dim, most in most_by_dim.items())
        for base, sel in m.consts:
            k = prime_exponents(base).get(p, 0)
            if k:
                expr += k * (sel[0] + sum(coef * self.lits[i] for i, coef in sel[1]))
                bound += k * sel_max(sel)
        return expr, bound

    def _plain_sum(self, dim: str, p: int, coefs: dict[Slot, int]) -> object:
        """sum over slots of coefs[s] * e[dim, s, p], written with as few exponent variables as possible.

        The exponents over all slots add up to the bound's (`totals`), so the
        sum also equals total - sum of (1 - coefs[s]) * e[s]. When a product
        covers most slots of a dim (the MACs, a tile times its residencies)
        that form names only the few slots left out, and propagation bounds
        the value as soon as those are fixed rather than all the others
        (ResNet-50 layer1's 3x3 conv on eyeriss, one worker: proved in 9.0 s
        instead of 13.8 s).
        """
        slots = self.slots[dim, p]
        direct = [(coefs.get(s, 0), s) for s in slots]
        complement = [(1 - coefs.get(s, 0), s) for s in slots]
        def named(form: list[tuple[int, Slot]]) -> int:
            """Exponent variables (not constants) the form names."""
            return sum(1 for c, s in form if c and not isinstance(self.exps[dim, s, p], int))
        if named(complement) < named(direct):
            total = sum(k * x for k, x in self.totals[dim, p])       # a new expression: callers add to it in place
            return total - sum(c * self.exps[dim, s, p] for c, s in complement if c)
        return sum(c * self.exps[dim, s, p] for c, s in direct if c)

    def value_cap(self, m: Mono) -> int:
        """A bound on `m`'s value in every solution: dim d contributes at most its bound to the power of
        its largest selector (the factors of d over all slots multiply to the bound)."""
        most: dict[str, int] = {}
        for (dim, _), sel in m.powers:
            most[dim] = max(most.get(dim, 0), sel_max(sel))
        cap = prod(self.biggest[dim] ** k for dim, k in most.items())
        return cap * prod(base ** sel_max(sel) for base, sel in m.consts)

    def primes_of(self, m: Mono) -> list[int]:
        """Primes that can occur in `m`'s value."""
        found = set()
        for (dim, _), _ in m.powers:
            found.update(self.kmax[dim])
        for base, _ in m.consts:
            found.update(prime_exponents(base))
        return sorted(found)

    def value(self, m: Mono) -> object:
        """An IntVar (or int) equal to `m`'s value without its coefficient: one table lookup.

        The table lists every combination of the exponent sums with its value
        (`add_allowed_assignments`): propagation is exact per prime. At CP-SAT's
        default linearization level the table stays out of the LP (ResNet-50
        layer1's 3x3 conv on eyeriss: 67 rows, 110 columns); level 2, which adds
        it, left that layer unproved at 90 s (14 s at level 1). The LP gets one
        supporting plane of the table instead (`_tangent`). (One `add_element` over a
        mixed-radix index of the sums propagates only intervals of that index,
        which loses the per-prime structure; it proved 2-3x slower here.)
        """
        key = m.key
        if key in self._values:
            return self._values[key]
        parts = []
        for p in self.primes_of(m):
            expr, bound = self.exponent(m, p)
            if bound > 0:
                parts.append((p, expr, bound))
        if not parts:
            return 1
        if all(isinstance(expr, int) for _, expr, _ in parts):      # every slot covered: the bound itself
            return prod(p ** expr for p, expr, _ in parts)
        size = prod(b + 1 for _, _, b in parts)
        cap = self.value_cap(m)
        if size > MAX_TABLE or cap >= 1 << 62:
            raise OverflowError(f"a lookup table of {size} entries up to {cap:.3g} "
                                f"(primes {[p for p, _, _ in parts]})")
        points = [(*xs, v) for xs in product(*(range(b + 1) for _, _, b in parts))
                  if (v := prod(p ** x for (p, _, _), x in zip(parts, xs))) <= cap]
        value = self.model.new_int_var(1, max(v for *_, v in points), f"val{len(self._values)}")
        self.model.add_allowed_assignments([expr for _, expr, _ in parts] + [value], points)
        self._tangent(parts, points, value)
        self.lookups += 1
        self.table_entries += len(points)
        self._values[key] = value
        return value

    def _tangent(self, parts: list[tuple[int, object, int]], points: list[tuple[int, ...]], value) -> None:
        """value >= sum of a_p * (exponent sum of p) + b, the table's `supporting_plane`, as a linear row.

        The table stays out of CP-SAT's LP; this one row lets the LP price
        moving a factor out of a product near its largest value. Phase 1 of
        thirteen ResNet-50 convs (conv1 and the 3x3s on simba, eyeriss and
        edge_npu, one worker): 166 s instead of 243 s, faster on each layer;
        a plane at the middle point (235 s), a secant through the largest entry
        and its neighbours (201 s) or planes at five points (slower on eyeriss) gained less.
        """
        plane = supporting_plane([p for p, _, _ in parts], points)
        if plane is not None:
            slopes, b = plane
            self.model.add(value >= sum(a * expr for a, (_, expr, _) in zip(slopes, parts)) + b)

    def gated(self, poly: Poly, gate: Lit, name: str) -> tuple[object, int, int]:
        """The polynomial's value when `gate` holds, else 0: an IntVar (or 0), with its bounds.

        Its domain starts at 0: every count is >= 0, which the signed expansion
        of halos hides from the solver (stating it is what makes proofs fast).
        A gated one also gets the relaxation row `var >= lo * gate` (`rows`),
        which holds either way: a count whose gate is one of several alternatives
        (which level is a tensor's parent, or its innermost keeper) then
        keeps, in CP-SAT's linear relaxation, the least value of whichever
        alternatives it weighs, where the enforced equalities alone let it
        drop towards 0. Proofs got faster: edge_npu ResNet-50's 3x3 convs,
        energy solve alone, one worker, two at once: 22.1-32.5 s against
        28.9-42.4 s.
        """
        if gate is False or not poly:
            return 0, 0, 0
        expr, lo, hi = 0, 0, 0
        for m in poly:
            v = self.value(m)
            vlo, vhi = bounds_of(v)
            expr += m.coef * v
            lo += min(m.coef * vlo, m.coef * vhi)
            hi += max(m.coef * vlo, m.coef * vhi)
        lo = max(lo, 0)
        var = self.model.new_int_var(lo if gate is True else 0, hi, name)
        if gate is True:
            self.model.add(var == expr)
        else:
            self.model.add(var == expr).only_enforce_if(gate)
            self.model.add(var == 0).only_enforce_if(~gate)
            if lo > 0:
                self.rows.append(var >= lo * gate)
        return var, (lo if gate is True else 0), hi


def supporting_plane(primes: list[int], points: list[tuple[int, ...]]) -> tuple[list[int], int] | None:
    """(a, b) with value >= a . x + b on every row (x..., value) of a lookup table of prod p ** x_p.

    The product is exp(sum of x_p * ln p), convex in x, so its tangent plane
    at any point lies below it: a_p is the gradient at the largest row
    (value * ln p, rounded down) and b the least of value - a . x over the
    rows, so the plane holds on each row whatever the rounding. None when the
    coefficients would come near CP-SAT's int64 limit.
    """
    *top, v0 = max(points, key=lambda row: row[-1])
    slopes = [floor(v0 * log(p)) for p in primes]
    if max(slopes) * max(1, *top) * len(primes) >= 1 << 60:
        return None
    return slopes, min(row[-1] - sum(a * x for a, x in zip(slopes, row)) for row in points)


def _neg(sel: Sel) -> Sel:
    return -sel[0], tuple((i, -c) for i, c in sel[1])


def bounds_of(var: object) -> tuple[int, int]:
    """Lower and upper bound of an IntVar's domain (or of an int)."""
    if isinstance(var, int):
        return var, var
    dom = list(var.proto.domain)          # the proto's repeated field does not index from the end
    return dom[0], dom[-1]
