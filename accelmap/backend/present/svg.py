"""Tiny inline-SVG helpers for the HTML report: plot frames, axes, ticks, legends.

Everything returns SVG markup as text; every piece of text passes through
`esc`, so layer names from an ONNX file cannot inject markup.
"""
from __future__ import annotations

import html
import math

FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"


def esc(text: object) -> str:
    """`text` escaped for an HTML/SVG text node or attribute."""
    return html.escape(str(text), quote=True)


def num(value: float) -> str:
    """A coordinate, short."""
    return f"{value:.1f}".rstrip("0").rstrip(".") if math.isfinite(value) else "0"


def svg_open(plot_id: str, width: int, height: int, title: str, desc: str = "") -> str:
    """The opening `<svg>` of one plot, with its `<title>` (and `<desc>`)."""
    return (f'<svg id="{esc(plot_id)}" class="plot" xmlns="http://www.w3.org/2000/svg" role="img" '
            f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" style="{FONT}">'
            f"<title>{esc(title)}</title>" + (f"<desc>{esc(desc)}</desc>" if desc else ""))


def text(x: float, y: float, content: object, size: int = 11, anchor: str = "middle", cls: str = "",
         rotate: float | None = None, weight: str = "normal", fill: str = "#333") -> str:
    """One `<text>` element."""
    transform = f' transform="rotate({num(rotate)} {num(x)} {num(y)})"' if rotate is not None else ""
    klass = f' class="{cls}"' if cls else ""
    return (f'<text x="{num(x)}" y="{num(y)}" font-size="{size}" text-anchor="{anchor}" font-weight="{weight}" '
            f'fill="{fill}"{klass}{transform}>{esc(content)}</text>')


def rect(x: float, y: float, w: float, h: float, fill: str, tip: str = "", cls: str = "", extra: str = "") -> str:
    """One `<rect>`, with a hover tooltip when `tip` is given."""
    klass = f' class="{cls}"' if cls else ""
    body = f"<title>{esc(tip)}</title></rect>" if tip else "/>"
    end = ">" + body if tip else body
    return (f'<rect x="{num(x)}" y="{num(y)}" width="{num(max(w, 0))}" height="{num(max(h, 0))}" '
            f'fill="{fill}"{klass}{extra}{end}')


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 up to at least `top`."""
    if top <= 0 or not math.isfinite(top):
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    ticks = [0.0]
    while ticks[-1] < top - 1e-9 * top:
        ticks.append(ticks[-1] + step)
    return ticks


def log_ticks(low: float, high: float) -> list[float]:
    """Powers of ten spanning [low, high] (low, high > 0)."""
    return [10.0 ** e for e in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)]


def short(value: float) -> str:
    """A compact number: 1.2k, 3.4M, 0.05."""
    if value == 0:
        return "0"
    for div, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= div:
            return f"{value / div:.3g}{suffix}"
    return f"{value:.3g}"


def grid_y(left: float, right: float, ticks: list[float], to_y, fmt=short, side: str = "left") -> str:
    """Horizontal grid lines with labels on the left (or right) edge."""
    parts = []
    for tick in ticks:
        y = to_y(tick)
        if side == "left":
            parts.append(f'<line x1="{num(left)}" x2="{num(right)}" y1="{num(y)}" y2="{num(y)}" '
                         f'stroke="#e3e3e3" stroke-width="1"/>')
            parts.append(text(left - 6, y + 4, fmt(tick), 10, "end", "tick"))
        else:
            parts.append(text(right + 6, y + 4, fmt(tick), 10, "start", "tick"))
    return "".join(parts)


def grid_x(top: float, bottom: float, ticks: list[float], to_x, fmt=short) -> str:
    """Vertical grid lines with labels under the bottom edge."""
    parts = []
    for tick in ticks:
        x = to_x(tick)
        parts.append(f'<line x1="{num(x)}" x2="{num(x)}" y1="{num(top)}" y2="{num(bottom)}" '
                     f'stroke="#e3e3e3" stroke-width="1"/>')
        parts.append(text(x, bottom + 16, fmt(tick), 10, "middle", "tick"))
    return "".join(parts)


def frame(left: float, top: float, right: float, bottom: float) -> str:
    """The plot area's axes (left and bottom)."""
    return (f'<path d="M{num(left)} {num(top)} V{num(bottom)} H{num(right)}" fill="none" stroke="#555" '
            f'stroke-width="1" class="axis"/>')


def legend(x: float, y: float, entries: list[tuple[str, str]], width: float, row_h: int = 16) -> tuple[str, float]:
    """Swatches and labels flowing left to right within `width`; returns (markup, height used)."""
    parts, cx, cy = ['<g class="legend">'], x, y
    for label, colour in entries:
        item_w = 22 + 6.5 * len(label)
        if cx + item_w > x + width and cx > x:
            cx, cy = x, cy + row_h
        parts.append(rect(cx, cy - 9, 11, 11, colour, cls="swatch"))
        parts.append(text(cx + 15, cy, label, 11, "start"))
        cx += item_w
    parts.append("</g>")
    return "".join(parts), cy - y + row_h


def category_labels(names: list[str], x_of, y: float, slot: float) -> str:
    """Layer names under the bars: horizontal when they fit, else rotated."""
    longest = max((len(n) for n in names), default=0)
    size = 11 if slot >= 14 else 9
    if longest * 6.5 <= slot:
        return "".join(text(x_of(i), y + 14, n, size, "middle", "cat") for i, n in enumerate(names))
    return "".join(text(x_of(i) + 3, y + 10, clip(n, 28), size, "end", "cat", rotate=-40)
                   for i, n in enumerate(names))


def clip(name: str, limit: int) -> str:
    """`name` shortened to `limit` characters with an ellipsis in the middle."""
    if len(name) <= limit:
        return name
    half = (limit - 1) // 2
    return name[:half] + "\u2026" + name[-(limit - 1 - half):]


def hsl(hue: float, sat: int, light: int) -> str:
    """A CSS hsl() colour."""
    return f"hsl({hue:.0f},{sat}%,{light}%)"
