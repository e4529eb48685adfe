"""OUTDIR's summary.md, report.html and per-layer Timeloop files; the report renders in headless Chromium."""
from __future__ import annotations

import importlib
import json
import os
import shutil
import struct
import subprocess
import zlib
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from accelmap.backend import emit, load_schedule
from accelmap.backend.present.report import render_report, roofline_points
from accelmap.backend.outdir.schedule import Schedule
from accelmap.errors import MappingError

EMIT_MODULE = importlib.import_module("accelmap.backend.outdir.emit")
PLOTS = ("energy-plot", "cycles-plot", "roofline-plot", "optimal-plot")
KINDS = ("problem", "arch", "ert", "mapping")


class Elements(HTMLParser):
    """Every start tag as (tag, attrs, id of the enclosing plot svg or None); text of each svg's <title>."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict, str | None]] = []
        self.titles: dict[str, str] = {}
        self._svg: str | None = None
        self._depth = 0
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "svg":
            self._svg, self._depth = attrs.get("id"), 0
        self.elements.append((tag, attrs, self._svg))
        if self._svg is not None:
            self._depth += 1
            self._in_title = tag == "title" and self._depth == 2 and self._svg not in self.titles

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs), self._svg))

    def handle_endtag(self, tag):
        if self._svg is not None:
            self._depth -= 1
            self._in_title = False
            if tag == "svg":
                self._svg = None

    def handle_data(self, data):
        if self._in_title:
            self.titles[self._svg] = self.titles.get(self._svg, "") + data

    def count(self, plot: str, tag: str, cls: str) -> int:
        return sum(1 for t, a, svg in self.elements
                   if svg == plot and t == tag and cls in (a.get("class") or "").split())


def parse(markup: str) -> Elements:
    parser = Elements()
    parser.feed(markup)
    parser.close()
    return parser


def check_plots(found: Elements, schedule: Schedule) -> None:
    """The four plots exist, are titled, and hold one mark per mapped layer."""
    layers = len(schedule.layers)
    svgs = [a.get("id") for t, a, _ in found.elements if t == "svg"]
    assert sorted(svgs) == sorted(PLOTS)
    for plot in PLOTS:
        assert found.titles.get(plot, "").strip(), f"{plot} has no <title>"
        assert "plot" in next(a for t, a, _ in found.elements if t == "svg" and a.get("id") == plot)["class"]
    assert found.count("energy-plot", "g", "bar") == layers
    assert found.count("energy-plot", "rect", "seg") >= layers
    assert found.count("cycles-plot", "rect", "bar") == layers
    assert found.count("cycles-plot", "circle", "util") == layers
    assert found.count("roofline-plot", "circle", "point") == len(roofline_points(schedule.layers)) == layers
    roofs = 2 if schedule.arch.levels[0].read_bandwidth else 1
    assert found.count("roofline-plot", "path", "roof") == roofs
    shares = [a for t, a, svg in found.elements if svg == "optimal-plot" and t == "rect" and a.get("class") == "share"]
    assert shares and {a["data-status"] for a in shares} == {"OTHER"}  # the fixture's layers are RANDOM


def test_outdir_lists_summary_report_and_timeloop_files(cnn_outdir: Path, cnn_schedule: Schedule):
    doc = json.loads((cnn_outdir / "schedule.json").read_text())
    assert doc["files"] == {"summary": "summary.md", "report": "report.html"}
    for rel in doc["files"].values():
        assert (cnn_outdir / rel).is_file() and (cnn_outdir / rel).stat().st_size > 0
    for index, entry in enumerate(doc["layers"]):
        files = entry["files"]
        assert files["timeloop_skipped"] is None
        stem = files["program"].removesuffix(".program.json")
        for kind in KINDS:
            assert files[f"timeloop_{kind}"] == f"{stem}.timeloop.{kind}.yaml"
            assert (cnn_outdir / files[f"timeloop_{kind}"]).is_file()
    listed = {f for e in doc["layers"] for f in e["files"].values() if f and f.startswith("layers/")}
    assert listed == {f"layers/{p.name}" for p in (cnn_outdir / "layers").iterdir()}
    summary = (cnn_outdir / "summary.md").read_text()
    assert all(plan.name in summary for plan in cnn_schedule.layers)
    loaded = load_schedule(cnn_outdir)
    assert loaded.layers[0].files.timeloop_mapping == doc["layers"][0]["files"]["timeloop_mapping"]


def test_report_has_four_filled_plots_and_fetches_nothing(cnn_outdir: Path, cnn_schedule: Schedule):
    markup = (cnn_outdir / "report.html").read_text()
    found = parse(markup)
    check_plots(found, cnn_schedule)
    assert not [t for t, _, _ in found.elements if t in ("script", "link", "img", "iframe", "object", "embed")]
    for _tag, attrs, _svg in found.elements:
        for key in ("src", "href", "xlink:href", "data"):
            assert not (attrs.get(key) or "").lower().startswith(("http:", "https:", "//")), attrs
    assert "@import" not in markup and "url(" not in markup
    table = [a for t, a, _ in found.elements if t == "table"]
    assert table and table[0]["id"] == "summary-table"
    assert sum(1 for t, a, _ in found.elements if t == "tr") == 1 + len(cnn_schedule.layers) + 2  # + host ops


def test_report_escapes_names(cnn_schedule: Schedule):
    evil = "<script>alert(1)</script>&\""
    plans = (replace(cnn_schedule.layers[0], name=evil),) + cnn_schedule.layers[1:]
    markup = render_report(replace(cnn_schedule, layers=plans))
    assert "<script>" not in markup and "&lt;script&gt;" in markup


def test_report_without_dram_bandwidth_omits_the_slope(cnn_schedule: Schedule):
    arch = cnn_schedule.arch
    levels = (replace(arch.levels[0], read_bandwidth=None),) + tuple(arch.levels[1:])
    schedule = replace(cnn_schedule, arch=replace(arch, levels=levels))
    found = parse(render_report(schedule))
    assert found.count("roofline-plot", "path", "memory-roof") == 0
    assert found.count("roofline-plot", "path", "compute-roof") == 1


def test_unexpressible_mapping_skips_timeloop_files_with_a_reason(cnn_schedule: Schedule, tmp_path: Path,
                                                                  monkeypatch):
    real = EMIT_MODULE.timeloop_files
    first = cnn_schedule.layers[0]

    def picky(workload, arch, mapping):
        if mapping == first.mapping and workload == first.workload:
            raise MappingError(["two K loops at SRAM"])
        return real(workload, arch, mapping)

    monkeypatch.setattr(EMIT_MODULE, "timeloop_files", picky)
    out = emit(cnn_schedule, tmp_path / "out")
    doc = json.loads((out / "schedule.json").read_text())
    files = doc["layers"][0]["files"]
    assert "two K loops at SRAM" in files["timeloop_skipped"]
    assert all(files[f"timeloop_{k}"] is None for k in KINDS)
    assert not list((out / "layers").glob("000_*.timeloop.*"))
    assert all((out / doc["layers"][1]["files"][f"timeloop_{k}"]).is_file() for k in KINDS)
    assert load_schedule(out).layers[0].files.timeloop_skipped == files["timeloop_skipped"]


# -- headless Chromium --------------------------------------------------------------------------------

def chromium() -> str:
    """The Chromium binary; skipped locally when absent, a failure under CI."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    message = "chromium is not installed (apt-get install -y chromium)"
    if os.environ.get("CI"):
        pytest.fail(message + "; CI must run the browser test")
    pytest.skip(message)


