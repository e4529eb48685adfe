"""The numbers a compile reports, per layer and in total, and their text forms.

Built from a `Schedule` (what OUTDIR holds), so `compile`, `explain`,
`summary.md` and the HTML report all show the same numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import prod

from accelmap.backend.outdir.schedule import Schedule
from accelmap.backend.present.loopnest import render_loopnest
from accelmap.mapper.bounds import lower_bounds
from accelmap.mapper.model import host_op_cost


@dataclass(frozen=True)
class LayerRow:
    """One mapped layer or host op: energy in pJ, cycles, utilisation, status."""

    name: str
    kind: str
    macs: int
    energy_pj: float
    bound_pj: float
    cycles: int
    utilisation: float
    status: str
    gap: float | None
    energy_by_level: dict[str, dict[str, float]]


@dataclass(frozen=True)
class Totals:
    """Whole-model totals; `ratio_to_bound` is energy over the sum of per-layer lower bounds."""

    macs: int
    energy_pj: float
    bound_pj: float
    cycles: int
    layers: int
    proved: int
    host_ops: int

    @property
    def ratio_to_bound(self) -> float:
        """Total energy / total lower bound (1.0 is unbeatable)."""
        return self.energy_pj / self.bound_pj if self.bound_pj else float("nan")


def layer_rows(schedule: Schedule) -> list[LayerRow]:
    """Per mapped layer (in graph order) its row, then per host op its DRAM-streaming row.

    A layer's bound (`bounds.lower_bounds`) holds for every mapping of the
    layer, padded ones too when its mapping is padded (else for every
    unpadded one, the mapspace `accelmap compile` searches by default).
    """
    rows = []
    for plan in schedule.layers:
        cost = plan.cost
        by_level = {level: {t: e / 1000 for t, e in tensors.items()}
                    for level, tensors in zip(cost["levels"], cost["level_energy"])}
        bound = lower_bounds(plan.workload, schedule.arch, padding=bool(plan.mapping.padded))
        rows.append(LayerRow(plan.name, plan.workload.kind, plan.workload.macs, cost["energy"] / 1000,
                             bound.energy / 1000, cost["cycles"], cost["utilisation"], plan.status.status,
                             plan.status.gap, by_level))
    graph = schedule.graph
    for node in graph.host_ops():
        words_in = sum(prod(graph.tensors[t].shape) for t in node.inputs if t in graph.tensors)
        words_out = sum(prod(graph.tensors[t].shape) for t in node.outputs if t in graph.tensors)
        host = host_op_cost(words_in, words_out, schedule.arch)
        rows.append(LayerRow(node.name, f"host:{node.op}", 0, host.energy / 1000, host.energy / 1000, host.cycles,
                             0.0, "HOST", None, {schedule.arch.levels[0].name: {"I": host.energy / 1000}}))
    return rows


def totals(rows: list[LayerRow]) -> Totals:
    """Sums over all rows."""
    mapped = [r for r in rows if r.status != "HOST"]
    return Totals(sum(r.macs for r in rows), sum(r.energy_pj for r in rows), sum(r.bound_pj for r in rows),
                  sum(r.cycles for r in rows), len(mapped), sum(r.status == "OPTIMAL" for r in mapped),
                  len(rows) - len(mapped))


def _gap(row: LayerRow) -> str:
    return "-" if row.gap is None else f"{100 * row.gap:.1f}%"


def table_rows(rows: list[LayerRow], host_ops: bool = False) -> list[list[str]]:
    """Text cells per row: layer, kind, MACs, energy (uJ), x bound, cycles, util, status, gap."""
    out = []
    for r in rows:
        if r.status == "HOST" and not host_ops:
            continue
        ratio = f"{r.energy_pj / r.bound_pj:.2f}" if r.bound_pj else "-"
        out.append([r.name, r.kind, f"{r.macs:,}", f"{r.energy_pj / 1e6:.3f}", ratio, f"{r.cycles:,}",
                    f"{100 * r.utilisation:.0f}%", r.status, _gap(r)])
    return out


HEADER = ["layer", "kind", "MACs", "energy uJ", "x bound", "cycles", "util", "status", "gap"]


def render_table(cells: list[list[str]], header: list[str]) -> str:
    """A plain aligned text table."""
    widths = [max(len(row[i]) for row in cells + [header]) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in cells])


def totals_line(t: Totals) -> str:
    """One line of totals."""
    return (f"{t.layers} mapped layers ({t.proved} proved optimal), {t.host_ops} host ops; "
            f"{t.macs:,} MACs; energy {t.energy_pj / 1e6:.3f} uJ ({t.ratio_to_bound:.2f}x the lower bound); "
            f"{t.cycles:,} cycles")


def summary_markdown(schedule: Schedule) -> str:
    """summary.md: the per-layer table and totals as Markdown."""
    rows = layer_rows(schedule)
    cells = table_rows(rows, host_ops=True)
    lines = [f"# {schedule.graph.name} on {schedule.arch.name}", "", totals_line(totals(rows)), "",
             "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells]
    return "\n".join(lines) + "\n"


def explain_layer(schedule: Schedule, plan, out_dir) -> str:
    """One layer: workload, status, loop nest (rendered from the checked mapping) and energy by level and tensor."""
    cost = plan.cost
    lines = [f"layer {plan.name}: {plan.workload.kind} {plan.workload.describe()}",
             f"status {plan.status.status}" + ("" if plan.status.gap is None else f", gap {100 * plan.status.gap:.2f}%"),
             f"energy {cost['energy'] / 1e9:.3f} uJ, cycles {cost['cycles']:,}, "
             f"utilisation {100 * cost['utilisation']:.1f}%", "", "loop nest:"]
    nest = render_loopnest(plan, schedule.arch, schedule.graph.node(plan.name).op)
    lines += ["  " + line for line in nest.splitlines()]
    lines += ["", "energy by level and tensor (uJ):"]
    total = cost["energy"] or 1
    for level, tensors in zip(cost["levels"], cost["level_energy"]):
        for tensor, fj in sorted(tensors.items()):
            if fj:
                lines.append(f"  {level:12s} {tensor}  {fj / 1e9:10.4f}  {100 * fj / total:5.1f}%")
    for fanout, fj in zip(schedule.arch.fanouts, cost["fanout_energy"]):
        if fj:
            lines.append(f"  {fanout.name:12s} hops {fj / 1e9:10.4f}  {100 * fj / total:5.1f}%")
    lines.append(f"  {'MACs':12s}    {cost['compute_energy'] / 1e9:10.4f}  {100 * cost['compute_energy'] / total:5.1f}%")
    return "\n".join(lines)
