"""The canonical tie-break: the same layer gets the same mapping whatever the hint, workers or run."""
from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from ortools.sat.python import cp_model

from accelmap.interop.timeloop import import_timeloop_design
from accelmap.ir.workload import make_workload
from accelmap.mapper.cpsat import build, formulation, new_solver, pin, solve_once
from accelmap.mapper.mapspace import Mapspace
from accelmap.mapper.model import evaluate, score
from accelmap.mapper.solve import map_workload
from accelmap.mapper.tiebreak import RADIX_LIMIT, canonical, chunks, decision_indices, key_domains
from .archs import small_arch
from .cases import workloads

ARCHS = ("eyeriss_like", "gemmini_like", "simba_like")
CASES = workloads(seed=99, count=6, archs=[small_arch(a) for a in ARCHS], max_size=5_000)


def optimal_mappings(workload, arch, objective: str) -> int:
    """How many mappings of the whole mapspace reach the optimum (exhaustively)."""
    scores = [score(evaluate(workload, arch, m), objective) for m in Mapspace(workload, arch).enumerate()]
    return scores.count(min(scores))


@pytest.mark.parametrize("arch_name", ARCHS)
@pytest.mark.parametrize("objective", ["energy", "latency", "edp"])
def test_different_hints_and_workers_give_the_same_mapping(arch_name, objective):
    arch = small_arch(arch_name)
    ties = 0
    for n, workload in enumerate(CASES):
        space = Mapspace(workload, arch)
        runs = [map_workload(workload, arch, objective, time_limit=60.0, workers=workers,
                             hint=space.sample(random.Random(seed)))
                for workers, seed in ((1, n), (2, n + 100))]
        where = f"{objective} {workload.describe()} on {arch_name}"
        assert all(r.status == "OPTIMAL" and r.canonical for r in runs), where
        assert runs[0].mapping == runs[1].mapping, where
        assert runs[0].objective == score(evaluate(workload, arch, runs[0].mapping), objective)
        ties += optimal_mappings(workload, arch, objective) > 1
    assert ties >= 3        # most cases have several optimal mappings: the tie-break had a choice to make


def least_key(workload, arch, mapping) -> tuple[int, ...]:
    """The least values of the tie-break's decision variables, in the key's order, that describe `mapping`
    (variables the mapping leaves free take their least value, first to last)."""
    f = build(workload, arch, cycles=False)
    model = f.model.clone()
    pin(f, model, mapping)
    values = []
    for index in decision_indices(f):
        var = model.get_int_var_from_proto_index(index)
        model.minimize(var)
        solver = new_solver(1, 10.0)
        assert solver.solve(model) == cp_model.OPTIMAL
        values.append(int(solver.value(var)))
        model.add(var == values[-1])
    return tuple(values)


GROUPED = (make_workload(g=4, p=5, r=3), make_workload(g=3, p=3, q=2, r=3, s=1), make_workload(g=2, k=2, c=2, p=3))
"""Grouped layers, whose key takes the slot-by-slot order (`decision_indices`)."""
SWEPT = (make_workload(g=5, p=2, q=5, r=5), make_workload(c=5, p=2))
"""Layers whose EDP sweep (on simba_like) proves two sub-problems that settle different key prefixes."""


@pytest.mark.parametrize("arch_name", ARCHS)
def test_the_canonical_mapping_is_the_least_optimum_in_the_key_order(arch_name):
    # Against exhaustive enumeration: of every optimal mapping of the mapspace, the tie-break returns the one
    # whose decisions are lexicographically least in `decision_indices`' order (both of its orders).
    arch = small_arch(arch_name)
    checked = {False: 0, True: 0}
    for workload in (*CASES, *GROUPED):
        scored = [(score(evaluate(workload, arch, m), "energy"), m) for m in Mapspace(workload, arch).enumerate()]
        best = min(value for value, _ in scored)
        optima = [m for value, m in scored if value == best]
        if not 1 < len(optima) <= 60:
            continue
        result = map_workload(workload, arch, "energy", time_limit=60.0, workers=1)
        assert result.status == "OPTIMAL" and result.canonical and result.objective == best
        keys = {m: least_key(workload, arch, m) for m in optima}
        assert keys[result.mapping] == min(keys.values()), workload.describe()
        # (loop orders the cost cannot tell apart share their decisions: count cases with a real choice)
        checked[workload.bound("G") > 1] += len(set(keys.values())) > 1
    assert checked[False] >= 2 and checked[True] >= 2


def test_without_the_tie_break_the_result_says_it_is_not_canonical():
    arch = small_arch("eyeriss_like")
    result = map_workload(CASES[0], arch, "energy", time_limit=60.0, tie_break=False)
    assert result.status == "OPTIMAL" and not result.canonical


