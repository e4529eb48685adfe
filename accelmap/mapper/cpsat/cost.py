"""docs/cost-model.md as CP-SAT terms: traffic polynomials, then energy, cycles and capacity.

Each traffic term is (level, tensor, kind, gate, polynomial): the words of
`kind` ("fills", "reads", "drains", "updates", "first", "overwrites") the polynomial counts, present
when the gate literal holds (a keeper, a parent link, the innermost keeper).
`model.py`'s `_traffic` walks a mapping; here the same terms are written for
every mapping at once. One pricing step turns terms into integer fJ and
cycles, exactly as `_price` does.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from ortools.sat.python import cp_model

from accelmap.arch.spec import Arch
from accelmap.ir.workload import DIMS, TENSORS
from accelmap.mapper.cpsat.terms import Lit, Mono, Poly, bounds_of, mono, poly_mul
from accelmap.mapper.cpsat.decisions import WINDOW, Decisions, _not
from accelmap.mapper.model import exact_bandwidth, psum_write_energy

_TILE_DIMS = {"W": ("G", "K", "C", "R", "S"), "O": ("N", "G", "K", "P", "Q")}


@dataclass(frozen=True)
class Term:
    """Words of one kind of traffic of one tensor at one level (or one fanout), when `gate` holds."""

    where: int                 # level index, or fanout index for kind "deliveries"
    tensor: str
    kind: str                  # fills | reads | drains | updates | first | overwrites | deliveries
    gate: Lit
    poly: Poly


def tile_poly(dv: Decisions, i: int, t: str) -> Poly:
    """Words of t's tile inside level i; the input's rows and columns include the halo."""
    if t != "I":
        return (dv.tile(i, _TILE_DIMS[t]),)
    (sh, sw), (dh, dw) = dv.nest.workload.stride, dv.nest.workload.dilation
    return poly_mul((dv.tile(i, ("N", "G", "C")),), _extent(dv, i, "P", "R", sh, dh),
                    _extent(dv, i, "Q", "S", sw, dw))


def _extent(dv: Decisions, i: int, out: str, win: str, step: int, dil: int) -> Poly:
    """stride*(p-1) + dilation*(r-1) + 1 as monomials: stride*p + dilation*r + (1 - stride - dilation)."""
    return (Mono(step) * dv.tile(i, (out,)), Mono(dil) * dv.tile(i, (win,)), Mono(1 - step - dil))


def _window_possible(dv: Decisions, d: str) -> bool:
    """Whether a loop over d can ever slide with overlapping windows (halo reuse)."""
    nest = dv.nest
    (sh, sw), (dh, dw) = nest.workload.stride, nest.workload.dilation
    big = {x: max(nest.targets.get(x, (1,))) for x in ("P", "Q", "R", "S")}
    if d == "P":
        return dh * (big["R"] - 1) + 1 > sh
    if d == "R":
        return sh * (big["P"] - 1) + 1 > dh
    if d == "Q":
        return dw * (big["S"] - 1) + 1 > sw
    return sw * (big["Q"] - 1) + 1 > dw


def _slides(dv: Decisions, i: int) -> dict[tuple[int, str], Lit]:
    """slide[i, m, d]: the fills of I at level i slide along d's loop at level m with overlapping windows."""
    nest, model, alg = dv.nest, dv.model, dv.alg
    (sh, sw), (dh, dw) = nest.workload.stride, nest.workload.dilation
    step = {"P": sh, "R": dh, "Q": sw, "S": dw}
    extent = {}
    for axis, (out, win) in {"H": ("P", "R"), "W": ("Q", "S")}.items():
        so, sd = (sh, dh) if axis == "H" else (sw, dw)
        extent[axis] = (so * (alg.value(dv.tile(i, (out,))) - 1) + sd * (alg.value(dv.tile(i, (win,))) - 1) + 1)
    out = {}
    for m in range(i):
        for d in dv.order_dims(m):
            if d not in WINDOW or not _window_possible(dv, d):
                continue
            # Overlap: the window moves by less than its extent, so an advance fetches only new rows.
            overlap = model.new_bool_var(f"overlap[{i},{m},{d}]")
            shift = step[d] * alg.value(dv.below(m, d))
            model.add(shift <= extent[WINDOW[d][0]] - 1).only_enforce_if(overlap)
            model.add(shift >= extent[WINDOW[d][0]]).only_enforce_if(~overlap)
            parts = [dv.clear(i, "I", m), dv.innermost_relevant(m, d), overlap]
            if not dv.arch.accounting.halo_past_irrelevant:
                # Timeloop's accounting: no loop at all inside the sliding one (none irrelevant to I at
                # level m inside it, none at the levels between m and i).
                apart = [k for k in DIMS if k not in nest.workload.relevant("I")]
                parts += [_not(dv.inside.get((m, "I", k), False)) for k in apart]
                parts += [_not(dv.nz.get((n, k), False)) for n in range(m + 1, i) for k in apart]
            out[m, d] = alg.land(parts, f"slide[{i},{m},{d}]")
            dv.slide[i, m, d] = out[m, d]
    return out


