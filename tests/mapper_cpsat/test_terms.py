"""Exponent sums: a product over most slots of a dim is written with the slots it leaves out."""
from __future__ import annotations

from ortools.sat.python import cp_model_helper

from accelmap.arch import load_arch
from accelmap.ir.workload import DIMS, make_workload
from accelmap.mapper.cpsat import build
from accelmap.mapper.cpsat.terms import mono

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
