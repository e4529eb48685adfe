"""`map_workload`: the proved-best mapping of one layer, re-scored by the cost model.

The pipeline, one step per line below: optionally a random-search baseline
(hint and first incumbent; it needs the mapspace counted, seconds on big
layers, and CP-SAT's proofs barely use it) or, when time is short, the best
of quick random walks; either improved by local search (`search_local`) as
the start when time is short or the model big; the CP-SAT formulation of the
whole mapspace (`cpsat.build`), the solve for the objective, then the answer decoded,
re-scored with `model.evaluate` and checked with `validity.check_mapping`;
the solver's objective must equal the model's score (DESIGN rule 1).

EDP (energy x cycles) is not linear: it is solved as a sweep of exact
sub-problems "least energy with cycles <= tau" (every EDP-optimal mapping is
on that Pareto front), each tau cut to where an improvement is still
possible; the bound reported is one that holds for every mapping.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from functools import partial

from accelmap.arch.spec import Arch
from accelmap.errors import InfeasibleLayer
from accelmap.ir.workload import Workload
from accelmap.mapper import cpsat
from accelmap.mapper.cpsat import Formulation, Outcome, build, presolve_seconds
from accelmap.mapper.cpsat.terms import bounds_of
from accelmap.mapper.mapping import Mapping
from accelmap.mapper.mapspace import Mapspace
from accelmap.mapper.bounds import lower_bounds
from accelmap.mapper.model import OBJECTIVES, Cost, evaluate, score
from accelmap.mapper.search_local import local_search
from accelmap.mapper.search_random import random_search, walk_search
from accelmap.mapper.tiebreak import canonical, key_domains, probe_seconds
from accelmap.mapper.slots import padded_bounds
from accelmap.mapper.validity import check_mapping
from accelmap.mapper.workers import WorkerDied, run_within

HINT_SAMPLES = 300
"""Random mappings scored for the baseline (`count`) and for the start when time is short."""
HINT_BELOW_SECONDS = 20.0
"""Time limits below which the solver starts from `_start` (walks, then local search): with
little time CP-SAT may find no mapping of a large layer on its own (ResNet-18 on edge_npu at 5 s: 2 of 12
layers; the imported ISPASS Eyeriss without constraints, VGG-16 features.5 at 10 s), while with more the
proof dominates and the start does not shorten it (simba ResNet-50's conv1 and 3x3 convs, 30 s, one worker:
174.3 s without, 174.2 s from 300 walks)."""
START_PRESOLVE_SHARE = 0.15
"""Share of the time limit above which CP-SAT's expected presolve (`presolve_seconds`) makes the solver
start from `_start` at any limit. On such models (the imported Timeloop designs without their
constraints: 35-70k lookup-table rows, against at most 22k on the presets and the constrained imports)
its first solution comes late: simple_ws without constraints, ResNet-18 layer3.0's first conv, 30 s, one
worker: presolve 7.7 s, first solution at 15.1 s. From the best of 300 walks (0.1 s) the 30 s answer was
better on 4 of 5 unproved layers (geometric mean 0.89x; 0.64x on that layer, where without the start
uniform random sampling for the same 30 s did better than CP-SAT)."""
START_SHARE = 0.1
"""Share of the time limit the start may take (`_start`): the walks (they stop at `HINT_SAMPLES` valid
mappings, ~0.1 s), then `local_search` from the best of them for the rest (`_anneal_seconds`). eyeriss256 without
constraints, ResNet-18's eight unproved unique layers, one worker, 30 s: the answer of CP-SAT from the
best walk summed to 2,700 uJ (layer2.0's 3x3 437-509 uJ across runs, worse than 30 s of uniform random
sampling, 482.6 uJ); 3 s of annealing alone gives 2,457-2,491 uJ over three seeds (layer2.0's 3x3
272-302 uJ)."""
OVERRUN = 2.0
"""Seconds the tie-break may run past the layer's time limit before its process is killed
(`workers.run_within`); the proved optimum found before it is kept, marked not canonical."""
PADDED_COUNT_LIMIT = (512, 10**7)
"""Padded-bound combinations, and unpadded mapspace size, up to which the padded mapspace is counted."""


@dataclass(frozen=True)
class MapResult:
    """The best mapping found for one layer and how good it is proved to be.

    `objective` is the model's score of `mapping` under `objective_name`
    (fJ, cycles or fJ x cycles); `bound` holds for every mapping of the
    mapspace; status "OPTIMAL" means `objective == bound`. `mapspace_size`
    is the exact count when it was cheap (`mapspace_note` says why not).
    `canonical` is True when `mapping` is the canonical one among the
    equal-cost optima (`tiebreak`): then every run returns it.
    """

    mapping: Mapping
    cost: Cost
    objective_name: str
    status: str
    objective: int
    bound: int
    gap: float
    wall_time: float
    solver_time: float
    variables: int
    constraints: int
    mapspace_size: int | None
    mapspace_note: str
    baseline: int | None
    note: str = ""
    canonical: bool = False


def map_workload(workload: Workload, arch: Arch, objective: str = "energy", *, time_limit: float = 30.0,
                 workers: int = 2, hint: Mapping | None = None, allow_padding: bool = False,
                 tie_break: bool = True, count: bool = False, log: bool = False) -> MapResult:
    """Map `workload` on `arch` minimising `objective`; raise `InfeasibleLayer` when nothing fits.

    With `tie_break`, a proved optimum is replaced by the canonical mapping
    of the same cost (`tiebreak.canonical`), within the same time limit.
    With `count`, the mapspace is counted exactly and `HINT_SAMPLES` uniform
    random mappings scored first: `mapspace_size` and `baseline` are filled
    and the best hints the solver. For short time limits and big models
    (`_start_pays`) the start is that best, or without `count` the best of
    random walks (`walk_search`), improved by local search (`_start`); the
    answer is never worse than the start.
    With `allow_padding`, the unpadded optimum is found first; the padded
    mapspace is then searched, in the time left, for a mapping at least as
    good; a padded mapping replaces the unpadded one only when strictly
    cheaper, so padding never makes the answer worse.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; objectives are {', '.join(OBJECTIVES)}")
    start = time.perf_counter()
    # 1. Baseline, when asked: uniform random mappings (an empty unpadded mapspace is explained at once).
    # When time is short or the model big (`_start_pays`), the best of them (or of quick walks) improved by
    # local search. With padding the unpadded solve below makes its own hint.
    baseline = _baseline(workload, arch, objective) if count else None
    if count and baseline is None and not allow_padding:
        raise _explain_infeasible(workload, arch, allow_padding)
    # The formulation of the whole mapspace (padding left out, and said so, when its tables are too big).
    f, covered, note = _formulate(workload, arch, objective, allow_padding)
    sampled = baseline[:2] if baseline else None
    annealed = not allow_padding and _start_pays(f, time_limit)
    if annealed:
        sampled = _start(workload, arch, objective, START_SHARE * time_limit, _anneal_seconds(f, time_limit),
                         sampled)
    size, size_note = (_mapspace_size(workload, arch, allow_padding, baseline[2] if baseline else 0) if count
                       else (None, "not counted (count=False)"))
    warm = hint
    start_at = _best_start(workload, arch, objective, hint, sampled)
    # The start is a hint, not a cap: "objective <= start" made CP-SAT's first solution harder to find (imported
    # ISPASS Eyeriss without constraints, 10 s: ResNet-18 layer1 429 vs 383 uJ without the cap; VGG-16
    # features.5, presolve off, nothing better than the start vs 2,534 uJ).
    hint, cap = (start_at[0] if start_at else None), None
    plain = _unpadded_first(workload, arch, objective, time_limit, workers, hint, log) if allow_padding else None
    if plain is not None:
        hint, cap = plain.mapping, plain.objective
    remaining = lambda: time_limit - (time.perf_counter() - start)  # noqa: E731
    floor = _trivial_bound(workload, arch, objective, allow_padding)
    # 2. Solve.
    energy_proved = False                     # latency only: the least energy among its optima was proved
    # With the tie-break ahead, the search that proves the least energy (for latency: among the latency
    # optima; for EDP: in each sub-problem) also settles the key's first variables (`solve_once`'s lead),
    # where the tie-break's steps were slowest.
    lead = key_domains(f) if f is not None and tie_break and covered and plain is None else None
    if f is None:
        outcome, bound = Outcome("UNKNOWN", None, None, None, 0.0), None
    elif objective == "edp":
        known = [m for m in (hint, baseline[0] if baseline else None) if m is not None]
        outcome, bound, sweep = _sweep_edp(f, workload, arch, remaining, workers, known, allow_padding, lead, log)
        note = _join(note, sweep)
    else:
        outcome = solve_once(f, objective, time_limit=remaining(), workers=workers, hint=hint, cap=cap,
                             lead=lead if objective == "energy" else None, floor=floor, log=log)
        if plain is None and start_at and outcome.mapping is not None and outcome.objective > start_at[1]:
            outcome = replace(outcome, mapping=None, objective=None)      # the start is better: reported below
        bound = outcome.bound
        if objective == "latency" and outcome.status == "OPTIMAL" and remaining() > 0.2:
            energy_floor = _trivial_bound(workload, arch, "energy", allow_padding)
            outcome, tie, energy_proved = _least_energy_at(f, outcome, remaining, workers, lead, energy_floor, log)
            note = _join(note, tie)
    if not covered:
        bound = None                          # the solver's bound does not hold for padded mappings
    if plain is not None:
        outcome, padding_note = _prefer_unpadded(workload, arch, objective, outcome, plain)
        note = _join(note, padding_note)
    is_canonical = False
    if tie_break and covered and f is not None and outcome.status == "OPTIMAL" and outcome.mapping is not None:
        if objective == "latency" and not energy_proved:
            note = _join(note, "energy among latency optima not proved: another run may return another mapping")
        else:
            outcome, is_canonical, tie = _canonical(f, objective, outcome, remaining, workers)
            note = _join(note, tie)
    # 3. Decode, re-score, check.
    if outcome.mapping is None and outcome.status == "INFEASIBLE" and start_at is None:
        raise _explain_infeasible(workload, arch, allow_padding)
    if outcome.mapping is None and start_at is None:
        # Last resort: walks, then (they cannot show emptiness) the uniform baseline, however long it counts.
        start_at = _start(workload, arch, objective, max(1.0, START_SHARE * time_limit),
                          _anneal_seconds(f, time_limit), None)
        annealed = start_at is not None
        if start_at is None:
            baseline = _baseline(workload, arch, objective)
            start_at = baseline[:2] if baseline else None
    mapping = outcome.mapping if outcome.mapping is not None else start_at[0] if start_at else None
    if mapping is None:
        raise InfeasibleLayer(f"no mapping of {workload.describe()} on arch '{arch.name}' was found within "
                              f"{time_limit:g} s (none fits without padding); raise the time limit")
    if outcome.mapping is None and plain is None:
        given = warm is not None and start_at is not None and start_at[0] is warm
        origin = ("warm start" if given else "best of random mappings, improved by local search," if annealed
                  else "best of random mappings")
        note = _join(note, f"the solver found no better solution in time; the {origin} is reported")
    if covered and allow_padding and any(f.nest.dropped.values()):
        note = _join(note, "padded bounds dominated by smaller ones were left out (never better)")
    return _answer(workload, arch, objective, mapping, max(bound or 0, floor), note, start=start,
                   solver=(outcome.seconds, outcome.objective if outcome.mapping is not None else None),
                   size=f.size if f is not None else (0, 0),
                   mapspace=(size, size_note), baseline=baseline[1] if baseline else None, canonical=is_canonical)