def _input_fills(dv: Decisions, i: int, inst: Mono) -> Poly:
    """Per-layer fills of I at level i: whole tiles per start, only the new rows / columns per advance.

    fills = inst * [starts * tile + (res - starts_H) * N*G*C * cols * shift_H
                                  + (res - starts_W) * N*G*C * rows * shift_W],
    where starts divides the sliding loop out of the residencies and shift is
    stride * (P inside it) or dilation * (R inside it) (Q, S for columns).
    Without a sliding loop starts = res and the extra terms vanish.
    """
    alg, nest = dv.alg, dv.nest
    (sh, sw), (dh, dw) = nest.workload.stride, nest.workload.dilation
    slides = _slides(dv, i)
    skip = {axis: {(d, ("T", m)): alg.sel(lit) for (m, d), lit in slides.items() if WINDOW[d][0] == axis}
            for axis in ("H", "W")}
    res = dv.residencies(i, "I")
    starts = dv.residencies(i, "I", {**skip["H"], **skip["W"]})
    ngc = dv.tile(i, ("N", "G", "C"))
    rows, cols = _extent(dv, i, "P", "R", sh, dh), _extent(dv, i, "Q", "S", sw, dw)
    fills = poly_mul((inst * starts * ngc,), rows, cols)
    for axis, other in (("H", cols), ("W", rows)):
        if not skip[axis]:
            continue
        shift = _shift(dv, i, axis, {(m, d): lit for (m, d), lit in slides.items() if WINDOW[d][0] == axis})
        starts_axis = dv.residencies(i, "I", skip[axis])
        fills += poly_mul((inst * ngc * shift,), (res, Mono(-1) * starts_axis), other)
    return poly_mul(fills)


def _shift(dv: Decisions, i: int, axis: str, slides: dict[tuple[int, str], Lit]) -> Mono:
    """The window's move per advance of the sliding loop: step * that dim's factors inside the loop."""
    alg, nest = dv.alg, dv.nest
    (sh, sw), (dh, dw) = nest.workload.stride, nest.workload.dilation
    step = {"P": sh, "R": dh, "Q": sw, "S": dw}
    out = Mono(1)
    for d in sorted({d for _, d in slides}):
        by_level = {m: lit for (m, dd), lit in slides.items() if dd == d}
        picks = {}
        for s in nest.places:
            covering = [lit for m, lit in by_level.items() if nest.position(s) > nest.position(("T", m))]
            if covering and nest.may_loop(d, s):
                picks[d, s] = alg.sel(alg.lor(covering, f"shift[{i},{d},{s[0]}{s[1]}]"))
        out = out * mono(picks)
        if step[d] > 1:
            out = out * mono(consts={step[d]: alg.sel(alg.lor(list(by_level.values()), f"slides[{i},{d}]"))})
    return out


def traffic_terms(dv: Decisions) -> list[Term]:
    """Every traffic term of docs/cost-model.md: fills, parent reads, updates, plain writes, deliveries."""
    nest = dv.nest
    levels = nest.levels
    macs = mono(dv.picks(DIMS, nest.places))
    terms: list[Term] = []
    for t in TENSORS:
        irrelevant = [d for d in DIMS if d not in dv.relevant[t]]
        share = lambda top, bottom: dv.shrink(top, bottom, irrelevant, "multicast")  # noqa: E731
        merge = lambda top, bottom: dv.shrink(top, bottom, irrelevant, "reduction")  # noqa: E731
        for i in range(1, levels):
            if dv.keep[i, t] is False:
                continue
            inst = dv.instances(i)
            tile = tile_poly(dv, i, t)
            if t == "I":
                fills = _input_fills(dv, i, inst)
            elif t == "W":
                fills = poly_mul((inst * dv.residencies(i, t),), tile)
            else:
                res, distinct = dv.residencies(i, t), dv.distinct(i)
                fills = poly_mul((inst,), (res, Mono(-1) * distinct), tile)
                writeback = poly_mul((inst * res,), tile)
                terms.append(Term(i, t, "first", dv.keep[i, t], poly_mul((inst * distinct,), tile)))
                terms.append(Term(i, t, "drains", dv.keep[i, t], writeback))
            terms.append(Term(i, t, "fills", dv.keep[i, t], fills))
            for j in range(i):
                if dv.keep[j, t] is False:
                    continue
                gate = dv.link(j, i, t)
                terms.append(Term(j, t, "reads", gate, poly_mul(fills, (share(j, i),))))
                terms += _deliveries(dv, t, gate, fills, j, i, share)
                if t == "O":
                    terms.append(Term(j, t, "updates", gate, poly_mul(writeback, (merge(j, i),))))
                    handed = dv.shrink(j, i, irrelevant, None)
                    terms.append(Term(j, t, "overwrites", gate, poly_mul(fills, (handed,))))
                    terms += _deliveries(dv, t, gate, writeback, j, i, merge)
        for k in range(levels):
            if dv.keep[k, t] is False:
                continue
            gate = dv.innermost(k, t)
            shrink = merge if t == "O" else share
            terms.append(Term(k, t, "updates" if t == "O" else "reads", gate, (macs * shrink(k, levels),)))
            terms += _deliveries(dv, t, gate, (macs,), k, levels, shrink)
    terms.append(Term(0, "O", "first", True, (mono(dv.picks(_TILE_DIMS["O"], nest.places)),)))
    return terms


