"""A canonical choice among equal-cost optima, so the same layer always gets the same mapping.

CP-SAT's parallel workers may return any of several mappings with the
proved optimal cost. `canonical` makes the choice unique: on the optimal
face (the objective pinned to its proved value) it minimises the decision
variables lexicographically in a fixed order (`decision_indices`):
padded-bound picks first (so an unpadded mapping wins a tie with a padded
one), then the factor exponents, keep and loop-order literals. Each step
minimises one chunk of them as a mixed-radix number (injective, so the
minimiser is unique) and fixes it. When every step is proved, the result
depends only on the workload, the arch and the optimal value: not on the
workers, the hint or the run.

For the energy objective the solve that proves the optimum also minimises
the key's first variables (`solve_once`'s `lead`: energy x radix + their
mixed-radix number, as many as keep the value exact); `canonical` fixes
them and leaves them out of the first step, the steps' chunks cut where
they would be without them. The answer is the same (a lexicographic
minimum does not depend on where the key is cut), and the first variables
were where the steps spent their time: simba ResNet-50's conv1 and 3x3
convs, one worker, tie-break 48 s -> 22 s (phase 1 109 s -> 105 s). Where
the chunks are cut does matter to the steps: cut after the settled
variables instead, simple_os VGG-16 features.2's tie-break took 12.9 s
against 1.8 s, and one step on simple_ws looped inside CP-SAT (see
`new_solver`). `solve._canonical` runs `canonical` in a forked child,
killed `solve.OVERRUN` seconds past the layer's limit.

Any fixed order makes the result unique; the order decides how hard the
steps are, and no order measured was the fastest on every layer. The
formulation's creation order (exponents dim by dim, then the literals) is
the default. Grouped layers (G > 1: depthwise convs) take the slots one by
one from DRAM inward instead (each slot's exponents, then that level's keep
and loop-order literals): their steps, one CP-SAT worker, 2.1 s against
18.1 s (simba MobileNetV2 features.1), 1.9 against 9.1 s (simba
features.2), 12.4 against 17.7 s (edge_npu features.1), 5.5 against 5.0 s
(eyeriss features.2). Slot by slot for every layer was faster on 14 of 20
layers (103 s against 147 s in all) but never finished on simple_ws VGG-16
features.7 (2.8 s dim by dim); keep and loop order before each slot's
exponents never finished on simple_ws features.2 and edge_npu ResNet-50
layer1's 3x3.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from ortools.sat.python import cp_model

from accelmap.mapper.cpsat import Formulation, add_hint, decode, new_solver
from accelmap.mapper.cpsat.formulation import mixed_radix
from accelmap.mapper.mapping import Mapping

RADIX_LIMIT = 1 << 50
"""Largest product of domain sizes minimised in one step: CP-SAT checks its gap in doubles, so the
key must stay below 2**53 for "OPTIMAL" to mean the exact minimum."""


PROBE_SECONDS = 0.5
"""How long a step of an easy layer (`probe_seconds`) is first tried without presolve."""
PROBE_BELOW = 1.0
"""Energy solves (s) below which a layer's tie-break steps are first tried without presolve."""


def probe_seconds(solve_seconds: float) -> float:
    """How long each tie-break step is first tried without presolve, for a layer whose optimum took
    `solve_seconds` to prove: `PROBE_SECONDS` when that was under `PROBE_BELOW`, else not at all.

    On the optimal face presolve can lose the hint: the imported simba_like's BERT-base output
    projection (a 768x3072 matmul), proved in 0.1 s, found no solution in its first step's 30 s with
    presolve and proved it in 0.15 s without (the attention scores: 13.8 s against 0.1 s). Where the
    proof itself is hard, presolve pays and a failed probe is time lost (simba ResNet-50's conv1: 17 s
    without, 3.5 s with; every step probed, its eight hardest layers' tie-breaks took 22.3 s against
    18.6 s, edge_npu's 16.8 s against 14.0 s)."""
    return PROBE_SECONDS if solve_seconds < PROBE_BELOW else 0.0


@dataclass(frozen=True)
class Canonical:
    """The canonical optimum, or why there is none: `mapping` None when a step was not proved in time."""

    mapping: Mapping | None
    steps: int
    seconds: float


KEY_ORDER = "picks; grouped layers slot by slot (exponents, keep, loop order), others exponents dim by dim, literals"
"""The tie-break key's order in words; part of the result cache's key, as another order picks other mappings."""


def decision_indices(f: Formulation) -> list[int]:
    """Proto indices of every variable the decoded mapping depends on, in the key's order: first the
    padded-bound picks (each dim's largest candidate first, so unpadded, then less padded, wins), then
    the rest, for a grouped layer (G > 1) slot by slot (`_slot_major`), for any other in creation order."""
    dv = f.dv
    picks = [dv.pick[d, b] for d, cands in f.nest.targets.items() for b in reversed(cands[1:])]
    if f.nest.workload.bound("G") > 1:
        return [*_indices(picks), *_slot_major(f)]
    literals = [*dv.e.values(), *dv.keep.values(), *dv.before.values(), *dv.group.values(),
                *dv.inside.values(), *dv.jd.values()]
    return [*_indices(picks), *sorted(set(_indices(literals)))]


