"""The formulation, pinned to ANY mapping, reproduces the model's traffic, energy and cycles exactly.

This is DESIGN rule 1 checked term by term, not only at optima: every fill,
read, update, first write and fanout delivery the solver would count for a
mapping equals `model.evaluate`'s, on the real presets, with strides,
dilations, groups and halos.
"""
from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import replace

import pytest
from ortools.sat.python import cp_model

from accelmap.arch import load_arch
from accelmap.arch.spec import TIMELOOP_ACCOUNTING
from accelmap.ir.workload import make_workload
from accelmap.mapper.cpsat import cost as cpsat_cost
from accelmap.mapper.cpsat import add_hint, build, decode, pin
from accelmap.mapper.mapspace import Mapspace
from accelmap.mapper.model import evaluate
from accelmap.mapper.solve import map_workload

from .archs import ispass_arch, small_arch

WORKLOADS = [
    make_workload(k=8, c=4, p=6, q=6, r=3, s=3),
    make_workload(k=6, c=3, p=5, q=4, r=3, s=2, stride=(2, 1)),
    make_workload(k=4, c=2, p=7, q=3, r=3, s=3, dilation=(2, 1)),
    make_workload(g=4, p=6, q=6, r=3, s=3),
    make_workload(n=2, k=12, c=10, p=9, kind="matmul"),
    make_workload(k=5, c=6, p=10, q=10, r=5, stride=(2, 2)),
]


def solver_counts(workload, arch, mapping):
    """(energy, cycles, {(where, tensor, kind): words}) of the formulation pinned to `mapping`."""
    f = build(workload, arch, cycles=True)
    terms = cpsat_cost.traffic_terms(f.dv)
    values = [f.dv.alg.gated(term.poly, term.gate, f"probe{n}")[0] for n, term in enumerate(terms)]
    model = f.model.clone()
    energy = model.new_int_var(*f.energy_bounds, "energy")
    model.add(energy == f.energy)
    pin(f, model, mapping)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    assert solver.solve(model) == cp_model.OPTIMAL, "the pinned mapping must be feasible"
    counts = defaultdict(int)
    for term, value in zip(terms, values):
        where = ("fanout", term.where) if term.kind == "deliveries" else term.where
        counts[where, term.tensor, term.kind] += solver.value(value)
    return solver.value(energy), solver.value(f.cycles), counts


def model_counts(workload, arch, mapping):
    """The same numbers from `model.evaluate`."""
    cost = evaluate(workload, arch, mapping)
    counts = defaultdict(int)
    for i, per_tensor in enumerate(cost.traffic):
        for t, tr in per_tensor.items():
            for kind, words in (("fills", tr.fills), ("reads", tr.reads - tr.drains), ("drains", tr.drains),
                                ("updates", tr.updates), ("first", tr.first_writes), ("overwrites", tr.overwrites)):
                counts[i, t, kind] += words
    for j, fanout in enumerate(cost.fanouts):
        for t, words in fanout.deliveries.items():
            counts[("fanout", j), t, "deliveries"] += words
    return cost.energy, cost.cycles, counts


@pytest.mark.parametrize("preset", ["eyeriss", "gemmini", "simba", "edge_npu", "tpu_v1"])
def test_pinned_formulation_counts_what_the_model_counts(preset):
    arch = load_arch(preset)
    rng = random.Random(preset)
    for workload in WORKLOADS:
        space = Mapspace(workload, arch)
        for _ in range(2):
            mapping = space.sample(rng)
            energy, cycles, counts = solver_counts(workload, arch, mapping)
            want_energy, want_cycles, want = model_counts(workload, arch, mapping)
            keys = {k for k in set(counts) | set(want) if counts[k] or want[k]}
            assert {k: counts[k] for k in keys} == {k: want[k] for k in keys}, mapping.describe()
            assert (energy, cycles) == (want_energy, want_cycles), mapping.describe()


@pytest.mark.parametrize("preset", ["eyeriss", "simba"])
def test_timeloop_accounting_prices_the_same_counts_in_both(preset):
    """Drains free and partial-sum writes at the update action: the solver's energy is still the model's."""
    arch = replace(load_arch(preset), accounting=TIMELOOP_ACCOUNTING)
    rng = random.Random(preset)
    for workload in WORKLOADS[:3]:
        mapping = Mapspace(workload, arch).sample(rng)
        energy, cycles, _ = solver_counts(workload, arch, mapping)
        want_energy, want_cycles, _ = model_counts(workload, arch, mapping)
        assert (energy, cycles) == (want_energy, want_cycles), mapping.describe()
        assert want_energy < evaluate(workload, load_arch(preset), mapping).energy