def _deliveries(dv: Decisions, t: str, gate: Lit, volume: Poly, top: int, bottom: int, shrink) -> list[Term]:
    """Words each fanout between `top` and `bottom` delivers: the volume, shrunk by the fanouts below it."""
    out = []
    for lv in range(top, bottom):
        j = dv.nest.fanout_below.get(lv)
        if j is not None:
            out.append(Term(j, t, "deliveries", gate, poly_mul(volume, (shrink(lv + 1, bottom),))))
    return out


@dataclass
class _Sum:
    """A linear expression over gated count variables, with its bounds."""

    expr: object = 0
    lo: int = 0
    hi: int = 0


# Partial-sum updates split into first writes, overwrites and read-modify-writes (docs/cost-model.md).
_UPDATE_KINDS = ("updates", "first", "overwrites")


def _sums(dv: Decisions, terms: list[Term], wanted: Callable[[Term], bool], label: str,
          scale: Mono | None = None) -> dict[tuple[int, str, str], _Sum]:
    """The `wanted` gated terms summed per (where, tensor, kind), each times `scale`."""
    out: dict[tuple[int, str, str], _Sum] = {}
    for n, term in enumerate(terms):
        if not wanted(term):
            continue
        poly = term.poly if scale is None else poly_mul(term.poly, (scale,))
        var, vlo, vhi = dv.alg.gated(poly, term.gate, f"{label}{term.kind}[{term.where},{term.tensor}]#{n}")
        acc = out.setdefault((term.where, term.tensor, term.kind), _Sum())
        acc.expr += var
        acc.lo += vlo
        acc.hi += vhi
    return out


def _rmw(dv: Decisions, sums: dict[tuple[int, str, str], _Sum], where: int, t: str, label: str) -> object:
    """Read-modify-writes of t at a level: updates less first writes and overwrites, as one IntVar >= 0.

    Written as a count of its own (rather than updates priced at the update
    energy and the other two at a negative difference) so every coefficient
    of the objective is >= 0, which keeps the relaxation's bound from
    collapsing below zero.
    """
    updates = sums.get((where, t, "updates"), _Sum())
    var = dv.model.new_int_var(0, max(0, updates.hi), f"{label}rmw[{where},{t}]")
    parts = sums.get((where, t, "first"), _Sum()).expr + sums.get((where, t, "overwrites"), _Sum()).expr
    dv.model.add(var == updates.expr - parts)
    return var


def _price(arch: Arch, where: int, t: str, kind: str) -> int:
    """fJ per word of one kind of a tensor's traffic at a level (a fanout for deliveries); updates
    enter as read-modify-writes, see `_rmw`."""
    if kind == "deliveries":
        return arch.fanouts[where].hop_energy
    cost = arch.levels[where].tensors[t]
    if kind in ("first", "overwrites"):
        return psum_write_energy(cost, arch.accounting)
    return {"reads": cost.read_energy, "fills": cost.write_energy, "updates": cost.update_energy,
            "drains": cost.read_energy if arch.accounting.drain_reads else 0}[kind]


def energy_expr(dv: Decisions, terms: list[Term]) -> tuple[object, int, int]:
    """Total energy in fJ: per level and tensor reads, fills, first writes and overwrites, rmw; hops; MACs."""
    arch, alg = dv.arch, dv.alg
    def priced(term: Term) -> bool:
        """Whether the term costs energy (first writes and overwrites also define read-modify-writes)."""
        if term.kind in _UPDATE_KINDS and _price(arch, term.where, term.tensor, "updates"):
            return True
        return _price(arch, term.where, term.tensor, term.kind) != 0

    sums = _sums(dv, terms, priced, "")
    total, lo, hi = 0, 0, 0
    for (where, t, kind), acc in sums.items():
        coef = _price(arch, where, t, kind)
        if kind == "updates":
            total += coef * _rmw(dv, sums, where, t, "")
            hi += coef * acc.hi
            continue
        total += coef * acc.expr
        lo += coef * acc.lo
        hi += coef * acc.hi
    mac = arch.compute.mac_energy
    if mac:
        macs = alg.value(mono(dv.picks(DIMS, dv.nest.places)))
        macs_lo, macs_hi = bounds_of(macs)
        total += mac * macs
        lo, hi = lo + mac * macs_lo, hi + mac * macs_hi
    return total, lo, hi


