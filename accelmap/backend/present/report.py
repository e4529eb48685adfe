"""`render_report`: OUTDIR's report.html, one self-contained page for a hardware architect.

Inline CSS and inline SVG only (no scripts, no fetched fonts or images):
energy per layer stacked by level and tensor, cycles and utilisation per
layer, a roofline of the layers on the target, the share of layers proved
optimal, and the per-layer table of `summary.layer_rows`. Hovering a bar or
point shows its numbers (SVG `<title>` tooltips).
"""
from __future__ import annotations

import math

from accelmap.backend.present.svg import (category_labels, esc, frame, grid_x, grid_y, hsl, legend, log_ticks,
                                  nice_ticks, num, rect, short, svg_open, text)

WIDTH = 1100
TENSOR_NAMES = {"W": "weights", "I": "inputs", "O": "outputs"}
TENSOR_LIGHT = {"W": 38, "I": 55, "O": 72}
LEVEL_HUES = (215, 28, 140, 280, 0, 180, 55)
STATUS_COLOURS = {"OPTIMAL": "#2e9d5b", "FEASIBLE": "#e0a526", "OTHER": "#9aa3ad"}

CSS = """
body{margin:0;background:#f6f7f9;color:#222;
 font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif}
main{max-width:1160px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:0 0 8px}
.sub{color:#555;margin:0 0 16px}
section{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:16px;margin:0 0 18px}
.facts{display:flex;flex-wrap:wrap;gap:10px;margin:0 0 18px}
.fact{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:10px 14px;min-width:130px}
.fact b{display:block;font-size:18px}.fact span{color:#666;font-size:12px}
.note{color:#666;font-size:12px;margin:6px 0 0}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:4px 8px;border-bottom:1px solid #eceff2;text-align:right;white-space:nowrap}
th{background:#f0f2f5;position:sticky;top:0}
td:nth-child(1),td:nth-child(2),th:nth-child(1),th:nth-child(2){text-align:left}
tr.host td{color:#777}
.st-OPTIMAL{color:#1d7a43;font-weight:600}.st-FEASIBLE{color:#a36d00}
svg.plot{display:block;max-width:100%;height:auto}
ol.key{columns:4 200px;font-size:11px;color:#444;margin:8px 0 0;padding-left:28px}
ol.key li{list-style-position:inside;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
"""


def render_report(schedule) -> str:
    """The whole report.html for `schedule` as text."""
    from accelmap.backend.present.summary import HEADER, layer_rows, table_rows, totals

    rows = layer_rows(schedule)
    total = totals(rows)
    layers = list(schedule.layers)
    arch = schedule.arch
    dram = arch.levels[0]
    bandwidth = f"{dram.read_bandwidth:g} words/cycle" if dram.read_bandwidth else "unlimited"
    facts = [("mapped layers", f"{total.layers}"), ("proved optimal", f"{total.proved} / {total.layers}"),
             ("host ops", f"{total.host_ops}"), ("MACs", short(total.macs)),
             ("energy", f"{total.energy_pj / 1e6:.3f} uJ"), ("x lower bound", f"{total.ratio_to_bound:.2f}"),
             ("cycles", f"{total.cycles:,}"), ("peak MACs/cycle", f"{arch.peak_macs_per_cycle}"),
             ("DRAM bandwidth", bandwidth)]
    cells = table_rows(rows, host_ops=True)
    kinds = ["host" if r.status == "HOST" else "layer" for r in rows]
    table = ("<table id=\"summary-table\"><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in HEADER)
             + "</tr></thead><tbody>"
             + "".join(f'<tr class="{k}">' + "".join(
                 f'<td class="st-{esc(c)}">{esc(c)}</td>' if i == 7 else f"<td>{esc(c)}</td>"
                 for i, c in enumerate(row)) + "</tr>" for k, row in zip(kinds, cells))
             + "</tbody></table>")
    title = f"{schedule.graph.name} on {arch.name}"
    model = schedule.model.name if schedule.model else schedule.graph.name
    levels = " \u2192 ".join(level.name for level in arch.levels)
    sections = [
        ("Energy per layer, by level and tensor", energy_plot(layers, arch),
         "Stacked: each storage level's accesses per tensor, array hops and MACs (pJ). Hover a segment for its value."),
        ("Cycles and utilisation per layer", cycles_plot(layers, arch),
         "Bars: predicted cycles (left axis). Dots: MAC utilisation (right axis)."),
        ("Roofline", roofline_plot(layers, arch) + roofline_key(layers),
         "x: MACs per DRAM word moved; y: achieved MACs per cycle. Roofs: peak compute and DRAM read bandwidth."),
        ("Layers proved optimal", optimal_plot(layers), "Solver status of each mapped layer."),
    ]
    body = "".join(f"<section><h2>{esc(h)}</h2>{svg}<p class=\"note\">{esc(note)}</p></section>"
                   for h, svg, note in sections)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{esc(title)}</title>"
            f"<style>{CSS}</style></head><body><main>"
            f"<h1>{esc(title)}</h1><p class=\"sub\">model {esc(model)} &middot; levels {esc(levels)} &middot; "
            f"accelmap {esc(schedule.accelmap_version)}</p>"
            "<div class=\"facts\">" + "".join(f"<div class=\"fact\"><b>{esc(v)}</b><span>{esc(k)}</span></div>"
                                              for k, v in facts) + "</div>"
            + body + f"<section><h2>Per-layer summary</h2>{table}</section></main></body></html>\n")