def test_the_tie_break_finishes_on_an_imported_design():
    # VGG-16's features.2 on Timeloop's simple_ws with its constraints: with CP-SAT's default search the first
    # step ran out the whole limit; core-based search proves the steps in seconds.
    design = Path(__file__).parents[1] / "timeloop" / "fixtures" / "simple_ws"
    arch = import_timeloop_design(design / "arch.yaml", design / "ERT.yaml", constraints=(design / "constraints.yaml",),
                                  timeloop_accounting=True).arch
    workload = make_workload(k=64, c=64, p=224, q=224, r=3, s=3)
    result = map_workload(workload, arch, "energy", time_limit=60.0, workers=2)
    assert result.status == "OPTIMAL" and result.canonical
    assert result.objective == score(evaluate(workload, arch, result.mapping), "energy")


def test_the_tie_break_of_a_quickly_proved_layer_keeps_its_hint():
    # BERT-base's FFN output projection on Timeloop's simba_like with its constraints: proved in 0.1 s, but
    # presolve lost the first step's hint on the optimal face and no solution came in the whole limit;
    # without presolve (`probe_seconds`) the tie-break takes a fraction of a second.
    design = Path(__file__).parents[1] / "timeloop" / "fixtures" / "simba_like"
    arch = import_timeloop_design(design / "arch.yaml", design / "ERT.yaml", constraints=(design / "constraints.yaml",),
                                  timeloop_accounting=True).arch
    workload = make_workload(p=128, c=3072, k=768, kind="matmul")
    result = map_workload(workload, arch, "energy", time_limit=30.0, workers=1)
    assert result.status == "OPTIMAL" and result.canonical


@pytest.mark.parametrize("arch_name", ARCHS)
@pytest.mark.parametrize("objective", ["energy", "latency"])
def test_a_key_prefix_settled_with_the_energy_leaves_the_canonical_mapping_unchanged(arch_name, objective):
    # The energy solve (for latency: of the least energy among the latency optima, under the cycles cap)
    # minimises the key's first variables too (`lead`); the tie-break fixes them (and the cycles) and goes on
    # from there: the same mapping as the tie-break over the whole key after a plain solve.
    arch = small_arch(arch_name)
    settled = 0
    for workload in (*CASES, *GROUPED):
        f = build(workload, arch, cycles=objective == "latency")
        cap = solve_once(f, "latency", time_limit=60.0, workers=1).objective if objective == "latency" else None
        results = []
        for lead in (None, key_domains(f)):
            out = solve_once(f, "energy", time_limit=60.0, workers=1, cycles_cap=cap, lead=lead)
            assert out.status == "OPTIMAL" and out.energy == out.objective and out.cycles == cap
            found = canonical(f, out.mapping, energy=out.energy, cycles=cap, time_limit=60.0, workers=1,
                              settled=out.settled)
            results.append((out.energy, found.mapping))
            settled += len(out.settled)
        assert results[0] == results[1] and results[0][1] is not None, workload.describe()
    assert settled > 0


@pytest.mark.parametrize("arch_name", ARCHS)
@pytest.mark.parametrize("objective", ["latency", "edp"])
def test_the_canonical_latency_and_edp_optimum_is_the_least_in_the_key_order(arch_name, objective):
    # Against exhaustive enumeration: among the mappings of least objective (cycles or EDP), then of least
    # energy among them, `map_workload` (tie-break on) returns the one whose decisions are least in the key's
    # order. Both settle the key's first variables in an energy solve (latency under its cycles cap, EDP in
    # each sub-problem of its sweep): this checks the settled values are the answer's face's.
    arch = small_arch(arch_name)
    checked = 0
    for workload in (*CASES, *GROUPED, *SWEPT):
        ranked = [((score(cost, objective), cost.energy), m)
                  for cost, m in ((evaluate(workload, arch, m), m) for m in Mapspace(workload, arch).enumerate())]
        best = min(rank for rank, _ in ranked)
        optima = [m for rank, m in ranked if rank == best]
        if not 1 < len(optima) <= 60:
            continue
        result = map_workload(workload, arch, objective, time_limit=60.0, workers=1)
        assert result.status == "OPTIMAL" and result.canonical and result.objective == best[0]
        assert result.cost.energy == best[1], workload.describe()
        keys = {m: least_key(workload, arch, m) for m in optima}
        assert keys[result.mapping] == min(keys.values()), workload.describe()
        checked += len(set(keys.values())) > 1
    assert checked >= 2


