"""Reading an OUTDIR back, trusting nothing: schema, version, weights, layers, mappings, buffer plans,
predicted costs and loop programs.

Every fault is a ScheduleError that names the file or layer and the field and
says what is wrong, so a corrupted or hand-edited OUTDIR is rejected before
anything runs. A recorded cost that is not what the cost model gives for the
recorded mapping is a `CheckFailed` (a numeric mismatch, exit code 1). Each
layer's loop program must be exactly the one its recorded mapping and buffer
plan imply; the executor's own reader (`run/program.py`) checks it again,
independently of the writer.
"""
from __future__ import annotations

import json
import zipfile
import zlib
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import yaml

from accelmap.arch import build_arch, check_arch
from accelmap.arch.dump import arch_to_yaml
from accelmap.arch.spec import Arch
from accelmap.backend.outdir.buffers import check_plan
from accelmap.backend.outdir.codec import to_json
from accelmap.backend.outdir.place import diagnose
from accelmap.backend.outdir.program import build_program
from accelmap.backend.outdir.schedule import (FORMAT_VERSION, SCHEDULE_FILE, WEIGHTS_FILE, Schedule, array_sha256,
                                       schedule_from_json)
from accelmap.errors import CheckFailed, ScheduleError
from accelmap.ir.graph import Node
from accelmap.ir.interpreter import run_graph
from accelmap.mapper.model import evaluate
from accelmap.mapper.validity import check_mapping


@lru_cache(maxsize=1)
def schedule_schema() -> dict[str, Any]:
    """The JSON Schema of schedule.json shipped in the package."""
    return json.loads(resources.files("accelmap.backend.outdir").joinpath("schedule.schema.json").read_text())