def cycles_expr(dv: Decisions, terms: list[Term]) -> object:
    """Cycles: the slowest of compute and each level's per-instance read and write bandwidth.

    Reads are reads (with drains when they are priced) plus read-modify-writes;
    writes are fills plus updates.
    """
    model, alg, nest = dv.model, dv.alg, dv.nest
    mpe = dv.arch.compute.macs_per_pe
    temporal = alg.value(mono(dv.picks(DIMS, [s for s in nest.places if s[0] == "T"])))
    parts = [_ceil_div(model, temporal, _ub(temporal), Fraction(mpe), "compute_cycles")]
    read_kinds = {"reads", *_UPDATE_KINDS} | ({"drains"} if dv.arch.accounting.drain_reads else set())
    for i, level in enumerate(dv.arch.levels):
        bandwidth = {"read": exact_bandwidth(level.read_bandwidth), "write": exact_bandwidth(level.write_bandwidth)}
        if bandwidth["read"] is None and bandwidth["write"] is None:
            continue
        per_instance = mono({k: (-1, ()) for k, _ in dv.instances(i).powers})
        mine = [term for term in terms if term.where == i and term.kind != "deliveries"]
        sums = _sums(dv, mine, lambda term: term.kind in read_kinds or term.kind == "fills", "inst/", per_instance)
        sides = {"read": [(k, acc) for k, acc in sums.items() if k[2] in ("reads", "drains")],
                 "write": [(k, acc) for k, acc in sums.items() if k[2] in ("fills", "updates")]}
        for side, picked in sides.items():
            if bandwidth[side] is None:
                continue
            words = sum((acc.expr for _, acc in picked), 0)
            hi = sum(acc.hi for _, acc in picked)
            if side == "read":
                for (_, t, kind), acc in sums.items():
                    if kind == "updates":
                        words += _rmw(dv, sums, i, t, "inst/")
                        hi += acc.hi
            parts.append(_ceil_div(model, words, hi, bandwidth[side], f"{side}_cycles[{i}]"))
    cycles = model.new_int_var(0, max(_ub(p) for p in parts), "cycles")
    model.add_max_equality(cycles, parts)
    return cycles


def _ceil_div(model: cp_model.CpModel, words, hi: int, rate: Fraction, name: str) -> object:
    """An IntVar equal to ceil(words / rate) (rate an exact fraction, words <= hi), as `model.ceil_div`."""
    if isinstance(words, int):
        return -(-words * rate.denominator // rate.numerator)
    var = model.new_int_var(0, max(0, -(-hi * rate.denominator // rate.numerator)), name)
    model.add(rate.numerator * var - rate.denominator * words >= 0)
    model.add(rate.numerator * var - rate.denominator * words <= rate.numerator - 1)
    return var


def _ub(x) -> int:
    return bounds_of(x)[1]


def capacity_constraints(dv: Decisions, assume: bool) -> dict[tuple[int, str], object]:
    """Kept tiles (halos included) fit their partition or level (half when double-buffered).

    With `assume`, each (level, pool) constraint is enforced by a literal the
    caller passes as an assumption, so an infeasible layer's core names it.
    """
    model, alg = dv.model, dv.alg
    out = {}
    for i, level in enumerate(dv.arch.levels):
        if i == 0 or not level.storage:
            continue
        pools: dict[str, list[str]] = {}
        for t in TENSORS:
            if dv.keep[i, t] is not False:
                part = next((p.name for p in level.partitions if t in p.tensors), "")
                pools.setdefault(part, []).append(t)
        for pool, tensors in pools.items():
            have = level.usable_bits(tensors[0])
            if have is None:
                continue
            need = 0
            for t in tensors:
                var, _, _ = alg.gated(tile_poly(dv, i, t), dv.keep[i, t], f"tile[{i},{t}]")
                need += level.tensors[t].word_bits * var
            constraint = model.add(need <= have).with_name(f"capacity[{level.name},{pool or 'level'}]")
            if assume:
                lit = model.new_bool_var(f"fits[{level.name},{pool or 'level'}]")
                constraint.only_enforce_if(lit)
                out[i, pool] = lit
    return out