def test_a_key_prefix_keeps_the_objective_exact_and_in_range():
    lead = [(i, 0, 3) for i in range(20)]                         # radix 4 per variable
    # domain limit: (hi + 1) * radix <= 2**62
    assert len(formulation._lead_prefix(lead, hi=(1 << 56) - 1, floor=1)) == 3
    # exactness: (2 * floor + 2) * radix <= 2**53, the combined value at twice the floor stays exact
    assert len(formulation._lead_prefix(lead, hi=1000, floor=(1 << 46) - 1)) == 3
    assert formulation._lead_prefix(lead, hi=1 << 61, floor=1) == []
    # and never more than LEAD_RADIX values
    assert len(formulation._lead_prefix(lead, hi=1000, floor=1)) == 5 and formulation.LEAD_RADIX == 1 << 10


def test_a_combined_objective_past_exact_doubles_is_proved_again_alone(monkeypatch):
    # Were the combined value above 2**53 (energy far above the floor), CP-SAT's double-precision gap check
    # could end early: the energy is then proved on its own, and nothing is reported settled.
    arch = small_arch("eyeriss_like")
    workload = CASES[0]
    f = build(workload, arch, cycles=False)
    plain = solve_once(f, "energy", time_limit=60.0, workers=1)
    monkeypatch.setattr(formulation, "_lead_prefix", lambda lead, hi, floor: lead[:2])
    monkeypatch.setattr(formulation, "EXACT_LIMIT", 1)
    again = solve_once(f, "energy", time_limit=60.0, workers=1, lead=key_domains(f))
    assert again.status == "OPTIMAL" and again.objective == plain.objective and again.settled == {}


def test_chunks_keep_every_key_below_the_radix_limit():
    domains = [(i, 0, hi) for i, hi in enumerate([1, 6, 6, 1, 12, 3] * 12)]
    parts = chunks(domains)
    assert [entry for part in parts for entry in part] == domains
    for part in parts:
        size = 1
        for _, lo, hi in part:
            size *= hi - lo + 1
        assert size <= RADIX_LIMIT
    assert len(parts) > 1


def test_a_tie_break_that_overruns_its_time_is_stopped_and_the_optimum_kept(monkeypatch):
    # CP-SAT's core-based search can loop where it checks no time limit (simple_ws VGG-16 features.10 with
    # the lead key: 13 minutes); the tie-break runs in a child that is killed `OVERRUN` s past the limit.
    import accelmap.mapper.solve as solve

    def stuck(*args, **kwargs):
        time.sleep(600)

    arch = small_arch("eyeriss_like")
    plain = map_workload(CASES[0], arch, "energy", time_limit=10.0)
    monkeypatch.setattr(solve, "canonical", stuck)
    start = time.monotonic()
    result = map_workload(CASES[0], arch, "energy", time_limit=3.0)
    assert time.monotonic() - start < 3.0 + solve.OVERRUN + 3.0
    assert result.status == "OPTIMAL" and not result.canonical and "stopped" in result.note
    assert result.objective == plain.objective == score(evaluate(CASES[0], arch, result.mapping), "energy")


@pytest.mark.parametrize("arch_name", ARCHS)
def test_the_default_search_finds_the_same_canonical_mapping_as_the_core_search(arch_name):
    # `solve._canonical` falls back on the default search when the core-based one crashes: the same steps
    # must prove the same lexicographic minimum.
    arch = small_arch(arch_name)
    for workload in (*CASES, *GROUPED):
        f = build(workload, arch, cycles=False)
        out = solve_once(f, "energy", time_limit=60.0, workers=1)
        found = [canonical(f, out.mapping, energy=out.energy, cycles=None, time_limit=60.0, workers=1, core=core)
                 for core in (True, False)]
        assert found[0].mapping is not None and found[0].mapping == found[1].mapping, workload.describe()


SIMPLE_WS = Path(__file__).parents[1] / "timeloop" / "fixtures" / "simple_ws"


def test_a_tie_break_whose_core_search_crashes_ends_canonical_and_leaves_nothing(tmp_path, monkeypatch, capfd):
    # CP-SAT 9.15's core-based search aborts its process ("Infeasible solution!", a failed internal check) on
    # MobileNetV2 features.12's expansion conv on the imported simple_ws; it dumps its response to
    # TMPDIR's wrong_response.pb.txt by default. The layer is still proved, tie-broken by the default search.
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    arch = import_timeloop_design(SIMPLE_WS / "arch.yaml", SIMPLE_WS / "ERT.yaml",
                                  constraints=(SIMPLE_WS / "constraints.yaml",), timeloop_accounting=True).arch
    plain = map_workload(make_workload(k=576, c=96, p=14, q=14), arch, time_limit=30.0, workers=1, tie_break=False)
    result = map_workload(make_workload(k=576, c=96, p=14, q=14), arch, time_limit=30.0, workers=1)
    assert result.status == "OPTIMAL" and result.canonical and result.note == ""
    assert result.objective == plain.objective
    assert capfd.readouterr().err == ""
    assert list(tmp_path.iterdir()) == [] and not Path("/tmp/wrong_response.pb.txt").exists()