def _slot_major(f: Formulation) -> list[int]:
    """Slot by slot in nest order the factor exponents (in creation order), and after a temporal slot's
    exponents that level's keep literals, then its loop-order literals."""
    dv = f.dv
    position = {slot: k for k, slot in enumerate(f.nest.places)}
    ranked = [((position[slot], 0), lit) for (_, slot, _), lit in dv.e.items()]
    ranked += [((position["T", i], 1), lit) for (i, _), lit in dv.keep.items()]
    for table in (dv.before, dv.group, dv.inside, dv.jd):
        ranked += [((position["T", key[0]], 2), lit) for key, lit in table.items()]
    ranked.sort(key=lambda entry: entry[0])        # stable: creation order within a rank
    return list(dict.fromkeys(_indices([lit for _, lit in ranked])))


def _indices(literals: list) -> list[int]:
    """Proto variable indices of literals (constants skipped)."""
    out = []
    for lit in literals:
        if not isinstance(lit, (bool, int)):
            out.append(lit.index if lit.index >= 0 else -lit.index - 1)
    return out


def chunks(domains: list[tuple[int, int, int]]) -> list[list[tuple[int, int, int]]]:
    """(index, lo, hi) split into consecutive runs whose domain sizes multiply to at most RADIX_LIMIT."""
    out: list[list[tuple[int, int, int]]] = []
    size = RADIX_LIMIT + 1
    for entry in domains:
        width = entry[2] - entry[1] + 1
        if size * width > RADIX_LIMIT:
            out.append([])
            size = 1
        out[-1].append(entry)
        size *= width
    return out


def key_domains(f: Formulation) -> list[tuple[int, int, int]]:
    """(proto index, lo, hi) of the key's variables (`decision_indices`) that are not fixed, in key order."""
    domains = []
    for index in decision_indices(f):
        bounds = list(f.model.proto.variables[index].domain)
        if bounds[0] != bounds[-1]:
            domains.append((index, bounds[0], bounds[-1]))
    return domains


def _step(solver: cp_model.CpSolver, model: cp_model.CpModel, seconds: float, probe: float) -> int:
    """One step's solve within `seconds`: first `probe` seconds without presolve (`probe_seconds`), then,
    unless that proved the step, with presolve for the rest of the time."""
    start = time.perf_counter()
    if probe > 0:
        solver.parameters.cp_model_presolve = False
        solver.parameters.max_time_in_seconds = min(seconds, probe)
        status = solver.solve(model)
        seconds -= time.perf_counter() - start
        if status == cp_model.OPTIMAL or seconds <= 0.05:
            return status
    solver.parameters.cp_model_presolve = True
    solver.parameters.max_time_in_seconds = seconds
    return solver.solve(model)


def canonical(f: Formulation, found: Mapping, *, energy: int, cycles: int | None, time_limit: float,
              workers: int, settled: dict[int, int] | None = None, probe: float = 0.0,
              core: bool = True) -> Canonical:
    """The lexicographically least decisions among mappings with this energy (and these cycles).

    `found` is one such mapping (the solver's answer): the first step's hint.
    `settled` are leading key variables already minimised with the energy
    (`solve_once`'s `lead`): they are fixed, and the steps start after them.
    `probe`: seconds each step is first tried without presolve (`probe_seconds`).

    `cycles` pins the cycle count too (latency and EDP results); it needs a
    formulation built with cycles. `core`: the steps use core-based search
    (`new_solver`'s tie-break setting), else CP-SAT's default search; either
    proves the same minimum. Returns `mapping` None when a step was not
    proved within `time_limit` seconds in all.
    """
    start = time.perf_counter()
    model = f.model.clone()
    model.add(f.energy == energy)
    if cycles is not None:
        model.add(model.get_int_var_from_proto_index(f.cycles.index) == cycles)
    settled = settled or {}
    for index, value in settled.items():
        model.add(model.get_int_var_from_proto_index(index) == value)
    # The steps' chunks are cut as without `settled` (they only leave the first chunk's head out): where
    # a chunk starts decides how hard its step is (cut after the settled variables instead, simple_os
    # VGG-16 features.2's tie-break took 12.9 s against 1.8 s).
    steps_of = [[entry for entry in chunk if entry[0] not in settled] for chunk in chunks(key_domains(f))]
    domains = [entry for chunk in steps_of for entry in chunk]
    solver = new_solver(workers, time_limit, tie_break=core)
    steps = 0
    values: dict[int, int] | None = None
    for chunk in [chunk for chunk in steps_of if chunk] or [[]]:
        left = time_limit - (time.perf_counter() - start)
        if left <= 0.05:
            return Canonical(None, steps, time.perf_counter() - start)
        model.minimize(mixed_radix(model, chunk)[0])      # replaces the previous step's objective
        model.clear_hints()
        if values is None:
            add_hint(f, model, found)
        else:
            for index, value in values.items():
                model.add_hint(model.get_int_var_from_proto_index(index), value)
        status = _step(solver, model, left, probe)
        steps += 1
        if status != cp_model.OPTIMAL:
            return Canonical(None, steps, time.perf_counter() - start)
        values = {index: int(solver.value(model.get_int_var_from_proto_index(index))) for index, _, _ in domains}
        for index, _, _ in chunk:
            model.add(model.get_int_var_from_proto_index(index) == values[index])
    return Canonical(decode(f, solver), steps, time.perf_counter() - start)
