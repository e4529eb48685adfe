"""`validate`: run an OUTDIR, compare its outputs with onnxruntime on the original model and the
words it moved with the counts schedule.json predicts.

The model is the file recorded in schedule.json (found by its path, checked
by its sha256) or one given explicitly. Per output: the largest absolute
error and the error's norm relative to the reference output's norm; an
output passes when that relative error is within the tolerance. Per layer,
tensor and boundary (DRAM, the keeper), every count the executor made must
equal the recorded prediction (DESIGN rule 3); one difference fails.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from google.protobuf.message import DecodeError

from accelmap.backend.run.executor import ExecResult, run_schedule
from accelmap.backend.run.runner import TensorCounts
from accelmap.backend.run.inputs import model_inputs
from accelmap.backend.outdir.load import load_schedule
from accelmap.backend.outdir.schedule import Schedule
from accelmap.errors import ScheduleError
from accelmap.mapper.counts import Counts, differences

ORT_ERRORS = tuple(getattr(ort.capi.onnxruntime_pybind11_state, name) for name in
                   ("Fail", "InvalidArgument", "InvalidGraph", "InvalidProtobuf", "NoSuchFile", "NotImplemented",
                    "RuntimeException")) + (DecodeError,)
"""What onnxruntime (and onnx reading the model) raise for a file that is not the model OUTDIR came from."""

DEFAULT_TOLERANCE = 1e-4
"""Relative error (to the output's norm) float32 reorderings stay well within."""


@dataclass(frozen=True)
class OutputCheck:
    """One graph output: how far the executor is from onnxruntime, and whether that is within tolerance."""

    name: str
    shape: tuple[int, ...]
    max_abs_error: float
    rel_error: float
    passed: bool


@dataclass(frozen=True)
class Validation:
    """The comparison of an OUTDIR with its model: per-output checks at a stated tolerance."""

    out_dir: str
    model: str
    tolerance: float
    outputs: tuple[OutputCheck, ...]
    layers_counted: int = 0
    count_mismatches: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        """True when every output is within tolerance and every count equals its prediction."""
        return all(check.passed for check in self.outputs) and not self.count_mismatches


def validate(out_dir: str | Path, inputs: str | Path | dict[str, np.ndarray] | None = None, seed: int = 0,
             tol: float = DEFAULT_TOLERANCE, model: str | Path | None = None) -> Validation:
    """Execute `out_dir` on `inputs` (an .npz file or dict by input name; random from `seed` when None)
    and compare every output with onnxruntime running the original model."""
    schedule = load_schedule(out_dir)
    model_path = _model_file(schedule, model)
    feeds = model_inputs(schedule, inputs, seed)
    names = list(schedule.graph.outputs)
    try:
        session = _reference(model_path, schedule)
        want = dict(zip(names, session.run(names, feeds)))
    except ORT_ERRORS as err:
        raise ScheduleError(f"{model_path}: onnxruntime cannot run it on OUTDIR's inputs ({type(err).__name__}: "
                            f"{str(err).strip()[:300]}); is it the model OUTDIR was compiled from?") from None
    result = run_schedule(Path(out_dir), schedule, feeds)
    checks = tuple(compare_output(name, result.outputs[name], want[name], tol) for name in names)
    mismatches = schedule_count_mismatches(schedule, result)
    return Validation(str(out_dir), str(model_path), tol, checks, len(result.layers), tuple(mismatches))


def compare_output(name: str, got: np.ndarray, want: np.ndarray, tol: float = DEFAULT_TOLERANCE) -> OutputCheck:
    """How far output `name` as the schedule computed it (`got`) is from the reference (`want`): the
    largest absolute error, and the error's norm relative to the reference's norm, passing within `tol`."""
    a, b = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if a.shape != b.shape:
        raise ScheduleError(f"output {name!r}: the schedule computes shape {a.shape}, the model {b.shape}")
    diff = np.abs(a - b)
    scale = float(np.linalg.norm(b))
    rel = float(np.linalg.norm(diff)) / scale if scale else float(np.linalg.norm(diff))
    return OutputCheck(name, a.shape, float(diff.max(initial=0.0)), rel, rel <= tol)


DRAM_FIELDS = {"W": ("reads",), "I": ("reads",), "O": ("reads", "updates", "first_writes", "overwrites", "rmw")}
"""The counts the executor makes at DRAM per tensor; at the keeper it counts `fills`."""


def count_mismatches(cost: dict, levels: list[str], tensors: dict[str, TensorCounts]) -> list[str]:
    """Every count of one layer's run that differs from `cost` (schedule.json's cost entry, or `to_json` of
    the model's Cost): per tensor at DRAM and at the keeper, one line each."""
    problems = []
    for t, got in tensors.items():
        pairs = [(levels[0], differences(got.dram, Counts.of(cost["traffic"][0][t]), DRAM_FIELDS[t]))]
        if got.level in levels:
            keeper = cost["traffic"][levels.index(got.level)][t]
            pairs.append((got.level, differences(got.keeper, Counts.of(keeper), ("fills",))))
        problems += [f"{t} {level} {field}: executed {a:,}, predicted {b:,}" for level, found in pairs
                     for field, a, b in found]
    return problems


def schedule_count_mismatches(schedule: Schedule, result: ExecResult) -> list[str]:
    """`count_mismatches` of every executed layer against schedule.json, each line naming the layer."""
    levels = [level.name for level in schedule.arch.levels]
    return [f"layer {name!r}: {line}" for name, counts in result.layers.items()
            for line in count_mismatches(schedule.layer(name).cost, levels, counts.tensors)]


def _model_file(schedule: Schedule, model: str | Path | None) -> Path:
    """The ONNX file to compare with: `model` if given, else the recorded one, whose sha256 must match."""
    if model is not None:
        path = Path(model)
        if not path.is_file():
            raise ScheduleError(f"{path}: no such model file")
        return path
    if schedule.model is None:
        raise ScheduleError("schedule.json records no model file; give the model to validate against")
    path = Path(schedule.model.path)
    if not path.is_file():
        raise ScheduleError(f"the model {schedule.model.name} was compiled from {path}, which no longer exists; "
                            "give the model file to validate against")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != schedule.model.sha256:
        raise ScheduleError(f"{path} has changed since it was compiled (sha256 {digest[:12]}..., "
                            f"recorded {schedule.model.sha256[:12]}...); give the original model file")
    return path


def _reference(model_path: Path, schedule: Schedule) -> ort.InferenceSession:
    """onnxruntime on the original model, its inputs given the shapes OUTDIR was compiled for: a model
    compiled with --input-shape is run at that shape (declared intermediate and output shapes dropped,
    onnxruntime infers them again)."""
    model = onnx.load(str(model_path))
    compiled = {name: tuple(schedule.graph.tensors[name].shape) for name in schedule.graph.inputs}
    inputs = [value for value in model.graph.input if value.name in compiled]
    declared = {value.name: tuple(d.dim_value if d.HasField("dim_value") else None
                                  for d in value.type.tensor_type.shape.dim) for value in inputs}
    if declared == compiled:
        return ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    for value in inputs:
        dims = value.type.tensor_type.shape.dim
        del dims[:]
        for size in compiled[value.name]:
            dims.add().dim_value = size
    del model.graph.value_info[:]
    for value in model.graph.output:
        value.type.tensor_type.ClearField("shape")
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