def run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
             f"--user-data-dir={profile}"]
    return subprocess.run([binary, *flags, *args], capture_output=True, text=True, timeout=180, check=False)


def png_pixels(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and the decompressed (still filtered) scanlines of a PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    return width, height, zlib.decompress(idat)


def test_report_renders_in_headless_chromium(cnn_outdir: Path, cnn_schedule: Schedule, tmp_path: Path):
    binary = chromium()
    page = (cnn_outdir / "report.html").resolve().as_uri()
    shot = tmp_path / "report.png"
    result = run_chromium(binary, tmp_path / "profile-shot", f"--screenshot={shot}", "--window-size=1400,2400", page)
    assert shot.is_file(), f"no screenshot: {result.stderr[-2000:]}"
    dom = run_chromium(binary, tmp_path / "profile-dom", "--dump-dom", page)
    assert dom.returncode == 0, dom.stderr[-2000:]
    check_plots(parse(dom.stdout), cnn_schedule)

    data = shot.read_bytes()
    assert len(data) > 20_000, f"screenshot is only {len(data)} bytes"
    width, height, raw = png_pixels(data)
    assert (width, height) == (1400, 2400)
    rows = [raw[i * len(raw) // height + 1:(i + 1) * len(raw) // height] for i in range(0, height, 40)]
    distinct = {row[j:j + 3] for row in rows for j in range(0, len(row) - 3, 3)}
    assert len(distinct) > 50, "screenshot looks blank"
    assert len(set(raw)) > 20