def validate_document(doc: Any, source: str = SCHEDULE_FILE) -> None:
    """Raise ScheduleError listing every schema violation of a schedule.json document (version first)."""
    if not isinstance(doc, dict):
        raise ScheduleError(f"{source}: not a JSON object")
    version = doc.get("format_version")
    if version != FORMAT_VERSION:
        raise ScheduleError(f"{source}: format version {version!r} is not supported (this accelmap reads "
                            f"version {FORMAT_VERSION}); recompile the model with this accelmap")
    validator = jsonschema.Draft202012Validator(schedule_schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = [f"{_where(doc, list(e.absolute_path))}: {e.message}" for e in errors[:20]]
        more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        raise ScheduleError(f"{source} does not match its schema:\n  " + "\n  ".join(lines) + more)


def _where(doc: dict[str, Any], path: list[Any]) -> str:
    """A JSON path, starting with the layer's name when it points into `layers`."""
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "(document)"
    if len(path) >= 2 and path[0] == "layers" and isinstance(path[1], int):
        try:
            return f"layer {doc['layers'][path[1]]['name']!r}: {text}"
        except (KeyError, IndexError, TypeError):
            return text
    return text


def load_schedule(out_dir: str | Path) -> Schedule:
    """The `Schedule` in `out_dir`, after checking every part of it (see the module docstring)."""
    out_dir = Path(out_dir)
    path = out_dir / SCHEDULE_FILE
    if not path.is_file():
        raise ScheduleError(f"{out_dir}: no {SCHEDULE_FILE}; {diagnose(out_dir) or 'is this an accelmap OUTDIR?'}")
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ScheduleError(f"{path}: not readable JSON ({err})") from None
    validate_document(doc, str(path))
    _check_layer_set(doc)
    constants = _load_weights(out_dir, doc)
    try:
        schedule = schedule_from_json(doc, constants)
        schedule.graph.verify()
    except (KeyError, TypeError, ValueError) as err:
        raise ScheduleError(f"{path}: inconsistent schedule ({type(err).__name__}: {err})") from None
    arch_problems = _arch_problems(schedule.arch)
    if arch_problems:
        raise ScheduleError(f"{path}: arch: " + "; ".join(arch_problems[:5]))
    _check_shapes(path, schedule)
    problems = []
    for plan in schedule.layers:
        problems += [f"layer {plan.name!r}: {p}" for p in _layer_problems(out_dir, schedule, plan.name)]
    if problems:
        raise ScheduleError(f"{path}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    for plan in schedule.layers:
        _check_cost(schedule, plan.name)
        _check_program(out_dir, schedule, plan.name)
    return schedule


def first_difference(got: Any, want: Any, path: str = "") -> tuple[str, Any, Any] | None:
    """(field path, got, want) of the first place two JSON values differ; None when equal."""
    if isinstance(got, dict) and isinstance(want, dict):
        for key in list(want) + [k for k in got if k not in want]:
            if key not in got or key not in want:
                return f"{path}.{key}".lstrip("."), got.get(key, "(absent)"), want.get(key, "(absent)")
            found = first_difference(got[key], want[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        for i, (a, b) in enumerate(zip(got, want)):
            found = first_difference(a, b, f"{path}[{i}]")
            if found:
                return found
        return None
    if got != want or type(got) is not type(want):
        return path.lstrip(".") or "(document)", got, want
    return None


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _check_cost(schedule: Schedule, name: str) -> None:
    """The recorded cost must be what the cost model gives for the recorded mapping (else CheckFailed)."""
    plan = schedule.layer(name)
    want = to_json(evaluate(plan.workload, schedule.arch, plan.mapping))
    found = first_difference(plan.cost, want)
    if found:
        field, got, expected = found
        raise CheckFailed(f"layer {name!r}: {SCHEDULE_FILE}: cost.{field} is {_short(got)}, the cost model gives "
                          f"{_short(expected)} for the recorded mapping (an edited or stale prediction)")


def _check_program(out_dir: Path, schedule: Schedule, name: str) -> None:
    """The layer's loop program must be the one its recorded mapping and buffer plan imply."""
    plan = schedule.layer(name)
    path = out_dir / plan.files.program
    where = f"layer {name!r}: {plan.files.program}"
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ScheduleError(f"{where}: not readable JSON ({err})") from None
    if isinstance(doc, dict) and doc.get("layer") != name:
        raise ScheduleError(f"{where}: layer: the program belongs to layer {doc.get('layer')!r} (swapped files?)")
    layout = schedule.graph.node(name).layout
    want = build_program(name, plan.workload, plan.mapping, schedule.arch, plan.buffers,
                         tuple(getattr(layout, "pads", (0, 0, 0, 0))))
    found = first_difference(doc, want)
    if found:
        field, got, expected = found
        raise ScheduleError(f"{where}: {field} is {_short(got)}; the recorded mapping and buffer plan give "
                            f"{_short(expected)}")


def _check_layer_set(doc: dict[str, Any]) -> None:
    """Every mapped node of the graph has exactly one layer entry, and every entry a mapped node."""
    mapped = [n["name"] for n in doc["graph"]["nodes"] if n["kind"] == "layer"]
    planned = [layer["name"] for layer in doc["layers"]]
    problems = [f"layer {name!r} is a mapped layer of the graph but has no schedule (missing layer)"
                for name in mapped if name not in planned]
    problems += [f"layer {name!r} is scheduled but is not a mapped layer of the graph"
                 for name in planned if name not in mapped]
    problems += [f"layer {name!r} is scheduled {planned.count(name)} times"
                 for name in sorted(set(planned)) if planned.count(name) > 1]
    if problems:
        raise ScheduleError(f"{SCHEDULE_FILE}: " + "; ".join(problems))


def _readers(doc: dict[str, Any], tensor: str) -> str:
    """' (read by layer ...)' for the nodes that read constant `tensor`."""
    names = [n["name"] for n in doc["graph"]["nodes"]
             if tensor in n["inputs"] or any(op.get("tensor") == tensor for op in n.get("post_ops", []))]
    return f" (read by {', '.join(repr(n) for n in names)})" if names else ""


def _load_weights(out_dir: Path, doc: dict[str, Any]) -> dict[str, np.ndarray]:
    """The constants in weights.npz, each checked against schedule.json's shape, dtype and sha256."""
    path = out_dir / doc["weights"]["file"]
    if doc["weights"]["file"] != WEIGHTS_FILE or not path.is_file():
        raise ScheduleError(f"{out_dir}: no {WEIGHTS_FILE} beside {SCHEDULE_FILE}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            stored = {key: npz[key] for key in npz.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as err:
        raise ScheduleError(f"{path}: not a readable .npz file ({type(err).__name__}: {err}); "
                            "recompile the model") from None
    constants, problems = {}, []
    listed = {entry["key"] for entry in doc["weights"]["tensors"]}
    for entry in doc["weights"]["tensors"]:
        name, key = entry["name"], entry["key"]
        where = f"tensor {name!r}{_readers(doc, name)}"
        if key not in stored:
            problems.append(f"{where} is missing from {WEIGHTS_FILE}")
            continue
        array = stored[key]
        if list(array.shape) != entry["shape"] or str(array.dtype) != entry["dtype"]:
            problems.append(f"{where} is {array.dtype}{list(array.shape)} in {WEIGHTS_FILE}, "
                            f"schedule.json records {entry['dtype']}{entry['shape']}")
        elif array_sha256(array) != entry["sha256"]:
            problems.append(f"{where} in {WEIGHTS_FILE} does not match schedule.json (sha256 differs): "
                            "the weights file does not belong to this schedule")
        constants[name] = array
    problems += [f"{WEIGHTS_FILE} holds {key!r}, which schedule.json does not list" for key in stored
                 if key not in listed]
    if problems:
        raise ScheduleError(f"{path}: weights do not match the schedule:\n  " + "\n  ".join(problems))
    return constants


def _arch_problems(arch: Arch) -> list[str]:
    """The recorded arch checked as an arch file is (every value in range, every name it uses defined),
    and it must be exactly the arch its own YAML form builds."""
    try:
        raw = yaml.safe_load(arch_to_yaml(arch))
        problems = check_arch(raw)
        if not problems and build_arch(raw, arch.name) != arch:
            problems = ["its fields do not make the arch they describe (edited?)"]
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        problems = [f"malformed ({type(err).__name__}: {err})"]
    return problems


def _check_shapes(path: Path, schedule: Schedule) -> None:
    """Run the graph on zeros, mapped layers standing in as zeros of their recorded output shape: every
    host op's attributes must fit its operands and every tensor come out with its recorded shape."""
    graph = schedule.graph

    def recorded(node: Node, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        return np.zeros(graph.tensors[node.outputs[0]].shape, graph.tensors[node.outputs[0]].dtype)

    def same_shape(node: Node, name: str, value: np.ndarray) -> None:
        want = tuple(graph.tensors[name].shape)
        if value.shape != want:
            raise ValueError(f"node {node.name!r}: output {name!r} comes out {list(value.shape)}, schedule.json "
                             f"records {list(want)}")

    feeds = {name: np.zeros(graph.tensors[name].shape, graph.tensors[name].dtype) for name in graph.inputs}
    try:
        run_graph(graph, feeds, recorded, same_shape)
    except (KeyError, TypeError, ValueError, IndexError, MemoryError) as err:
        raise ScheduleError(f"{path}: graph: {err}") from None


def _layer_problems(out_dir: Path, schedule: Schedule, name: str) -> list[str]:
    """Faults of one layer: its mapping against the mapspace's rules, its buffer plan, its files."""
    plan = schedule.layer(name)
    problems = [f"mapping: {p}" for p in check_mapping(plan.workload, schedule.arch, plan.mapping)]
    if not problems:
        problems += [f"buffer plan: {p}" for p in check_plan(plan.buffers, plan.workload, plan.mapping,
                                                              schedule.arch)]
    for kind, rel in (("loop program", plan.files.program), ("loop nest", plan.files.loopnest)):
        if not (out_dir / rel).is_file():
            problems.append(f"{kind} file {rel} is missing")
    return problems
