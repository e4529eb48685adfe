"""SWEEPDIR: the table (sweep.csv, sweep.parquet when pyarrow is there), sweep.html, and pareto/ID.yaml
for every design on a Pareto front; each file written whole and renamed into place.

SWEEPDIR/tasks/ is the sweep's journal (`store.py`); running the sweep
again resumes from it and replaces the other files.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from accelmap.sweep.designs import design_yaml
from accelmap.sweep.report import render_sweep_report
from accelmap.sweep.table import parquet_bytes, to_csv

if TYPE_CHECKING:
    from accelmap.sweep.driver import SweepResult

TABLE, PARQUET, REPORT, PARETO_DIR = "sweep.csv", "sweep.parquet", "sweep.html", "pareto"


def write_outputs(result: "SweepResult", out_dir: Path) -> None:
    """Write the table, the report and the Pareto designs' arch YAMLs into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    axis_names = tuple(axis.name for axis in result.spec.axes)
    rows = list(result.rows)
    _write(out_dir / TABLE, to_csv(rows, axis_names).encode())
    parquet = parquet_bytes(rows, axis_names)
    if parquet is not None:
        _write(out_dir / PARQUET, parquet)
    _write(out_dir / REPORT, render_sweep_report(result).encode())
    on_front = {row.design for row in rows if row.pareto}
    staging = Path(tempfile.mkdtemp(dir=out_dir, prefix=".pareto-"))
    try:
        for design in result.designs:
            if design.id in on_front:
                (staging / f"{design.id}.yaml").write_text(design_yaml(design, result.spec))
        old = out_dir / PARETO_DIR
        if old.exists():
            shutil.rmtree(old)
        staging.rename(old)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write(target: Path, data: bytes) -> None:
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    partial.write_bytes(data)
    partial.replace(target)