def map_by_search(workload: Workload, arch: Arch, objective: str = "energy", *, time_limit: float = 30.0,
                  hint: Mapping | None = None, reason: str = "") -> MapResult:
    """Map `workload` without CP-SAT, for when its process could not finish (`network` runs this when a
    solver's process died): `hint` when it is a valid mapping (a warm start: the answer is never worse),
    else the best of random walks (or, failing those, of uniform random mappings), improved by local search
    for `time_limit` (less once it meets the model's lower bound), with that bound; `reason` starts the note.
    Raises `InfeasibleLayer` when no mapping is found."""
    start = time.perf_counter()
    bound = _trivial_bound(workload, arch, objective, False)
    warm = _best_start(workload, arch, objective, hint, None)
    found = _start(workload, arch, objective, time_limit, time_limit, warm, bound)
    if found is None:
        baseline = _baseline(workload, arch, objective)
        if baseline is None:
            raise _explain_infeasible(workload, arch, False)
        found = _start(workload, arch, objective, time_limit, time_limit, baseline[:2], bound)
    origin = "warm start" if warm is not None else "best of random mappings"
    note = _join(reason, f"the {origin}, improved by local search, is reported")
    return _answer(workload, arch, objective, found[0], bound, note,
                   start=start, solver=(0.0, None), size=(0, 0), mapspace=(None, "not counted"), baseline=None,
                   canonical=False)


