"""The CP-SAT formulation of a whole mapspace: build it, solve it, read the mapping back.

`build` assembles `decisions.Decisions` (factors, loop orders, keep) and
`cost` (traffic, energy, cycles, capacity) into one model whose
objective is the cost model's number exactly: energy in integer fJ, cycles
as the max of exact ceilings. `solve_once` runs it with a hint, an
optional cap on the objective and optionally a key minimised after it;
`decode` turns the solution into a `Mapping`.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from math import prod

from ortools.sat.python import cp_model

from accelmap.arch.spec import Arch
from accelmap.ir.workload import DIMS, TENSORS, Workload
from accelmap.mapper.cpsat.cost import capacity_constraints, cycles_expr, energy_expr, traffic_terms
from accelmap.mapper.cpsat.nest import Nest, build_nest
from accelmap.mapper.cpsat.terms import prime_exponents
from accelmap.mapper.cpsat.decisions import Decisions
from accelmap.mapper.mapping import Loop, Mapping, SpatialLoops
from accelmap.mapper.slots import arrange, order_rule

PIN_SECONDS = 10.0
"""Time limit of the solve that completes a hint (f.model pinned to a mapping's decisions; it takes
0.01-0.05 s, presolve fixes every variable)."""
EXACT_LIMIT = 1 << 53
"""Objective values CP-SAT compares exactly: it checks its gap in doubles."""
DOMAIN_LIMIT = 1 << 62
"""Largest objective magnitude a model's variable domains may reach (CP-SAT rejects possible int64 overflow)."""
LEAD_RADIX = 1 << 10
"""Most values a lead key (`solve_once`) may take: settling more of the tie-break's key in the energy solve
slowed that solve by more than it saved. MobileNetV2's depthwise convs, one worker, energy solve + tie-break,
simba / edge_npu: 50.1 / 91.1 s without a lead, 49.4 / 59.0 s up to 2^4, 44.8 / 55.2 s up to 2^10,
55.9 / 62.0 s up to the exactness limit (8-15 variables settled)."""
PRESOLVE_SECONDS_PER_ROW = 1.3e-4
"""One presolve pass's time per lookup-table row, measured with one worker: 0.08-0.13 ms (a 3x3 conv: Eyeriss
12.9k rows 1.0 s, Simba 18k 2.0 s, the imported ISPASS Eyeriss without constraints 50k 6.8 s)."""


@dataclass
class Formulation:
    """One built model and the handles needed to constrain, solve and decode it."""

    nest: Nest
    model: cp_model.CpModel
    dv: Decisions
    energy: object
    energy_bounds: tuple[int, int]
    cycles: object | None
    capacity: dict[tuple[int, str], object]
    # The relaxation rows (`Algebra.rows`) as built: `solve_once` adds them, the tie-break does not. A copy, as
    # later uses of the algebra on other models (`solve._smallest_need`) append rows of their own.
    rows: tuple[cp_model.BoundedLinearExpression, ...] = ()

    @property
    def size(self) -> tuple[int, int]:
        """(variables, constraints) of the model."""
        proto = self.model.proto
        return len(proto.variables), len(proto.constraints)


@dataclass
class Outcome:
    """What one CP-SAT run returned."""

    status: str                                # OPTIMAL | FEASIBLE | INFEASIBLE | UNKNOWN
    mapping: Mapping | None
    objective: int | None
    bound: int | None
    seconds: float
    energy: int | None = None
    cycles: int | None = None
    core: list[str] = field(default_factory=list)
    settled: dict[int, int] = field(default_factory=dict)   # lead variables' proved lexicographic minimum


def build(workload: Workload, arch: Arch, *, cycles: bool, allow_padding: bool = False,
          assume_capacity: bool = False) -> Formulation:
    """The whole mapspace of `workload` on `arch` as a CP-SAT model (cycles only when asked: it costs lookups)."""
    nest = build_nest(workload, arch, allow_padding)
    model = cp_model.CpModel()
    dv = Decisions(nest, model)
    capacity = capacity_constraints(dv, assume_capacity)
    terms = traffic_terms(dv)
    energy, lo, hi = energy_expr(dv, terms)
    cyc = cycles_expr(dv, terms) if cycles else None
    return Formulation(nest, model, dv, energy, (lo, hi), cyc, capacity, tuple(dv.alg.rows))


