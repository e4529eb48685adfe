"""The inputs a validation runs on: given ones checked at the door, or seeded random ones.

Given arrays (an .npz file or a dict by input name) must be exactly the
model's inputs, each with the shape OUTDIR was compiled for and a dtype of
the same kind as the model's (floats for floats, integers for integers,
booleans for booleans); integers must fit the model's integer type, and
indices a Gather looks up must lie in the table. Anything else is a
ScheduleError naming the array and what was expected: no silent casts.
Only widths change (float64 -> float32, int32 -> int64), as onnxruntime
would need them.
"""
from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from accelmap.backend.outdir.schedule import Schedule
from accelmap.errors import ScheduleError
from accelmap.ir.graph import Graph

Feeds = dict[str, np.ndarray]


def model_inputs(schedule: Schedule, inputs: str | Path | Feeds | None, seed: int) -> Feeds:
    """Graph inputs from an .npz file or a dict (checked), or seeded random values when `inputs` is None.

    Random integer inputs (token ids) are drawn below the smallest table a
    Gather looks them up in (2 when none does), so they index validly.
    """
    graph = schedule.graph
    if inputs is None:
        return _random(graph, seed)
    given = _read_npz(Path(inputs)) if isinstance(inputs, (str, Path)) else dict(inputs)
    where = str(inputs) if isinstance(inputs, (str, Path)) else "inputs"
    missing = [name for name in graph.inputs if name not in given]
    unknown = sorted(name for name in given if name not in graph.inputs)
    if missing or unknown:
        raise ScheduleError(f"{where}: " + "; ".join(
            ([f"lacks the model's input(s) {', '.join(map(repr, missing))}"] if missing else []) +
            ([f"holds {', '.join(map(repr, unknown))}, not an input of the model"] if unknown else [])) +
            f" (the model's inputs: {', '.join(map(repr, graph.inputs))})")
    return {name: _checked(graph, name, given[name], where) for name in graph.inputs}


def _read_npz(path: Path) -> Feeds:
    """The arrays of an .npz file; a ScheduleError for anything else (a .npy, a truncated or foreign file)."""
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ScheduleError(f"{path}: holds a single array, not named inputs; write them with "
                                "numpy.savez(file, input_name=array, ...)")
        with loaded as npz:
            return {key: npz[key] for key in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise ScheduleError(f"{path}: not a readable .npz file of inputs ({type(err).__name__}: {err})") from None


def _checked(graph: Graph, name: str, value: object, where: str) -> np.ndarray:
    """`value` as input `name`'s array, after checking its shape, dtype kind, range and indices."""
    info = graph.tensors[name]
    want = np.dtype(info.dtype)
    array = np.asarray(value)
    label = f"{where}: input {name!r}"
    if array.shape != tuple(info.shape):
        shown = f"has shape {'x'.join(map(str, array.shape))}" if array.shape else "is a scalar"
        raise ScheduleError(f"{label} {shown}; OUTDIR was compiled for {'x'.join(map(str, info.shape))}")
    if _kind(array.dtype) != _kind(want):
        raise ScheduleError(f"{label} is {array.dtype}; the model expects {want} ({_kind(want)})")
    if want.kind in "iu" and array.size:
        low, high = int(array.min()), int(array.max())
        limits = np.iinfo(want)
        if low < limits.min or high > limits.max:
            raise ScheduleError(f"{label} holds {low if low < limits.min else high}, outside {want}")
        table = _index_limit(graph, name)
        if table is not None and (low < -table or high >= table):
            raise ScheduleError(f"{label} holds index {low if low < -table else high}; it indexes a table of "
                                f"{table} rows (valid: {-table} to {table - 1})")
    if want.kind == "f" and not np.isfinite(array).all():
        raise ScheduleError(f"{label} holds NaN or infinity")
    return array.astype(want, copy=False)


def _kind(dtype: np.dtype) -> str:
    """What a dtype holds, as the checks compare it: floats, integers, booleans or something else."""
    return {"f": "floats", "i": "integers", "u": "integers", "b": "booleans"}.get(dtype.kind, f"{dtype.kind!r} data")


def _index_limit(graph: Graph, name: str) -> int | None:
    """The rows of the smallest table a Gather looks `name` up in; None when no Gather uses it as indices."""
    sizes = []
    for node in graph.consumers(name):
        if node.op == "Gather" and len(node.inputs) > 1 and node.inputs[1] == name:
            data = node.inputs[0]
            shape = graph.constants[data].shape if data in graph.constants else graph.tensors[data].shape
            sizes.append(shape[node.attrs.get("axis", 0)])
    return min(sizes) if sizes else None


def _random(graph: Graph, seed: int) -> Feeds:
    """Seeded inputs: standard normal floats, integers below their table's size, random booleans."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for name in graph.inputs:
        info = graph.tensors[name]
        kind = np.dtype(info.dtype).kind
        if kind in "iu":
            feeds[name] = rng.integers(0, _index_limit(graph, name) or 2, size=info.shape).astype(info.dtype)
        elif kind == "b":
            feeds[name] = rng.integers(0, 2, size=info.shape).astype(bool)
        else:
            feeds[name] = rng.standard_normal(info.shape).astype(info.dtype)
    return feeds