def _answer(workload: Workload, arch: Arch, objective: str, mapping: Mapping, bound: int, note: str, *,
            start: float, solver: tuple[float, int | None], size: tuple[int, int], mapspace: tuple[int | None, str],
            baseline: int | None, canonical: bool) -> MapResult:
    """The result for `mapping`, re-scored by the model and checked: OPTIMAL when its score meets `bound`
    (which holds for every mapping). `solver` is (seconds, objective): the solver's time, and its objective
    when the mapping is its answer, which must be the model's score (DESIGN rule 1; EDP's is the sweep's)."""
    cost = evaluate(workload, arch, mapping)
    value = score(cost, objective)
    problems = check_mapping(workload, arch, mapping)
    if problems:
        raise AssertionError(f"the search returned an invalid mapping of {workload.describe()}: {problems}")
    if solver[1] is not None and objective != "edp" and solver[1] != value:
        raise AssertionError(f"solver objective {solver[1]} != model score {value} "
                             f"({objective}, {workload.describe()} on {arch.name})")
    status = "OPTIMAL" if bound >= value else "FEASIBLE"
    if status == "FEASIBLE":
        note = _join(note, "not proved optimal: another run may return a different mapping")
    bound = min(bound, value)
    return MapResult(mapping=mapping, cost=cost, objective_name=objective, status=status, objective=value,
                     bound=bound, gap=(value - bound) / value if value else 0.0,
                     wall_time=time.perf_counter() - start, solver_time=solver[0],
                     variables=size[0], constraints=size[1], mapspace_size=mapspace[0], mapspace_note=mapspace[1],
                     baseline=baseline, note=note, canonical=canonical)


