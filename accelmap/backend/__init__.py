"""Backend: OUTDIR writing and reading, command streams, the functional executor, validation.

    build_schedule(graph, arch, mappings) -> Schedule    # check, plan buffers, predict costs
    emit(schedule, out_dir, force=False)                 # schedule.json, weights.npz, layers/*
    load_schedule(out_dir) -> Schedule                   # everything checked, ScheduleError otherwise
    execute(out_dir, feeds) -> ExecResult                # outputs + words moved per layer
    validate(out_dir, inputs=None) -> Validation         # against onnxruntime on the original model
"""
from accelmap.backend.build import build_schedule
from accelmap.backend.emit import emit
from accelmap.backend.executor import ExecResult, LayerCounts, execute
from accelmap.backend.load import load_schedule
from accelmap.backend.schedule import LayerStatus, Schedule
from accelmap.backend.stream import TensorCounts
from accelmap.backend.validate import OutputCheck, Validation, validate

__all__ = ["ExecResult", "LayerCounts", "LayerStatus", "OutputCheck", "Schedule", "TensorCounts", "Validation",
           "build_schedule", "emit", "execute", "load_schedule", "validate"]
