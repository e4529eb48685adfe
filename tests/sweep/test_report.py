"""sweep.html: a Pareto plot pair per model and objective with one point per feasible design, the front
marked as the table says, the whole table; nothing fetched; renders in headless Chromium."""
from __future__ import annotations

from dataclasses import replace

import pytest
from backend.test_report import chromium, parse, png_pixels, run_chromium

from accelmap.sweep.pareto import FRONTS
from accelmap.sweep.report import render_sweep_report, span_ticks


@pytest.fixture(scope="module")
def swept(reference):
    """The tiny sweep, its rows repeated as if for a second objective (the page groups by model and objective)."""
    result, _, root = reference
    rows = result.rows + tuple(replace(r, objective="latency", pareto=r.pareto[:1]) for r in result.rows)
    return replace(result, rows=rows), root / "out"


def check_page(markup: str, result) -> None:
    found = parse(markup)
    groups = sorted({(r.model, r.objective) for r in result.rows})
    plots = [a["id"] for t, a, _ in found.elements if t == "svg"]
    assert plots == [f"pareto-{n}-{front}" for n in range(len(groups)) for front in FRONTS]
    for n, group in enumerate(groups):
        rows = [r for r in result.rows if (r.model, r.objective) == group]
        for front in FRONTS:
            plot = f"pareto-{n}-{front}"
            assert found.titles[plot].startswith("energy (uJ) against ")
            points = [a for t, a, svg in found.elements if svg == plot and t == "circle"]
            assert sorted(a["data-design"] for a in points) == sorted(r.design for r in rows if r.feasible)
            marked = {a["data-design"] for a in points if "front" in a["class"].split()}
            assert marked == {r.design for r in rows if front in r.pareto} and marked
    table = [a for t, a, _ in found.elements if t == "table"]
    assert [a["id"] for a in table] == ["sweep-table"]
    assert sum(1 for t, _, _ in found.elements if t == "tr") == 1 + len(result.rows)
    links = [a["href"] for t, a, _ in found.elements if t == "a"]
    assert sorted(links) == sorted(f"pareto/{r.design}.yaml" for r in result.rows if r.pareto)
    assert not [t for t, _, _ in found.elements if t in ("script", "link", "img", "iframe", "object", "embed")]
    assert "url(" not in markup and "@import" not in markup


def test_report_has_the_pareto_plots_and_the_table(swept, tmp_path):
    result, _ = swept
    page = tmp_path / "sweep.html"
    page.write_text(render_sweep_report(result))
    check_page(page.read_text(), result)


def test_report_escapes_labels(swept):
    result, _ = swept
    evil = "<script>alert(1)</script>"
    rows = tuple(replace(r, labels=(evil,) + r.labels[1:]) for r in result.rows)
    markup = render_sweep_report(replace(result, rows=rows))
    assert "<script>" not in markup and "&lt;script&gt;" in markup


@pytest.mark.parametrize("low, high", [(0.31, 0.33), (600, 3800), (5.0, 5.0), (0.0, 0.0), (17, 68)])
def test_span_ticks_cover_the_range(low, high):
    ticks = span_ticks(low, high)
    assert ticks[0] <= low and ticks[-1] >= high and len(ticks) >= 2 and ticks == sorted(set(ticks))
    assert len(ticks) <= 12


def test_report_renders_in_headless_chromium(swept, tmp_path):
    binary = chromium()
    result, _ = swept
    (tmp_path / "sweep.html").write_text(render_sweep_report(result))
    page = (tmp_path / "sweep.html").resolve().as_uri()
    shot = tmp_path / "sweep.png"
    run = run_chromium(binary, tmp_path / "profile-shot", f"--screenshot={shot}", "--window-size=1200,1600", page)
    assert shot.is_file(), f"no screenshot: {run.stderr[-2000:]}"
    dom = run_chromium(binary, tmp_path / "profile-dom", "--dump-dom", page)
    assert dom.returncode == 0, dom.stderr[-2000:]
    check_page(dom.stdout, result)
    width, height, raw = png_pixels(shot.read_bytes())
    assert (width, height) == (1200, 1600)
    rows = [raw[i * len(raw) // height + 1:(i + 1) * len(raw) // height] for i in range(0, height, 40)]
    assert len({row[j:j + 3] for row in rows for j in range(0, len(row) - 3, 3)}) > 30, "screenshot looks blank"


def test_the_sweep_writes_its_report(reference):
    result, _, root = reference
    check_page((root / "out" / "sweep.html").read_text(), result)