def rescore(workload: Workload, arch: Arch, mapping: Mapping, objective: str, doc: dict) -> MapResult:
    """A stored result re-scored by the model (raises ValueError when the mapping is no longer valid)."""
    problems = check_mapping(workload, arch, mapping)
    if problems:
        raise ValueError(f"stored mapping is not valid: {'; '.join(problems)}")
    cost = evaluate(workload, arch, mapping)
    value = score(cost, objective)
    bound = min(int(doc.get("bound", value)), value)
    status = "OPTIMAL" if doc.get("status") == "OPTIMAL" and bound >= value else "FEASIBLE"
    return MapResult(mapping=mapping, cost=cost, objective_name=objective, status=status, objective=value,
                     bound=bound, gap=(value - bound) / value if value else 0.0,
                     wall_time=float(doc.get("wall_time", 0.0)), solver_time=0.0, variables=0, constraints=0,
                     mapspace_size=None, mapspace_note="from the cache", baseline=None, note="cached",
                     canonical=status == "OPTIMAL" and bool(doc.get("canonical")))


# -- steps ----------------------------------------------------------------------------------------

def _prefer_unpadded(workload: Workload, arch: Arch, objective: str, outcome: Outcome,
                     plain: MapResult) -> tuple[Outcome, str]:
    """The padded search's answer only when strictly better than the unpadded best, by (objective, energy)."""
    if outcome.mapping is not None:
        cost = evaluate(workload, arch, outcome.mapping)
        if (score(cost, objective), cost.energy) < (plain.objective, plain.cost.energy):
            return outcome, "padding pays: cheaper than the unpadded best"
    kept = replace(outcome, mapping=plain.mapping, objective=plain.objective, energy=plain.cost.energy,
                   cycles=plain.cost.cycles)
    if outcome.status == "OPTIMAL":
        return kept, "no padded mapping is cheaper (proved)"
    return kept, "no padded mapping cheaper than the unpadded best found in time"