@pytest.mark.parametrize("preset", ["eyeriss", "simba"])
def test_timeloop_halo_rule_counts_the_same_in_both(preset):
    """Mappings where an input tile slides after an inner K loop: Timeloop's accounting refetches it
    whole, and the pinned formulation counts exactly what the model counts."""
    arch = replace(load_arch(preset), accounting=TIMELOOP_ACCOUNTING)
    rng = random.Random(17)
    found = 0
    for workload in (WORKLOADS[0], WORKLOADS[1], WORKLOADS[5]):
        space = Mapspace(workload, arch)
        for _ in range(400):
            mapping = space.sample(rng)
            halo = replace(arch, accounting=replace(TIMELOOP_ACCOUNTING, halo_past_irrelevant=True))
            if evaluate(workload, arch, mapping).energy == evaluate(workload, halo, mapping).energy:
                continue
            energy, cycles, counts = solver_counts(workload, arch, mapping)
            want_energy, want_cycles, want = model_counts(workload, arch, mapping)
            keys = {k for k in set(counts) | set(want) if counts[k] or want[k]}
            assert {k: counts[k] for k in keys} == {k: want[k] for k in keys}, mapping.describe()
            assert (energy, cycles) == (want_energy, want_cycles), mapping.describe()
            found += 1
            if found % 2 == 0:
                break
    assert found >= 4


def deep_archs():
    """The six-level chain, and Timeloop's ISPASS Eyeriss imported with and without its constraints."""
    return [small_arch("deep_chain"), ispass_arch(constrained=True), ispass_arch(constrained=False)]


@pytest.mark.parametrize("index", range(3))
def test_pinned_formulation_counts_what_the_model_counts_on_deep_hierarchies(index):
    arch = deep_archs()[index]
    rng = random.Random(index)
    for workload in WORKLOADS:
        mapping = Mapspace(workload, arch).sample(rng)
        energy, cycles, counts = solver_counts(workload, arch, mapping)
        want_energy, want_cycles, want = model_counts(workload, arch, mapping)
        keys = {k for k in set(counts) | set(want) if counts[k] or want[k]}
        assert {k: counts[k] for k in keys} == {k: want[k] for k in keys}, mapping.describe()
        assert (energy, cycles) == (want_energy, want_cycles), mapping.describe()


def test_a_hint_where_one_literal_stands_for_two_decisions_is_accepted():
    """On the imported ISPASS design a level's only loop is one literal for two decisions; hinting it
    twice made CP-SAT reject the model (MODEL_INVALID), and short solves fell back to random search."""
    arch, workload = deep_archs()[1], WORKLOADS[4]
    result = map_workload(workload, arch, "energy", time_limit=5.0, workers=1, count=True, tie_break=False)
    assert result.status == "OPTIMAL" and result.objective == result.bound
    assert "random" not in result.note


@pytest.mark.parametrize("arch_name", ["eyeriss", "simba"])
def test_a_hint_is_complete_and_is_the_mapping(arch_name):
    # CP-SAT's hint search follows a complete hint; from the decisions alone it gave up. `add_hint` hints every
    # variable, and fixing each to its hint is a solution: the mapping (up to loop orders of the same cost).
    arch = load_arch(arch_name)
    rng = random.Random(7)
    for workload in WORKLOADS:
        mapping = Mapspace(workload, arch).sample(rng)
        f = build(workload, arch, cycles=False)
        model = f.model.clone()
        energy = add_hint(f, model, mapping)
        assert energy == evaluate(workload, arch, mapping).energy
        hints = model.proto.solution_hint
        assert sorted(hints.vars) == list(range(len(model.proto.variables)))
        for var, value in zip(list(hints.vars), list(hints.values)):
            model.add(model.get_int_var_from_proto_index(var) == value)
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        assert solver.solve(model) == cp_model.OPTIMAL, mapping.describe()
        found = decode(f, solver)      # the innermost level's loop order is never seen, so it decodes to a fixed one
        assert (found.keep, found.spatial) == (mapping.keep, mapping.spatial), mapping.describe()
        assert [set(level) for level in found.temporal] == [set(level) for level in mapping.temporal]
        assert evaluate(workload, arch, found) == evaluate(workload, arch, mapping), mapping.describe()


def test_a_hint_that_is_no_mapping_of_the_layer_hints_its_decisions_only():
    arch = load_arch("eyeriss")
    small, large = make_workload(k=8, c=4, p=6, q=6, r=3, s=3), make_workload(k=16, c=4, p=6, q=6, r=3, s=3)
    f = build(small, arch, cycles=False)
    model = f.model.clone()
    assert add_hint(f, model, Mapspace(large, arch).sample(random.Random(1))) is None
    assert 0 < len(model.proto.solution_hint.vars) < len(model.proto.variables)


@pytest.mark.parametrize("index", range(7))
def test_the_relaxation_rows_cut_no_mapping(index):
    """`Formulation.rows` only tighten the linear relaxation: with them, every sampled mapping, pinned, is
    still a solution, at the model's energy."""
    arch = [*(load_arch(p) for p in ("eyeriss", "simba", "edge_npu", "gemmini")), *deep_archs()][index]
    rng = random.Random(index)
    for workload in WORKLOADS:
        f = build(workload, arch, cycles=False)
        assert f.rows, "a layer with gated counts has relaxation rows"
        space = Mapspace(workload, arch)
        for _ in range(3):
            mapping = space.sample(rng)
            model = f.model.clone()
            for row in f.rows:
                model.add(row)
            energy = model.new_int_var(*f.energy_bounds, "energy")
            model.add(energy == f.energy)
            pin(f, model, mapping)
            solver = cp_model.CpSolver()
            solver.parameters.num_workers = 1
            assert solver.solve(model) == cp_model.OPTIMAL, mapping.describe()
            assert solver.value(energy) == evaluate(workload, arch, mapping).energy, mapping.describe()