def solve_once(f: Formulation, objective: str, *, time_limit: float, workers: int,
               hint: Mapping | None = None, cap: int | None = None, cycles_cap: int | None = None,
               assumptions: list | None = None, lead: list[tuple[int, int, int]] | None = None,
               floor: int = 0, log: bool = False) -> Outcome:
    """Minimise energy or cycles, optionally with objective <= cap and cycles <= cycles_cap.

    `lead` (energy only), (proto index, lo, hi) of integer variables in order, asks for
    them to be minimised lexicographically after the objective, in the same
    search: the objective becomes objective * radix + the mixed-radix number
    of the longest prefix of `lead` that keeps the objective exact (`floor`,
    a lower bound of the objective, sets how long: the combined value must
    stay below `EXACT_LIMIT`). When proved, `Outcome.settled` holds that
    prefix's values: the tie-break (`tiebreak.canonical`) starts after them.
    """
    start = time.perf_counter()
    model = f.model.clone()
    for row in f.rows:
        model.add(row)
    energy_var = model.new_int_var(*f.energy_bounds, "energy")
    model.add(energy_var == f.energy)
    target = energy_var if objective == "energy" else model.get_int_var_from_proto_index(f.cycles.index)
    if cap is not None:
        model.add(target <= cap)
    if cycles_cap is not None:
        model.add(model.get_int_var_from_proto_index(f.cycles.index) <= cycles_cap)
    if lead and objective != "energy":
        raise ValueError("a lead key follows the energy objective only")
    lo, hi = f.energy_bounds
    prefix = _lead_prefix(lead or [], hi, max(lo, floor))
    key, radix = mixed_radix(model, prefix)
    model.minimize(target * radix + key if prefix else target)
    if hint is not None:
        energy = add_hint(f, model, hint)
        if energy is not None:
            model.add_hint(energy_var, energy)
    if assumptions:
        model.add_assumptions(assumptions)
    solver = new_solver(workers, time_limit, log)
    solver.parameters.cp_model_presolve = presolve_pays(f, time_limit)
    try:
        status = solver.solve(model)
    except IndexError:
        # CP-SAT 9.15 can fail inside presolve on some hints ("absl::btree_map::at"): solve without them.
        model.clear_hints()
        solver.parameters.max_time_in_seconds = max(0.05, time_limit - (time.perf_counter() - start))
        status = solver.solve(model)
    seconds = time.perf_counter() - start
    name = solver.status_name(status)
    if status == cp_model.INFEASIBLE:
        core = [model.proto.variables[i].name for i in solver.sufficient_assumptions_for_infeasibility()]
        return Outcome("INFEASIBLE", None, None, None, seconds, core=core)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        known = math.isfinite(solver.best_objective_bound)
        return Outcome(name, None, None, _integer_bound(solver.best_objective_bound) // radix if known else None,
                       seconds)
    cycles = int(solver.value(f.cycles)) if f.cycles is not None else None
    value = int(solver.value(target))      # objective_value is a float after CP-SAT's scaling: never read it
    settled = {index: int(solver.value(model.get_int_var_from_proto_index(index))) for index, _, _ in prefix}
    if prefix and status == cp_model.OPTIMAL and value * radix + int(solver.value(key)) >= EXACT_LIMIT:
        # Proved in doubles only (the objective sat far above `floor`): prove the objective alone.
        left = time_limit - seconds
        again = solve_once(f, objective, time_limit=left, workers=workers, hint=decode(f, solver), cap=cap,
                           cycles_cap=cycles_cap, assumptions=assumptions, log=log) if left > 0.05 else None
        if again is not None and again.mapping is not None:
            return replace(again, seconds=seconds + again.seconds)
        return Outcome("FEASIBLE", decode(f, solver), value, None, seconds, int(solver.value(energy_var)), cycles)
    bound = value if status == cp_model.OPTIMAL else _integer_bound(solver.best_objective_bound) // radix
    return Outcome(name, decode(f, solver), value, min(bound, value), seconds, int(solver.value(energy_var)),
                   cycles, settled=settled if status == cp_model.OPTIMAL else {})


def mixed_radix(model: cp_model.CpModel, domains: list[tuple[int, int, int]]) -> tuple[object, int]:
    """(key, radix): the variables (proto index, lo, hi) as one mixed-radix number, the first the most
    significant, and the number of its values; minimising it minimises them lexicographically."""
    key, weight = 0, 1
    for index, lo, hi in reversed(domains):
        key += weight * (model.get_int_var_from_proto_index(index) - lo)
        weight *= hi - lo + 1
    return key, weight


