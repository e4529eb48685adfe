"""The results table: one row per design x model x objective, its totals as `compile` reports them,
Pareto fronts marked; written as CSV (and Parquet when pyarrow is installed).

A row's totals come from the backend's `Schedule` of that design's
mappings (`summary.totals`), so a row equals what `accelmap compile` of the
design's arch YAML prints: energy includes host ops streaming from DRAM;
cycles are the layers' and host ops' summed; EDP is total energy x total
cycles. A design on which a layer does not fit is a row marked infeasible
with the mapper's reason.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace

from accelmap.arch.spec import Arch
from accelmap.backend import LayerStatus, build_schedule
from accelmap.backend.present.summary import layer_rows, totals
from accelmap.mapper.solve import MapResult
from accelmap.sweep.pareto import FRONTS, pareto_front
from accelmap.sweep.tasks import Infeasible, Job, Outcome


@dataclass(frozen=True)
class SweepRow:
    """One design x model x objective. Energy in uJ, EDP in uJ x cycles, capacity in KiB.

    `proved` is the share of mapped layers proved optimal; `worst_gap` the
    largest optimality gap among them (None when one has no bound); both
    None on an infeasible row.
    `pareto` names the fronts (`FRONTS`) the row is on, within its model
    and objective.
    """

    design: str
    labels: tuple[str, ...]
    model: str
    objective: str
    feasible: bool
    energy_uj: float | None
    cycles: int | None
    edp: float | None
    onchip_kib: float
    pes: int
    layers: int
    proved: float | None
    worst_gap: float | None
    pareto: tuple[str, ...] = ()
    reason: str = ""


def onchip_kib(arch: Arch) -> float:
    """Storage below DRAM, every instance counted (a scratchpad per PE counts once per PE), in KiB."""
    bits = sum((level.capacity_bits or 0) * arch.instances(i) for i, level in enumerate(arch.levels) if i > 0)
    return bits / 8 / 1024


def job_row(job: Job, outcomes: dict[str, Outcome]) -> SweepRow:
    """The row of one design x model x objective from its layers' outcomes."""
    arch = job.design.arch
    results = {name: outcomes[key] for name, key in job.layer_keys.items()}
    infeasible = [o for o in results.values() if isinstance(o, Infeasible)]
    common = dict(design=job.design.id, labels=job.design.labels, model=job.model, objective=job.objective,
                  onchip_kib=onchip_kib(arch), pes=arch.num_pes, layers=len(results))
    if infeasible:
        return SweepRow(**common, feasible=False, energy_uj=None, cycles=None, edp=None, proved=None,
                        worst_gap=None, reason=infeasible[0].reason)
    mapped: dict[str, MapResult] = results  # type: ignore[assignment]
    statuses = {name: LayerStatus(r.status, r.gap, r.canonical) for name, r in mapped.items()}
    schedule = build_schedule(job.graph, arch, {name: r.mapping for name, r in mapped.items()}, statuses)
    total = totals(layer_rows(schedule))
    gaps = [r.gap for r in mapped.values()]
    energy = total.energy_pj / 1e6
    return SweepRow(**common, feasible=True, energy_uj=energy, cycles=total.cycles, edp=energy * total.cycles,
                    proved=total.proved / max(total.layers, 1),
                    worst_gap=None if any(g is None for g in gaps) else max(gaps, default=0.0))


def mark_pareto(rows: list[SweepRow]) -> list[SweepRow]:
    """`rows` with `pareto` filled: per model and objective, the feasible rows no other row dominates."""
    marks: dict[int, list[str]] = {i: [] for i in range(len(rows))}
    groups: dict[tuple[str, str], list[int]] = {}
    for i, row in enumerate(rows):
        if row.feasible:
            groups.setdefault((row.model, row.objective), []).append(i)
    for members in groups.values():
        for front, metrics in FRONTS.items():
            points = [tuple(getattr(rows[i], m) for m in metrics) for i in members]
            for j in pareto_front(points):
                marks[members[j]].append(front)
    return [replace(row, pareto=tuple(marks[i])) for i, row in enumerate(rows)]


def columns(axis_names: tuple[str, ...]) -> list[str]:
    """The table's column names, axes in spec order after the design id."""
    return (["design", *axis_names, "model", "objective", "feasible", "energy_uj", "cycles", "edp_uj_cycles",
             "onchip_kib", "pes", "layers", "proved", "worst_gap", "pareto", "reason"])


def cells(row: SweepRow) -> list[object]:
    """A row's values in `columns` order (None where there is no value)."""
    return [row.design, *row.labels, row.model, row.objective, row.feasible, row.energy_uj, row.cycles, row.edp,
            row.onchip_kib, row.pes, row.layers, row.proved, row.worst_gap, ";".join(row.pareto), row.reason]


def to_csv(rows: list[SweepRow], axis_names: tuple[str, ...]) -> str:
    """The table as CSV text (floats written with repr, so reading back gives the same numbers)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns(axis_names))
    for row in rows:
        writer.writerow(["" if v is None else repr(v) if isinstance(v, float) else v for v in cells(row)])
    return out.getvalue()


def parquet_bytes(rows: list[SweepRow], axis_names: tuple[str, ...]) -> bytes | None:
    """The table as Parquet, or None when pyarrow is not installed (it is optional)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return None
    names = columns(axis_names)
    data = {name: [cells(row)[i] for row in rows] for i, name in enumerate(names)}
    sink = io.BytesIO()
    pq.write_table(pa.table(data), sink)
    return sink.getvalue()
