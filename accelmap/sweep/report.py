"""`render_sweep_report`: sweep.html, one self-contained page (inline CSS and SVG, no scripts).

Per model and objective, two Pareto plots (energy against cycles, energy
against on-chip capacity), every feasible design a point, the front's
designs highlighted and joined; then the infeasible designs with their
reasons and the whole table. Hovering a point shows its design and numbers.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from accelmap.backend.present.report import CSS
from accelmap.backend.present.svg import esc, frame, grid_x, grid_y, legend, nice_ticks, num, short, svg_open, text
from accelmap.sweep.pareto import FRONTS
from accelmap.sweep.table import SweepRow, cells, columns

if TYPE_CHECKING:
    from accelmap.sweep.driver import SweepResult

WIDTH, HEIGHT = 540, 380
FRONT_COLOUR, OTHER_COLOUR = "#d9602b", "#7d94b5"
AXIS_TITLES = {"energy_uj": "energy (uJ)", "cycles": "cycles", "onchip_kib": "on-chip capacity (KiB)"}
SWEEP_CSS = CSS + """
.plots{display:flex;flex-wrap:wrap;gap:12px}.wide{overflow-x:auto}
tr.front td{background:#fff4ec}td.reason{text-align:left;white-space:normal;color:#a33}
"""


def render_sweep_report(result: "SweepResult") -> str:
    """The whole sweep.html for `result` as text."""
    spec = result.spec
    rows = list(result.rows)
    title = f"Sweep {spec.name}: {spec.base} x {', '.join(spec.models)}"
    front_designs = sorted({r.design for r in rows if r.pareto})
    facts = [("designs", f"{len(result.designs)}"), ("models", f"{len(spec.models)}"),
             ("objectives", ", ".join(spec.objectives)),
             ("tasks", f"{result.tasks_before_dedup} \u2192 {result.tasks} distinct"),
             ("solved this run", f"{result.solved} (rest kept)"),
             ("tasks proved optimal", f"{result.proved} / {result.tasks}"),
             ("infeasible rows", f"{sum(not r.feasible for r in rows)}"),
             ("Pareto designs", f"{len(front_designs)}"), ("wall time", f"{result.wall_time:.1f} s")]
    sections = []
    groups = sorted({(r.model, r.objective) for r in rows})
    for n, (model, objective) in enumerate(groups):
        members = [r for r in rows if (r.model, r.objective) == (model, objective)]
        plots = "".join(pareto_plot(f"pareto-{n}-{front}", members, front) for front in FRONTS)
        sections.append(f"<section><h2>{esc(model)}, minimising {esc(objective)}</h2>"
                        f"<div class=\"plots\">{plots}</div><p class=\"note\">Orange: the Pareto front (no other "
                        "design is at least as good in both and better in one). Hover a point for its design."
                        "</p></section>")
    infeasible = [r for r in rows if not r.feasible]
    if infeasible:
        items = "".join(f"<li><b>{esc(r.design)}</b> ({esc(_named(result, r))}), {esc(r.model)}, {esc(r.objective)}:"
                        f" {esc(r.reason)}</li>" for r in infeasible)
        sections.append(f"<section><h2>Infeasible designs</h2><ul id=\"infeasible\">{items}</ul></section>")
    axis_names = tuple(axis.name for axis in spec.axes)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{esc(title)}</title>"
            f"<style>{SWEEP_CSS}</style></head><body><main><h1>{esc(title)}</h1>"
            f"<p class=\"sub\">axes {esc(_axes_text(result))} &middot; {esc(spec.sample.method)} &middot; "
            f"{spec.search.time_limit:g} s per task</p>"
            "<div class=\"facts\">" + "".join(f"<div class=\"fact\"><b>{esc(v)}</b><span>{esc(k)}</span></div>"
                                              for k, v in facts) + "</div>"
            + "".join(sections)
            + f"<section><h2>All designs</h2>{table_html(rows, axis_names)}"
            "<p class=\"note\">Pareto designs link to their arch YAML in pareto/, ready for "
            "<code>accelmap compile MODEL --arch pareto/ID.yaml</code>.</p></section></main></body></html>\n")


def _named(result: "SweepResult", row: SweepRow) -> str:
    return ", ".join(f"{axis.name}={label}" for axis, label in zip(result.spec.axes, row.labels))


def _axes_text(result: "SweepResult") -> str:
    return "; ".join(f"{axis.name} ({', '.join(axis.labels)})" for axis in result.spec.axes)


def span_ticks(low: float, high: float) -> list[float]:
    """Round ticks covering [low, high], not necessarily from 0 (designs often differ by a few percent)."""
    if high <= low:
        low, high = low * 0.95 if low else -1.0, high * 1.05 if high else 1.0
    step = nice_ticks(high - low)[1]
    start = (low // step) * step
    ticks = [start]
    while ticks[-1] < high - 1e-9 * abs(high):
        ticks.append(ticks[-1] + step)
    return ticks


def _padded(values: list[float]) -> tuple[float, float]:
    """The values' range widened by 5% each side, so no point sits on the frame."""
    low, high = min(values), max(values)
    margin = 0.05 * (high - low or abs(high) or 1.0)
    return low - margin, high + margin


def pareto_plot(plot_id: str, rows: list[SweepRow], front: str) -> str:
    """Energy (y) against cycles or capacity (x): one circle per feasible design, the front joined."""
    y_field, x_field = FRONTS[front]
    title = f"{AXIS_TITLES[y_field]} against {AXIS_TITLES[x_field]}"
    points = [(getattr(r, x_field), getattr(r, y_field), r) for r in rows if r.feasible]
    parts = [svg_open(plot_id, WIDTH, HEIGHT, title)]
    if not points:
        return "".join(parts) + text(WIDTH / 2, HEIGHT / 2, "no feasible design", 13) + "</svg>"
    left, top, right, bottom = 70, 40, WIDTH - 20, HEIGHT - 50
    xs = span_ticks(*_padded([p[0] for p in points]))
    ys = span_ticks(*_padded([p[1] for p in points]))
    to_x = lambda v: left + (right - left) * (v - xs[0]) / (xs[-1] - xs[0])  # noqa: E731
    to_y = lambda v: bottom - (bottom - top) * (v - ys[0]) / (ys[-1] - ys[0])  # noqa: E731
    key, _ = legend(left, 22, [("Pareto front", FRONT_COLOUR), ("other designs", OTHER_COLOUR)], right - left)
    parts += [key, grid_y(left, right, ys, to_y), grid_x(top, bottom, xs, to_x)]
    on_front = sorted((p for p in points if front in p[2].pareto), key=lambda p: (p[0], p[1]))
    if len(on_front) > 1:
        steps = [f"M{num(to_x(on_front[0][0]))} {num(to_y(on_front[0][1]))}"]
        for x, y, _row in on_front[1:]:
            steps.append(f"H{num(to_x(x))} V{num(to_y(y))}")
        parts.append(f'<path class="front-line" d="{" ".join(steps)}" fill="none" stroke="{FRONT_COLOUR}" '
                     'stroke-width="1.5" stroke-dasharray="4 3"/>')
    names: dict[tuple[float, float], list[str]] = {}
    for x, y, row in on_front:
        names.setdefault((x, y), []).append(row.design)
    for (x, y), designs in names.items():           # designs at the same point share one label
        parts.append(text(to_x(x) + 8, to_y(y) - 6, ", ".join(designs), 10, "start", "point-label"))
    for x, y, row in sorted(points, key=lambda p: front in p[2].pareto):
        best = front in row.pareto
        tip = (f"{row.design} ({', '.join(row.labels)}): {row.energy_uj:,.3f} uJ, {row.cycles:,} cycles, "
               f"{row.onchip_kib:,.1f} KiB, {100 * row.proved:.0f}% proved")
        parts.append(f'<circle class="point{" front" if best else ""}" data-design="{esc(row.design)}" '
                     f'cx="{num(to_x(x))}" cy="{num(to_y(y))}" r="{6 if best else 4.5}" '
                     f'fill="{FRONT_COLOUR if best else OTHER_COLOUR}" fill-opacity="0.85" stroke="#fff">'
                     f"<title>{esc(tip)}</title></circle>")
    parts += [frame(left, top, right, bottom),
              text((left + right) / 2, bottom + 38, AXIS_TITLES[x_field], 11),
              text(16, (top + bottom) / 2, AXIS_TITLES[y_field], 11, "middle", rotate=-90), "</svg>"]
    return "".join(parts)


def table_html(rows: list[SweepRow], axis_names: tuple[str, ...]) -> str:
    """Every row; Pareto rows highlighted, their design id linking to pareto/ID.yaml."""
    head = "".join(f"<th>{esc(c)}</th>" for c in columns(axis_names))
    body = []
    for row in rows:
        shown = []
        for name, value in zip(columns(axis_names), cells(row)):
            if name == "design" and row.pareto:
                shown.append(f'<td><a href="pareto/{esc(value)}.yaml">{esc(value)}</a></td>')
            elif name == "reason":
                shown.append(f'<td class="reason">{esc(value)}</td>')
            else:
                shown.append(f"<td>{esc(_cell(name, value))}</td>")
        body.append(f'<tr class="{"front" if row.pareto else "design"}">{"".join(shown)}</tr>')
    return (f'<div class="wide"><table id="sweep-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}'
            "</tbody></table></div>")


def _cell(name: str, value: object) -> str:
    if value is None:
        return "-"
    if name in ("proved", "worst_gap"):
        return f"{100 * value:.1f}%"
    if name in ("energy_uj", "onchip_kib"):
        return f"{value:,.3f}"
    if name == "edp_uj_cycles":
        return short(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)