def _lead_prefix(lead: list[tuple[int, int, int]], hi: int, floor: int) -> list[tuple[int, int, int]]:
    """The longest prefix of `lead` of at most `LEAD_RADIX` values whose radix keeps objective * radix + key
    in the model's domain limit for every objective value up to `hi`, and below `EXACT_LIMIT` at twice `floor`."""
    limit = min(DOMAIN_LIMIT // (hi + 1), EXACT_LIMIT // (2 * floor + 2), LEAD_RADIX)
    prefix, radix = [], 1
    for entry in lead:
        radix *= entry[2] - entry[1] + 1
        if radix > limit:
            break
        prefix.append(entry)
    return prefix


def presolve_seconds(f: Formulation) -> float:
    """CP-SAT's presolve time on this model, estimated (`PRESOLVE_SECONDS_PER_ROW` per lookup-table row)."""
    return f.dv.alg.table_entries * PRESOLVE_SECONDS_PER_ROW


def presolve_pays(f: Formulation, time_limit: float) -> bool:
    """Whether to presolve: not when its estimate exceeds a third of the limit, where the search would
    start too late to find a good mapping."""
    return presolve_seconds(f) <= time_limit / 3


def new_solver(workers: int, time_limit: float, log: bool = False, *, tie_break: bool = False) -> cp_model.CpSolver:
    """A CP-SAT solver set up for proofs: exact gap, `workers` threads, the parameters measured best here.

    `tie_break`: for the tie-break's steps (a key minimised on the optimal
    face), core-based search, which raises the key's lower bound until a
    solution meets it. One worker, steps of a layer in all, default search
    against core: simple_ws VGG-16 features.2 unproved at 120 s against 3.4 s
    (features.10 39.6 s against 3.2 s), simple_os features.2 10.3 / 2.4 s,
    simba ResNet-50 conv1 5.2 / 4.4 s, layer1's 3x3 12.2 / 4.9 s, eyeriss
    layer1's 3x3 7.9 / 5.4 s, edge_npu layer1's 3x3 23.7 / 17.9 s; slower on
    simple_os features.7 (5.4 / 11.2 s) and simba layer3's 3x3 (6.5 / 8.2 s).
    """
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, time_limit)
    solver.parameters.num_workers = workers
    if workers == 2:
        # Two full searches beat CP-SAT's default pair (one search + LNS) here: proofs come from
        # search (ResNet-50 3x3 layers: 32 s vs 57 s).
        solver.parameters.subsolvers.extend(["default_lp", "quick_restart"])
    # Presolve's probing costs 1-5 s on a 3x3 conv and the search does not get it back
    # (ResNet-50 heavy layers on Eyeriss, solve + tie-break: 73 s with it, 54 s without).
    solver.parameters.cp_model_probing_level = 0
    # One presolve pass, not three: on deep hierarchies (the imported ISPASS Eyeriss without its
    # constraints, ~50k lookup-table rows) the later passes took 8-15 s and the search got no time;
    # on the presets the proofs are as fast or faster (simba 3x3: 16.6 s -> 12.0 s).
    solver.parameters.max_presolve_iterations = 1
    # No SAT inprocessing (the clause database's periodic vivification and probing): the proofs here come
    # from the search tree, and inprocessing took 20-40% of it (one worker, every unique layer as
    # `map_workload` solves it, solve and tie-break, same answers: eyeriss ResNet-50 42.2 -> 24.8 s, simba
    # 95.1 -> 78.3 s, edge_npu 119.8 -> 107.3 s; docs/benchmarks.md, "SAT inprocessing off").
    solver.parameters.use_sat_inprocessing = False
    solver.parameters.optimize_with_core = tie_break
    # No cover optimisation in the tie-break: the core search's literal probe for it looped in a level-0
    # propagation that checks no time limit (simple_ws VGG-16 features.2 and .10 after the lead key: a
    # 26 s step still running at 100 s; without it, proved in 15 s).
    solver.parameters.cover_optimization = not tie_break
    solver.parameters.relative_gap_limit = 0.0
    solver.parameters.absolute_gap_limit = 0.0
    solver.parameters.log_search_progress = log
    return solver