def _unpadded_first(workload: Workload, arch: Arch, objective: str, time_limit: float, workers: int,
                    hint: Mapping | None, log: bool) -> MapResult | None:
    """The unpadded mapspace's best (no tie-break: the padded search decides), None when nothing fits unpadded."""
    try:
        return map_workload(workload, arch, objective, time_limit=time_limit, workers=workers, hint=hint,
                            tie_break=False, log=log)
    except InfeasibleLayer:
        return None


def solve_once(f: Formulation, objective: str, **kwargs) -> Outcome:
    """`cpsat.solve_once`, with DESIGN rule 1 checked on every answer: the solver's energy and cycles
    of the decoded mapping are the model's, to the fJ and the cycle."""
    outcome = cpsat.solve_once(f, objective, **kwargs)
    if outcome.mapping is not None:
        cost = evaluate(f.nest.workload, f.nest.arch, outcome.mapping)
        solver = (outcome.energy, outcome.cycles if f.cycles is not None else cost.cycles)
        if solver != (cost.energy, cost.cycles):
            raise AssertionError(f"solver (energy, cycles) {solver} != model {(cost.energy, cost.cycles)} for "
                                 f"{f.nest.workload.describe()} on {f.nest.arch.name}: "
                                 f"{outcome.mapping.describe()}")
    return outcome


def _baseline(workload: Workload, arch: Arch, objective: str) -> tuple[Mapping, int, int] | None:
    """(best random mapping, its score, mapspace size), or None when the mapspace is empty."""
    try:
        found = random_search(workload, arch, objective, samples=HINT_SAMPLES, seed=0)
    except InfeasibleLayer:
        return None
    return found.mapping, found.score, found.mapspace_size


def _start_pays(f: Formulation | None, time_limit: float) -> bool:
    """Whether the solver should start from `_start`: when time is short
    (`HINT_BELOW_SECONDS`) or presolve alone is expected to take `START_PRESOLVE_SHARE` of it."""
    return time_limit < HINT_BELOW_SECONDS or f is None or presolve_seconds(f) > START_PRESOLVE_SHARE * time_limit


def _start(workload: Workload, arch: Arch, objective: str, seconds: float, anneal: float,
           sampled: tuple[Mapping, int] | None, target: int = 0) -> tuple[Mapping, int] | None:
    """(mapping, score) from `sampled` (or, without it, the best of `walk_search`'s walks) improved by
    `local_search` for `anneal` seconds (less once it scores `target`, a lower bound), all within `seconds`;
    None when no walk found a mapping."""
    begin = time.perf_counter()
    if sampled is None:
        found = walk_search(workload, arch, objective, time_limit=seconds, samples=HINT_SAMPLES, seed=0)
        if found is None:
            return None
        sampled = found.mapping, found.score
    left = min(anneal, seconds - (time.perf_counter() - begin))
    if left <= 0:
        return sampled
    found = local_search(workload, arch, objective, [sampled[0]], time_limit=left, seed=0, target=target)
    return found.mapping, found.score


def _anneal_seconds(f: Formulation | None, time_limit: float) -> float:
    """How long the start is annealed: `START_SHARE` of the limit, and no longer than CP-SAT's expected
    presolve (`presolve_seconds`, which grows with the layer's lookup tables): CP-SAT proves a small layer
    in about that time anyway (BERT-tiny on gemmini at 5 s: 0.02 s, not 0.5 s, per layer)."""
    share = START_SHARE * time_limit
    return share if f is None else min(share, presolve_seconds(f))