def _empty(plot_id: str, title: str) -> str:
    return svg_open(plot_id, WIDTH, 60, title) + text(WIDTH / 2, 34, "no mapped layers", 13) + "</svg>"


def _slots(count: int, left: float, right: float):
    slot = (right - left) / max(count, 1)
    return slot, (lambda i: left + slot * (i + 0.5))


def energy_series(layers, arch) -> list[tuple[str, str, list[float]]]:
    """(label, colour, pJ per layer) for every level x tensor, fanout and the MACs, non-zero somewhere."""
    series = []
    for li, level in enumerate(arch.levels):
        hue = LEVEL_HUES[li % len(LEVEL_HUES)]
        for tensor in ("W", "I", "O"):
            values = [plan.cost["level_energy"][li].get(tensor, 0) / 1000 for plan in layers]
            if any(values):
                series.append((f"{level.name} {TENSOR_NAMES[tensor]}", hsl(hue, 62, TENSOR_LIGHT[tensor]), values))
    for fi, fanout in enumerate(arch.fanouts):
        values = [plan.cost["fanout_energy"][fi] / 1000 for plan in layers]
        if any(values):
            series.append((f"{fanout.name} hops", hsl(0, 0, 62 + 12 * (fi % 2)), values))
    values = [plan.cost["compute_energy"] / 1000 for plan in layers]
    if any(values):
        series.append(("MACs", "#3b3b3b", values))
    return series


def energy_plot(layers, arch) -> str:
    """Stacked bars: per layer, energy by level and tensor, hops and MACs."""
    title = "Energy per layer (pJ), stacked by level and tensor"
    if not layers:
        return _empty("energy-plot", title)
    series = energy_series(layers, arch)
    legend_svg, legend_h = legend(70, 22, [(label, colour) for label, colour, _ in series], WIDTH - 90)
    top, left, right = 30 + legend_h, _left_margin(layers), WIDTH - 20
    label_room = _label_room(layers)
    height = int(top + 260 + label_room)
    bottom = top + 260
    peak = max(sum(values[i] for _, _, values in series) for i in range(len(layers))) or 1
    ticks = nice_ticks(peak)
    to_y = lambda v: bottom - (bottom - top) * v / ticks[-1]  # noqa: E731
    slot, x_of = _slots(len(layers), left, right)
    bar_w = max(min(slot * 0.7, 60), 1)
    parts = [svg_open("energy-plot", WIDTH, height, title), legend_svg, grid_y(left, right, ticks, to_y)]
    for i, plan in enumerate(layers):
        parts.append(f'<g class="bar" data-layer="{esc(plan.name)}">')
        base = 0.0
        for label, colour, values in series:
            if values[i] <= 0:
                continue
            y0, y1 = to_y(base), to_y(base + values[i])
            parts.append(rect(x_of(i) - bar_w / 2, y1, bar_w, y0 - y1, colour,
                              f"{plan.name}: {label} {values[i]:,.1f} pJ", "seg"))
            base += values[i]
        parts.append("</g>")
    parts += [frame(left, top, right, bottom), category_labels([p.name for p in layers], x_of, bottom, slot),
              text(16, (top + bottom) / 2, "energy (pJ)", 11, "middle", rotate=-90), "</svg>"]
    return "".join(parts)


def _left_margin(layers) -> float:
    """Room left of the plot for the y labels and for the first rotated category label."""
    longest = min(max(len(p.name) for p in layers), 28)
    slot = (WIDTH - 90) / len(layers)
    if longest * 6.5 <= slot:
        return 70
    return max(70.0, 4.6 * longest - slot / 2 + 12)


