"""Backend, in three rooms: `outdir` (the OUTDIR contract: schedule.json and its schema, weights,
buffer plan, per-layer files, emit and load), `run` (the executor, its memories, validation, the deep
simulator) and `present` (summary, report.html, loop-nest text).

    build_schedule(graph, arch, mappings) -> Schedule    # check, plan buffers, predict costs
    emit(schedule, out_dir, force=False)                 # schedule.json, weights.npz, layers/*
    load_schedule(out_dir) -> Schedule                   # everything checked, ScheduleError otherwise
    execute(out_dir, feeds) -> ExecResult                # outputs + words moved per layer
    validate(out_dir, inputs=None) -> Validation         # against onnxruntime on the original model
"""
from accelmap.backend.outdir.build import build_schedule
from accelmap.backend.outdir.emit import emit
from accelmap.backend.outdir.load import load_schedule
from accelmap.backend.outdir.schedule import LayerStatus, Schedule
from accelmap.backend.run.executor import ExecResult, LayerCounts, execute
from accelmap.backend.run.runner import TensorCounts
from accelmap.backend.run.validate import OutputCheck, Validation, validate

__all__ = ["ExecResult", "LayerCounts", "LayerStatus", "OutputCheck", "Schedule", "TensorCounts", "Validation",
           "build_schedule", "emit", "execute", "load_schedule", "validate"]
