"""Exponent sums written with the slots a product leaves out; the plane below each lookup table."""
from __future__ import annotations

from itertools import product
from math import floor, log, prod

from hypothesis import example, given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model_helper

from accelmap.arch import load_arch
from accelmap.ir.workload import DIMS, make_workload
from accelmap.mapper.cpsat import build
from accelmap.mapper.cpsat.terms import mono, supporting_plane

from .archs import small_arch


def test_the_macs_over_every_slot_are_the_constant_count():
    workload = make_workload(k=8, c=4, p=6, q=6, r=3, s=3)
    f = build(workload, load_arch("eyeriss"), cycles=False)
    macs = mono(f.dv.picks(DIMS, f.nest.places))
    assert f.dv.alg.value(macs) == workload.macs


def test_a_product_leaving_out_one_slot_names_only_that_slot():
    workload = make_workload(k=8, c=4, p=6, q=6, r=3, s=3)
    f = build(workload, load_arch("eyeriss"), cycles=False)
    dv = f.dv
    slot = next(s for s in f.nest.places if ("K", s) in dv.live)
    rest = {key: sel for key, sel in dv.picks(["K"], f.nest.places).items() if key != ("K", slot)}
    expr, bound = dv.alg.exponent(mono(rest), 2)
    assert {v.name for v in _variables(expr)} == {f"e[K,{slot[0]}{slot[1]},2]"}
    assert bound == 3                                 # K = 8 = 2**3


def test_with_padding_the_bound_is_the_picked_one():
    workload = make_workload(c=3, p=4)
    f = build(workload, small_arch("eyeriss_like"), cycles=False, allow_padding=True)
    macs = mono(f.dv.picks(DIMS, f.nest.places))
    value = f.dv.alg.value(macs)
    assert not isinstance(value, int)                 # C may be 3 or 4: a lookup over the picks
    expr, _ = f.dv.alg.exponent(macs, 2)
    assert {v.name for v in _variables(expr)} == {"pick[C,4]"}


def _variables(expr) -> list:
    """The variables of a linear expression, like terms merged (CP-SAT's own flattening)."""
    return list(cp_model_helper.FlatIntExpr(expr).vars)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([2, 3, 5, 7, 11, 13]), st.integers(0, 6)), min_size=1, max_size=3,
                unique_by=lambda pair: pair[0]))
@example([(5, 5), (11, 6), (13, 6)])                  # 13**6 * 11**6 * 5**5: no plane (int64)
def test_the_supporting_plane_is_below_every_row_and_touches_the_largest(primes_and_tops):
    primes = [p for p, _ in primes_and_tops]
    rows = [(*xs, prod(p ** x for p, x in zip(primes, xs)))
            for xs in product(*(range(top + 1) for _, top in primes_and_tops))]
    plane = supporting_plane(primes, rows)
    *top, value = max(rows, key=lambda row: row[-1])
    if plane is None:                                 # only where the coefficients near int64's limit
        assert floor(value * log(max(primes))) * max(1, *top) * len(primes) >= 1 << 60
        return
    slopes, b = plane
    below = [row[-1] - (sum(a * x for a, x in zip(slopes, row)) + b) for row in rows]
    assert min(below) == 0                            # b is the least slack: the plane holds on every row
    assert below[rows.index(max(rows, key=lambda row: row[-1]))] <= len(primes) * max(1, *top)  # rounding only
    assert all(a >= 0 for a in slopes)


def test_every_lookup_gets_its_plane():
    workload = make_workload(k=8, c=4, p=6, q=6, r=3, s=3)
    f = build(workload, load_arch("eyeriss"), cycles=False)
    proto = f.model.proto
    tables = sum(1 for c in proto.constraints if c.has_table())
    assert tables == f.dv.alg.lookups
    planes = [c for c in proto.constraints if c.has_linear()
              and any(proto.variables[v].name.startswith("val") for v in c.linear.vars)
              and len(c.linear.vars) > 1 and list(c.linear.domain)[-1] >= 1 << 62]
    assert len(planes) >= f.dv.alg.lookups