def roofline_key(layers) -> str:
    """The names behind the roofline's point numbers, as an HTML list."""
    points = roofline_points(layers)
    if not points:
        return ""
    return ('<ol class="key">' + "".join(f'<li title="{esc(name)}">{esc(name)}</li>' for name, *_rest in points)
            + "</ol>")


def _label_room(layers) -> float:
    longest = max(len(p.name) for p in layers)
    return 30 if longest * 6.5 <= (WIDTH - 90) / len(layers) else min(longest, 28) * 5 + 20


def cycles_plot(layers, arch) -> str:
    """Bars of cycles per layer with utilisation dots on a 0-100% right axis."""
    title = "Cycles and utilisation per layer"
    if not layers:
        return _empty("cycles-plot", title)
    legend_svg, legend_h = legend(70, 22, [("cycles", "#4a78b5"), ("utilisation", "#d9602b")], WIDTH - 90)
    top, left, right = 30 + legend_h, _left_margin(layers), WIDTH - 60
    bottom = top + 240
    height = int(bottom + _label_room(layers))
    ticks = nice_ticks(max(plan.cost["cycles"] for plan in layers) or 1)
    to_y = lambda v: bottom - (bottom - top) * v / ticks[-1]  # noqa: E731
    to_u = lambda u: bottom - (bottom - top) * u  # noqa: E731
    slot, x_of = _slots(len(layers), left, right)
    bar_w = max(min(slot * 0.6, 50), 1)
    parts = [svg_open("cycles-plot", WIDTH, height, title), legend_svg, grid_y(left, right, ticks, to_y),
             grid_y(left, right, [0, 0.25, 0.5, 0.75, 1.0], to_u, lambda u: f"{100 * u:.0f}%", side="right")]
    for i, plan in enumerate(layers):
        cycles = plan.cost["cycles"]
        parts.append(rect(x_of(i) - bar_w / 2, to_y(cycles), bar_w, bottom - to_y(cycles), "#4a78b5",
                          f"{plan.name}: {cycles:,} cycles", "bar", f' data-layer="{esc(plan.name)}"'))
    points = [(x_of(i), to_u(min(plan.cost["utilisation"], 1.0))) for i, plan in enumerate(layers)]
    if len(points) > 1:
        parts.append('<path class="util-line" fill="none" stroke="#d9602b" stroke-width="1.5" d="'
                     + " ".join(f"{'M' if i == 0 else 'L'}{num(x)} {num(y)}" for i, (x, y) in enumerate(points))
                     + '"/>')
    for (x, y), plan in zip(points, layers):
        parts.append(f'<circle class="util" cx="{num(x)}" cy="{num(y)}" r="4.5" fill="#d9602b" stroke="#fff">'
                     f"<title>{esc(plan.name)}: utilisation {100 * plan.cost['utilisation']:.1f}%</title></circle>")
    parts += [frame(left, top, right, bottom), category_labels([p.name for p in layers], x_of, bottom, slot),
              text(16, (top + bottom) / 2, "cycles", 11, "middle", rotate=-90),
              text(WIDTH - 12, (top + bottom) / 2, "utilisation", 11, "middle", rotate=90), "</svg>"]
    return "".join(parts)


def roofline_points(layers) -> list[tuple[str, float, float, str]]:
    """(name, MACs per DRAM word, MACs per cycle, status) per layer that moves DRAM words and takes cycles."""
    points = []
    for plan in layers:
        cost = plan.cost
        words = sum(t["reads"] + t["updates"] for t in cost["traffic"][0].values())
        macs = cost.get("real_macs") or plan.workload.macs
        if words > 0 and cost["cycles"] > 0 and macs > 0:
            points.append((plan.name, macs / words, macs / cost["cycles"], plan.status.status))
    return points