def _best_start(workload: Workload, arch: Arch, objective: str, hint: Mapping | None,
                sampled: tuple[Mapping, int] | None) -> tuple[Mapping, int] | None:
    """(mapping, score) the solver starts from and the answer is never worse than: the better of a caller's hint
    (a warm start; ignored when it is not a valid mapping of the layer) and the best sampled mapping."""
    starts = [sampled] if sampled else []
    if hint is not None and not check_mapping(workload, arch, hint):
        starts.append((hint, score(evaluate(workload, arch, hint), objective)))
    return min(starts, key=lambda s: s[1]) if starts else None


def _mapspace_size(workload: Workload, arch: Arch, allow_padding: bool, unpadded: int) -> tuple[int | None, str]:
    """The exact mapspace size when cheap, else None and why."""
    if not allow_padding:
        return unpadded, "exact count (Mapspace.size)"
    combos = 1
    for _, b in workload.bounds:
        combos *= len(padded_bounds(b))
    if combos > PADDED_COUNT_LIMIT[0] or unpadded > PADDED_COUNT_LIMIT[1]:
        return None, f"with padding: {combos} bound combinations, too costly to count"
    return Mapspace(workload, arch, allow_padding=True).size(), "exact count with padding (Mapspace.size)"


def _formulate(workload: Workload, arch: Arch, objective: str,
               allow_padding: bool) -> tuple[Formulation | None, bool, str]:
    """(formulation, whether it covers padding, note); None when even the unpadded tables are too big."""
    try:
        return build(workload, arch, cycles=objective != "energy", allow_padding=allow_padding), True, ""
    except OverflowError as err:
        if not allow_padding:
            return None, False, f"formulation too large ({err}); the best of random mappings is reported"
        reason = f"padded bounds not covered, their tables are too large ({err})"
    try:
        return build(workload, arch, cycles=objective != "energy"), False, reason
    except OverflowError as err:
        return None, False, f"{reason}; unpadded formulation too large too ({err})"


def _join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def _trivial_bound(workload: Workload, arch: Arch, objective: str, padding: bool) -> int:
    """The model's lower bounds (`bounds.lower_bounds`), which hold for every mapping (unpadded ones only,
    without `padding`)."""
    bounds = lower_bounds(workload, arch, padding)
    return {"energy": bounds.energy, "latency": bounds.cycles, "edp": bounds.energy * bounds.cycles}[objective]


def _canonical(f: Formulation, objective: str, outcome: Outcome, remaining,
               workers: int) -> tuple[Outcome, bool, str]:
    """The canonical mapping among those with the proved optimum's energy (and cycles, unless energy
    is the objective): (outcome with it, whether it is canonical, a note)."""
    cost = evaluate(f.nest.workload, f.nest.arch, outcome.mapping)
    steps = partial(canonical, f, outcome.mapping, energy=cost.energy,
                    cycles=None if objective == "energy" else cost.cycles, workers=workers,
                    settled=outcome.settled, probe=probe_seconds(outcome.seconds))
    try:
        left = remaining()
        finished, found = run_within(left + OVERRUN, partial(steps, time_limit=left), ())
    except WorkerDied as died:
        # CP-SAT 9.15's core-based search can abort its process on a solution it built itself ("Infeasible
        # solution!", a failed internal check): MobileNetV2 features.12's 1x1 convs on the imported simple_ws.
        # The same steps with the default search prove the same minimum.
        try:
            left = remaining()
            finished, found = run_within(left + OVERRUN, partial(steps, time_limit=left, core=False), ())
        except WorkerDied:
            return outcome, False, (f"tie-break among equal-cost optima ended with a CP-SAT failure ({died}): "
                                    "another run may return a different mapping of the same cost")
    if not finished:
        return outcome, False, (f"tie-break among equal-cost optima stopped {OVERRUN:g} s past its time limit "
                                "(CP-SAT did not end in time): another run may return a different mapping "
                                "of the same cost")
    if found.mapping is None:
        return outcome, False, ("tie-break among equal-cost optima not finished in time: another run may "
                                "return a different mapping of the same cost")
    again = evaluate(f.nest.workload, f.nest.arch, found.mapping)
    if again.energy != cost.energy or (objective != "energy" and again.cycles != cost.cycles):
        raise AssertionError(f"canonical mapping costs {(again.energy, again.cycles)}, the optimum "
                             f"{(cost.energy, cost.cycles)}: {found.mapping.describe()}")
    return (Outcome(outcome.status, found.mapping, outcome.objective, outcome.bound,
                    outcome.seconds + found.seconds, cost.energy, cost.cycles), True, "")