def _integer_bound(bound: float) -> int:
    """CP-SAT's (integer) objective bound from its float report, which carries ~1e-15 relative error."""
    return math.ceil(bound - 1e-9 * max(1.0, abs(bound)))


def decode(f: Formulation, solver: cp_model.CpSolver) -> Mapping:
    """The mapping a solution describes: factors per slot, loop orders, keep sets, padded bounds."""
    nest, dv = f.nest, f.dv
    factor = {}
    for d in nest.active:
        for s in nest.places:
            factor[d, s] = prod(p ** int(_value(solver, dv.e[d, s, p])) for p in nest.kmax[d])
    temporal = []
    for m in range(nest.levels):
        dims = [d for d in dv.order_dims(m) if factor[d, ("T", m)] > 1]
        order = _order(dv, solver, m, dims)
        temporal.append(tuple(Loop(d, factor[d, ("T", m)]) for d in order))
    spatial = tuple(SpatialLoops(
        x=tuple(Loop(d, factor[d, ("X", j)]) for d in DIMS if d in nest.targets and factor[d, ("X", j)] > 1),
        y=tuple(Loop(d, factor[d, ("Y", j)]) for d in DIMS if d in nest.targets and factor[d, ("Y", j)] > 1))
        for j in range(len(nest.arch.fanouts)))
    keep = tuple(frozenset(t for t in TENSORS if _value(solver, dv.keep[i, t])) for i in range(nest.levels))
    bounds = nest.workload.dims
    padded = tuple((d, prod(factor[d, s] for s in nest.places)) for d in nest.active
                   if prod(factor[d, s] for s in nest.places) != bounds[d])
    return Mapping(temporal=tuple(temporal), spatial=spatial, keep=keep, padded=padded)


def _order(dv: Decisions, solver: cp_model.CpSolver, m: int, dims: list[str]) -> list[str]:
    """A loop order (outermost first) with the solution's features at level m."""
    if any(key[0] == m for key in dv.before):
        depth = {d: sum(1 for b in dims if b != d and _value(solver, dv.outside(m, b, d))) for d in dims}
        return sorted(dims, key=depth.get)
    group = next((g for g in (*TENSORS, "G") if (m, g) in dv.group and _value(solver, dv.group[m, g])), None)
    if group is None:                                  # the innermost level: its order is never seen
        return list(arrange(dims, order_rule(dv.arch, m)))
    slide = next((d for d in dims if (m, d) in dv.jd and _value(solver, dv.jd[m, d])), None)
    if group == "G":
        return [d for d in dims if d != "G"] + ["G"]
    if group == "I":
        run = ["K"]
        above = slide or next((d for d in dims if d in ("N", "G", "C")), None)
    else:
        run = [d for d in dims if _value(solver, dv.inside.get((m, group, d), False))]
        last = slide or ("N" if group == "W" else "C")
        run = [d for d in run if d != last] + [last]
        above = next((d for d in dims if d not in run and d in dv.relevant[group]), None)
    head = [d for d in dims if d not in run and d != above]
    return head + ([above] if above else []) + run


def order_features(order: tuple[str, ...], relevant: dict[str, frozenset[str]]) -> tuple[str | None, set, str | None]:
    """(group, {(t, d) inside}, innermost sliding I-relevant dim) of a loop order, outermost first."""
    if not order:
        return None, set(), None
    last = order[-1]
    group = "G" if last == "G" else next(t for t in TENSORS if last not in relevant[t])
    inside = {(t, d) for t in TENSORS for x, d in enumerate(order) if d not in relevant[t]
              and all(r not in relevant[t] for r in order[x:])}
    rel_i = [d for d in order if d in relevant["I"]]
    jd = rel_i[-1] if rel_i and rel_i[-1] in ("P", "Q", "R", "S") else None
    return group, inside, jd


def _value(solver: cp_model.CpSolver, x) -> int:
    """A variable's, literal's or constant's value in the solution."""
    return int(x) if isinstance(x, (bool, int)) else int(solver.value(x))


