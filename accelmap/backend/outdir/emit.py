"""`emit`: write a Schedule as an OUTDIR, all at once or not at all.

The document is validated against the packaged schema before anything
touches disk; every file is written into a staging directory beside OUTDIR
that is then put in place in one step (`place`: what `force` may replace,
the atomic exchange, leftovers of dead runs), so a failure or an interrupt
leaves neither a half-written OUTDIR nor the staging directory behind.

Beside schedule.json and weights.npz: per layer its loop program, loop nest
and Timeloop problem / architecture / ERT / mapping YAML (skipped, with the
reason in schedule.json, for a mapping Timeloop cannot express), and for the
whole model summary.md and report.html.
"""
from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from accelmap.backend.outdir.program import build_program, write_program
from accelmap.backend.outdir.load import validate_document
from accelmap.backend.outdir.place import check_target, install, staging, write_failure
from accelmap.backend.present.loopnest import render_loopnest
from accelmap.backend.outdir.schedule import (LAYER_DIR, REPORT_FILE, SCHEDULE_FILE, SUMMARY_FILE, TIMELOOP_KINDS,
                                       WEIGHTS_FILE, LayerPlan, Schedule, sanitise)
from accelmap.errors import MappingError
from accelmap.interop.timeloop import timeloop_files


def emit(schedule: Schedule, out_dir: str | Path, force: bool = False) -> Path:
    """Write `schedule` to `out_dir`; an existing OUTDIR is replaced only with `force`. Returns the path."""
    schedule, timeloop = _with_timeloop(schedule)
    doc = schedule.to_json()
    validate_document(doc)
    target = check_target(out_dir, force)
    existed = os.path.lexists(target)
    try:
        with staging(target) as stage:
            _write_files(schedule, doc, stage, timeloop)
            install(stage, target, force)
    except OSError as err:
        raise write_failure(target, err, existed) from None
    return Path(out_dir)


def _with_timeloop(schedule: Schedule) -> tuple[Schedule, dict[str, str]]:
    """`schedule` with each layer's Timeloop file names (or skip reason) filled in, and those files' texts by path."""
    texts: dict[str, str] = {}
    plans = []
    for index, plan in enumerate(schedule.layers):
        stem = plan.files.program.removesuffix(".program.json")
        if stem == plan.files.program:
            stem = f"{LAYER_DIR}/{index:03d}_{sanitise(plan.name)}"
        try:
            files = timeloop_files(plan.workload, schedule.arch, plan.mapping)
        except MappingError as err:
            reason = "Timeloop cannot express this mapping: " + "; ".join(err.problems)
            plans.append(replace(plan, files=replace(plan.files, **{f"timeloop_{k}": None for k in TIMELOOP_KINDS},
                                                     timeloop_skipped=reason)))
            continue
        paths = {f"timeloop_{kind}": f"{stem}.timeloop.{kind}.yaml" for kind in TIMELOOP_KINDS}
        for kind in TIMELOOP_KINDS:
            texts[paths[f"timeloop_{kind}"]] = files[f"{kind}.yaml"]
        plans.append(replace(plan, files=replace(plan.files, **paths, timeloop_skipped=None)))
    return replace(schedule, layers=tuple(plans)), texts


def _write_files(schedule: Schedule, doc: dict, staging: Path, timeloop: dict[str, str]) -> None:
    """schedule.json, weights.npz, each layer's loop program, loop nest and Timeloop files,
    summary.md and report.html, into `staging`."""
    from accelmap.backend.present.report import render_report
    from accelmap.backend.present.summary import summary_markdown

    (staging / SCHEDULE_FILE).write_text(json.dumps(doc, indent=1))
    constants = schedule.graph.constants
    np.savez(staging / WEIGHTS_FILE, **{entry["key"]: np.asarray(constants[entry["name"]])
                                        for entry in doc["weights"]["tensors"]})
    (staging / LAYER_DIR).mkdir()
    for plan in schedule.layers:
        write_program(staging / plan.files.program, layer_program(schedule, plan))
        (staging / plan.files.loopnest).write_text(
            render_loopnest(plan, schedule.arch, schedule.graph.node(plan.name).op))
    for rel, content in timeloop.items():
        (staging / rel).write_text(content)
    (staging / SUMMARY_FILE).write_text(summary_markdown(schedule))
    (staging / REPORT_FILE).write_text(render_report(schedule), encoding="utf-8")


def layer_program(schedule: Schedule, plan: LayerPlan) -> dict:
    """The loop program `plan` implies (docs/loop-program.md), with the input's zero padding of its node."""
    layout = schedule.graph.node(plan.name).layout
    pads = tuple(getattr(layout, "pads", (0, 0, 0, 0)))
    return build_program(plan.name, plan.workload, plan.mapping, schedule.arch, plan.buffers, pads)
