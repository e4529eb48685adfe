"""`validate`: run an OUTDIR and compare its outputs with onnxruntime on the original model.

The model is the file recorded in schedule.json (found by its path, checked
by its sha256) or one given explicitly. Per output: the largest absolute
error and the error's norm relative to the reference output's norm; an
output passes when that relative error is within the tolerance.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from accelmap.backend.run.executor import run_schedule
from accelmap.backend.outdir.load import load_schedule
from accelmap.backend.outdir.schedule import Schedule
from accelmap.errors import ScheduleError

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

    @property
    def passed(self) -> bool:
        """True when every output is within tolerance."""
        return all(check.passed for check in self.outputs)


def validate(out_dir: str | Path, inputs: str | Path | dict[str, np.ndarray] | None = None, seed: int = 0,
             tol: float = DEFAULT_TOLERANCE, model: str | Path | None = None) -> Validation:
    """Execute `out_dir` on `inputs` (an .npz file or dict by input name; random from `seed` when None)
    and compare every output with onnxruntime running the original model."""
    schedule = load_schedule(out_dir)
    model_path = _model_file(schedule, model)
    feeds = _feeds(schedule, inputs, seed)
    got = run_schedule(Path(out_dir), schedule, feeds).outputs
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    names = list(schedule.graph.outputs)
    want = dict(zip(names, session.run(names, feeds)))
    checks = []
    for name in names:
        a, b = np.asarray(got[name], dtype=np.float64), np.asarray(want[name], dtype=np.float64)
        if a.shape != b.shape:
            raise ScheduleError(f"output {name!r}: the schedule computes shape {a.shape}, the model {b.shape}")
        diff = np.abs(a - b)
        scale = float(np.linalg.norm(b))
        rel = float(np.linalg.norm(diff)) / scale if scale else float(np.linalg.norm(diff))
        checks.append(OutputCheck(name, a.shape, float(diff.max(initial=0.0)), rel, rel <= tol))
    return Validation(str(out_dir), str(model_path), tol, tuple(checks))


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


def _feeds(schedule: Schedule, inputs: str | Path | dict[str, np.ndarray] | None, seed: int) -> dict[str, np.ndarray]:
    """Graph inputs from an .npz file or a dict, or seeded random values of the right shapes and dtypes.

    Random integer inputs (token ids) are drawn below the smallest leading
    dim of any constant their consumers gather from, so they index validly.
    """
    graph = schedule.graph
    if isinstance(inputs, (str, Path)):
        try:
            with np.load(inputs, allow_pickle=False) as npz:
                inputs = {key: npz[key] for key in npz.files}
        except (OSError, ValueError) as err:
            raise ScheduleError(f"{inputs}: not a readable .npz file of inputs ({err})") from None
    if inputs is not None:
        missing = [name for name in graph.inputs if name not in inputs]
        if missing:
            raise ScheduleError(f"inputs lack graph input(s) {', '.join(missing)}")
        return {name: np.asarray(inputs[name], dtype=graph.tensors[name].dtype) for name in graph.inputs}
    rng = np.random.default_rng(seed)
    feeds = {}
    for name in graph.inputs:
        info = graph.tensors[name]
        if np.dtype(info.dtype).kind in "iu":
            tables = [graph.constants[t].shape[0] for node in graph.consumers(name) for t in node.inputs
                      if t in graph.constants and graph.constants[t].ndim >= 1]
            feeds[name] = rng.integers(0, min(tables, default=2), size=info.shape).astype(info.dtype)
        else:
            feeds[name] = rng.standard_normal(info.shape).astype(info.dtype)
    return feeds