def add_hint(f: Formulation, model: cp_model.CpModel, mapping: Mapping) -> int | None:
    """Hint every variable of `model` (a clone of f.model, maybe with more variables after them) that
    f.model has, with its value in `mapping`: the decisions and every term they derive, found by solving
    f.model pinned to the decisions (milliseconds: presolve fixes everything). Returns the mapping's energy
    (fJ), or None when the pinned model has no solution (then only the decisions are hinted).

    CP-SAT's hint search follows a complete hint to its solution at once; given the decisions
    alone it gave up and searched as if unhinted (simba ResNet-50 layer2.1's 3x3 with its own
    optimum as the hint: the first solution 177x the optimum, as without a hint; the imported
    simple_ws without constraints, ResNet-18 layer3.0's first conv, 1 worker, 30 s from the best
    of 3,000 walks at 2.751e11 fJ: 2.264e11 fJ hinting the decisions, 1.626e11 complete).
    """
    pinned = f.model.clone()
    pin(f, pinned, mapping)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = PIN_SECONDS
    model.clear_hints()
    if solver.solve(pinned) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        _hint_decisions(f, model, mapping)
        return None
    count = len(f.model.proto.variables)
    hints = model.proto.solution_hint
    hints.vars.extend(range(count))
    hints.values.extend(list(solver.response_proto.solution)[:count])
    return int(solver.value(f.energy))


def _hint_decisions(f: Formulation, model: cp_model.CpModel, mapping: Mapping) -> None:
    """Hint the decisions of a mapping only: factors, loop orders and keep sets."""
    nest, dv = f.nest, f.dv
    factors = {("T", m): {lp.dim: lp.factor for lp in loops} for m, loops in enumerate(mapping.temporal)}
    for j, fan in enumerate(mapping.spatial):
        factors["X", j] = {lp.dim: lp.factor for lp in fan.x}
        factors["Y", j] = {lp.dim: lp.factor for lp in fan.y}
    bounds = mapping.bounds(nest.workload.dims)
    for d in nest.active:
        if (d, bounds[d]) in dv.pick:
            for b in nest.targets[d]:
                model.add_hint(dv.pick[d, b], b == bounds[d])
        for s in nest.places:
            exps = prime_exponents(factors.get(s, {}).get(d, 1))
            for p in nest.kmax[d]:
                e = dv.e[d, s, p]
                if not isinstance(e, int):
                    model.add_hint(e, exps.get(p, 0))
    for m, loops in enumerate(mapping.temporal):
        order = tuple(lp.dim for lp in loops)
        dims = dv.order_dims(m)
        for d in dims:
            nz = dv.nz[m, d]
            if not isinstance(nz, bool):
                model.add_hint(nz, d in order)
        rank = {d: (0, DIMS.index(d)) for d in dims if d not in order}
        rank.update({d: (1, x) for x, d in enumerate(order)})
        for (mm, a, b), lit in dv.before.items():
            if mm == m:
                model.add_hint(lit, rank[a] < rank[b])
        group, inside, jd = order_features(order, dv.relevant)
        for (mm, g), lit in dv.group.items():
            if mm == m:
                model.add_hint(lit, g == group)
        for (mm, t, d), lit in dv.inside.items():
            if mm == m and not isinstance(lit, bool) and not any(k[0] == m for k in dv.before):
                model.add_hint(lit, (t, d) in inside)
        for (mm, d), lit in dv.jd.items():
            if mm == m and not isinstance(lit, bool) and not any(k[0] == m for k in dv.before):
                model.add_hint(lit, d == jd)
    for (i, t), lit in dv.keep.items():
        if not isinstance(lit, bool):
            model.add_hint(lit, t in mapping.keep[i])
    _one_hint_per_variable(model)


def _one_hint_per_variable(model: cp_model.CpModel) -> None:
    """Drop repeated hints: one literal can stand for two decisions (a level's only loop is both
    present and innermost), and CP-SAT rejects a model that hints a variable twice."""
    hints = model.proto.solution_hint
    first: dict[int, int] = {}
    for var, value in zip(hints.vars, hints.values):
        first.setdefault(var, value)
    model.clear_hints()
    hints.vars.extend(list(first))
    hints.values.extend(list(first.values()))


def pin(f: Formulation, model: cp_model.CpModel, mapping: Mapping) -> None:
    """Fix `model` (a clone of f.model) to `mapping`'s decisions: the derived terms then take its costs."""
    _hint_decisions(f, model, mapping)
    hints = model.proto.solution_hint
    for var, value in zip(list(hints.vars), list(hints.values)):
        model.add(model.get_int_var_from_proto_index(var) == value)