def roofline_plot(layers, arch) -> str:
    """Log-log roofline: compute roof, DRAM bandwidth slope, one point per layer."""
    title = "Roofline: achieved MACs/cycle against MACs per DRAM word"
    if not layers:
        return _empty("roofline-plot", title)
    peak = arch.peak_macs_per_cycle
    bandwidth = arch.levels[0].read_bandwidth
    points = roofline_points(layers)
    xs = [p[1] for p in points] + ([peak / bandwidth] if bandwidth else [])
    ys = [p[2] for p in points] + [peak]
    x_ticks = log_ticks(min(xs or [1]) / 1.5, max(xs or [1]) * 1.5)
    y_ticks = log_ticks(min(ys) / 1.5, peak * 1.5)
    left, top, right, bottom = 80, 44, WIDTH - 30, 424
    lx0, lx1 = math.log10(x_ticks[0]), math.log10(x_ticks[-1])
    ly0, ly1 = math.log10(y_ticks[0]), math.log10(y_ticks[-1])
    to_x = lambda v: left + (right - left) * (math.log10(v) - lx0) / (lx1 - lx0)  # noqa: E731
    to_y = lambda v: bottom - (bottom - top) * (math.log10(v) - ly0) / (ly1 - ly0)  # noqa: E731
    parts = [svg_open("roofline-plot", WIDTH, bottom + 50, title), grid_y(left, right, y_ticks, to_y),
             grid_x(top, bottom, x_ticks, to_x)]
    ridge = peak / bandwidth if bandwidth else x_ticks[0]
    ridge = min(max(ridge, x_ticks[0]), x_ticks[-1])
    parts.append(f'<path class="roof compute-roof" d="M{num(to_x(ridge))} {num(to_y(peak))} H{num(right)}" '
                 f'stroke="#c0392b" stroke-width="2.5" fill="none"><title>peak {peak} MACs/cycle</title></path>')
    parts.append(text(right - 4, to_y(peak) - 6, f"peak {peak} MACs/cycle", 11, "end", fill="#c0392b"))
    if bandwidth:
        x_start = max(x_ticks[0], y_ticks[0] / bandwidth)
        parts.append(f'<path class="roof memory-roof" d="M{num(to_x(x_start))} {num(to_y(x_start * bandwidth))} '
                     f'L{num(to_x(ridge))} {num(to_y(ridge * bandwidth))}" stroke="#8e44ad" stroke-width="2.5" '
                     f'fill="none"><title>DRAM {bandwidth:g} words/cycle</title></path>')
        mid = math.sqrt(x_start * ridge)
        parts.append(text(to_x(mid) - 8, to_y(mid * bandwidth) - 8, f"DRAM {bandwidth:g} words/cycle",
                          11, "end", fill="#8e44ad"))
    for index, (name, x, y, status) in enumerate(points):
        colour = STATUS_COLOURS.get(status, STATUS_COLOURS["OTHER"])
        parts.append(f'<circle class="point" data-layer="{esc(name)}" cx="{num(to_x(x))}" cy="{num(to_y(y))}" r="6" '
                     f'fill="{colour}" fill-opacity="0.85" stroke="#fff"><title>{esc(name)}: {x:,.2f} MACs/word, '
                     f"{y:,.2f} MACs/cycle ({esc(status)})</title></circle>")
        parts.append(text(to_x(x) + 8, to_y(y) + 4, str(index + 1), 10, "start", "point-label"))
    status_key, _ = legend(left + 10, 24, [("proved optimal", STATUS_COLOURS["OPTIMAL"]),
                                           ("feasible (gap)", STATUS_COLOURS["FEASIBLE"]),
                                           ("not solved", STATUS_COLOURS["OTHER"])], right - left)
    parts += [frame(left, top, right, bottom), status_key,
              text((left + right) / 2, bottom + 38, "operational intensity (MACs per DRAM word)", 11),
              text(20, (top + bottom) / 2, "achieved MACs per cycle", 11, "middle", rotate=-90), "</svg>"]
    return "".join(parts)


def optimal_plot(layers) -> str:
    """One horizontal bar split into proved optimal, feasible with a gap, and other (random, given)."""
    counts = {"OPTIMAL": 0, "FEASIBLE": 0, "OTHER": 0}
    for plan in layers:
        status = plan.status.status
        counts[status if status in counts else "OTHER"] += 1
    total = len(layers)
    title = f"{counts['OPTIMAL']} of {total} layers proved optimal"
    left, right, top = 20, WIDTH - 20, 44
    parts = [svg_open("optimal-plot", WIDTH, 130, title),
             text(left, 24, title, 14, "start", weight="600")]
    labels = {"OPTIMAL": "proved optimal", "FEASIBLE": "feasible (gap)", "OTHER": "not solved (random / given)"}
    x = float(left)
    for key, count in counts.items():
        if not count:
            continue
        width = (right - left) * count / total
        parts.append(rect(x, top, width, 34, STATUS_COLOURS[key], f"{labels[key]}: {count}", "share",
                          f' data-status="{key}"'))
        if width > 60:
            parts.append(text(x + width / 2, top + 22, f"{count} ({100 * count / total:.0f}%)", 12, fill="#fff",
                              weight="600"))
        x += width
    if not total:
        parts.append(rect(left, top, right - left, 34, "#eceff2", "no mapped layers", "share"))
    legend_svg, _ = legend(left, top + 62, [(f"{labels[k]} ({c})", STATUS_COLOURS[k]) for k, c in counts.items()],
                           right - left)
    parts += [legend_svg, "</svg>"]
    return "".join(parts)