def _least_energy_at(f: Formulation, best: Outcome, remaining, workers: int, lead: list[tuple[int, int, int]] | None,
                     floor: int, log: bool) -> tuple[Outcome, str, bool]:
    """Among latency-optimal mappings, the least energy (a second, optional solve): (outcome, note, proved).
    With `lead` the same solve settles the tie-break key's first variables among them (`solve_once`)."""
    again = solve_once(f, "energy", time_limit=remaining(), workers=workers, hint=best.mapping,
                       cycles_cap=best.objective, lead=lead, floor=floor, log=log)
    if again.mapping is None or again.cycles != best.objective:
        return best, "", False
    proved = again.status == "OPTIMAL"
    tie = "least energy among them" if proved else "energy reduced among them"
    return (Outcome(best.status, again.mapping, best.objective, best.bound, best.seconds + again.seconds,
                    again.energy, again.cycles, settled=again.settled), f"latency-optimal; {tie}", proved)


def _sweep_edp(f: Formulation, workload: Workload, arch: Arch, remaining, workers: int, known: list[Mapping],
               padding: bool, lead: list[tuple[int, int, int]] | None, log: bool) -> tuple[Outcome, int, str]:
    """Least EDP by exact sub-problems "least energy with cycles <= tau".

    Mappings are ranked by (EDP, energy): among EDP optima the least energy
    wins, so a proved result is one (energy, cycles) point whatever the
    hint, and the tie-break makes its mapping unique. Invariant: every
    mapping with cycles > tau ranks at or below the incumbent. A proved
    sub-problem (least energy E_k at cycles T_k) moves tau below T_k and to
    what the incumbent allows; an infeasible one ends the sweep.
    With `lead` each sub-problem also settles the tie-break key's first
    variables (`solve_once`); the answer carries them when it is a
    sub-problem's optimum: they are the least over {energy E_k, cycles <=
    tau}, reached by a mapping at (E_k, T_k), so also the least on the
    answer's face {E_k, T_k}.
    """
    seconds = 0.0
    hint = known[0] if known else None
    best = min((_edp_rank(workload, arch, m) for m in known), key=_rank, default=(1 << 126, 0, None))
    settled: dict[int, int] = {}
    fastest = solve_once(f, "latency", time_limit=remaining() / 3, workers=workers, hint=hint, log=log)
    seconds += fastest.seconds
    last = fastest.seconds
    t_min = max(fastest.bound or 0, _trivial_bound(workload, arch, "latency", padding))
    if fastest.mapping is not None:
        best = min(best, _edp_rank(workload, arch, fastest.mapping), key=_rank)
    e_low = max(1, _trivial_bound(workload, arch, "energy", padding))
    tau = bounds_of(f.cycles)[1]
    steps = 0
    proved = False
    while True:
        tau = min(tau, best[0] // e_low)      # beyond it EDP > the incumbent's
        if tau < t_min:
            proved = True
            break
        if remaining() <= 0.05:
            break
        # The lead costs its sub-problem time (simba ResNet-50's conv1: 13.2 -> 14.3 s): left out where less
        # than twice the last solve's time is left, so the proof comes first.
        step = solve_once(f, "energy", time_limit=remaining(), workers=workers, hint=best[2],
                          cycles_cap=tau, cap=None if best[2] is None else best[0] // max(1, t_min),
                          lead=lead if remaining() > 2 * last else None, floor=e_low, log=log)
        seconds += step.seconds
        last = step.seconds
        steps += 1
        if step.status == "INFEASIBLE":
            proved = True
            break
        if step.mapping is not None:
            ranked = _edp_rank(workload, arch, step.mapping)
            if _rank(ranked) <= _rank(best):
                best, settled = ranked, step.settled
        if step.status != "OPTIMAL":
            if step.bound is not None:
                e_low = max(e_low, step.bound)
            break
        e_low = max(e_low, step.objective)
        tau = step.cycles - 1
    bound = best[0] if proved else min(best[0], e_low * t_min)
    outcome = Outcome("OPTIMAL" if proved else "FEASIBLE", best[2], best[0], bound, seconds, settled=settled)
    return outcome, bound, f"EDP by {steps} energy sub-problem(s) over cycle caps, min cycles {t_min}"


def _rank(entry: tuple[int, int, Mapping | None]) -> tuple[int, int]:
    return entry[0], entry[1]


def _edp_rank(workload: Workload, arch: Arch, mapping: Mapping) -> tuple[int, int, Mapping]:
    """(EDP, energy, mapping): the sweep's order, least EDP first, then least energy."""
    cost = evaluate(workload, arch, mapping)
    return score(cost, "edp"), cost.energy, mapping


def _explain_infeasible(workload: Workload, arch: Arch, allow_padding: bool) -> InfeasibleLayer:
    """Why no mapping fits: the capacity constraints in an infeasible core, and the smallest tile each needs."""
    f = build(workload, arch, cycles=False, allow_padding=allow_padding, assume_capacity=True)
    lits = list(f.capacity.values())
    out = solve_once(f, "energy", time_limit=10.0, workers=1, assumptions=lits)
    where = {f.model.proto.variables[lit.index].name: key for key, lit in f.capacity.items()}
    if out.status != "INFEASIBLE" or not out.core:
        return InfeasibleLayer(f"no mapping of {workload.describe()} on arch '{arch.name}' satisfies its "
                               "dataflow constraints (fixed factors, factor bounds, axis dims, forced keep / bypass)")
    parts = []
    for name in out.core:
        level_index, pool = where[name]
        level = arch.levels[level_index]
        tensors = [t for t in "WIO" if any(t in p.tensors for p in level.partitions if p.name == pool)] \
            if pool else sorted(t for t in level.keeps)
        need = _smallest_need(f, level_index, pool, lits)
        have = level.usable_bits(tensors[0]) if tensors else level.capacity_bits
        where_text = f"partition {pool} of level {level.name}" if pool else f"level {level.name}"
        parts.append(f"{where_text} (tensor {', '.join(tensors)}): the smallest tile that must fit needs "
                     f"{need} bits, it has {have}")
    return InfeasibleLayer(f"no mapping of {workload.describe()} fits arch '{arch.name}': " + "; ".join(parts)
                           + ". Enlarge the buffer or relax the dataflow constraints (forced keep, fixed factors).")


def _smallest_need(f: Formulation, level: int, pool: str, lits: list) -> str:
    """Least bits the pool's kept tiles need when every other constraint holds (its own capacity dropped)."""
    from ortools.sat.python import cp_model

    from accelmap.mapper.cpsat.cost import tile_poly

    dv = f.dv
    lv = dv.arch.levels[level]
    model = f.model.clone()
    need = 0
    for t in "WIO":
        part = next((p.name for p in lv.partitions if t in p.tensors), "")
        if part == pool and dv.keep[level, t] is not False:
            dv.alg.model = model
            var, _, _ = dv.alg.gated(tile_poly(dv, level, t), dv.keep[level, t], f"need[{t}]")
            need += lv.tensors[t].word_bits * var
    dv.alg.model = f.model
    others = [lit for key, lit in f.capacity.items() if key != (level, pool)]
    for lit in others:
        model.add(lit == 1)
    model.minimize(need)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = 10.0
    status = solver.solve(model)
    if status == cp_model.OPTIMAL:
        return str(int(solver.objective_value))
    if status == cp_model.FEASIBLE:
        return f"at least {int(solver.best_objective_bound)}"
    return "an unknown number of"
