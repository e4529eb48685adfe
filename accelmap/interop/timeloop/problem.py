"""Timeloop problem files: read into a `Workload`, and a `Workload` written as one.

A problem may give its `shape` (checked rank by rank against Timeloop's CNN
layer, so conv1d-style shapes with fewer dims are accepted) or none (the CNN
layer is assumed), and its bounds under `instance` (v0.3) or straight under
`problem` (v0.2). The writer gives the CNN-layer shape inline (dims R S P Q
C M N, plus G when the layer is grouped) with the stride and dilation
coefficients, and a mapping's padded bounds in place of the workload's.
"""
from __future__ import annotations

from pathlib import Path

from accelmap.errors import MappingError
from accelmap.interop.timeloop.names import (CNN_COEFFICIENTS, CNN_LAYER, DATA_SPACES, DIM_NAMES, TIMELOOP_DIMS,
                                             read_yaml)
from accelmap.interop.timeloop.yaml_text import dump
from accelmap.ir.workload import DIMS, TENSOR_NAMES, Workload
from accelmap.mapper.mapping import Mapping

_SINGLE = {t: {rank[0] for rank in ranks if len(rank) == 1} for t, ranks in CNN_LAYER.items()}
"""Per tensor, the dims that index it alone (one rank each)."""
_WINDOWS = [set(rank) for rank in CNN_LAYER["I"] if len(rank) > 1]
"""The Inputs ranks that are sliding windows: {R, P} and {S, Q}."""
_COEFFICIENT = {dim: name for name, (dim, _) in CNN_COEFFICIENTS.items()}
"""accelmap dim -> the name of the coefficient multiplying it in a window rank."""


def load_timeloop_problem(path: str | Path) -> Workload:
    """The `Workload` of a Timeloop problem YAML file."""
    return workload_from_timeloop(read_yaml(path, "problem"), str(path))


def workload_from_timeloop(doc: object, source: str) -> Workload:
    """The `Workload` of a parsed Timeloop problem (`problem:` with `shape` and `instance`, or flat bounds)."""
    problems: list[str] = []
    root = doc.get("problem") if isinstance(doc, dict) else None
    if not isinstance(root, dict):
        raise MappingError([f"{source}: problem: expected a 'problem:' mapping"])
    instance = root.get("instance", {k: v for k, v in root.items() if k != "shape"})
    if not isinstance(instance, dict):
        raise MappingError([f"{source}: problem.instance: expected a mapping of bounds"])
    where = "problem.instance" if "instance" in root else "problem"
    dims, coefficients, windows = _shape(root.get("shape"), problems)
    bounds = {d: 1 for d in DIMS}
    values: dict[str, int] = {}
    for key, value in instance.items():
        if key == "densities":
            continue
        if key not in coefficients and DIM_NAMES.get(key) not in dims:
            problems.append(f"{where}.{key}: not a dim of the shape ({', '.join(sorted(dims))}; Timeloop's M "
                            f"is K) nor a coefficient ({', '.join(coefficients) or 'none'})")
        elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append(f"{where}.{key}: expected a positive integer, got {value!r}")
        elif key in coefficients:
            values[key] = value
        else:
            bounds[DIM_NAMES[key]] = value
    if problems:
        raise MappingError([f"{source}: {p}" for p in problems])
    factor = {dim: values.get(name, coefficients[name]) if isinstance(name, str) else name
              for dim, name in windows.items()}
    return Workload(tuple((d, bounds[d]) for d in DIMS),
                    stride=(factor.get("P", 1), factor.get("Q", 1)),
                    dilation=(factor.get("R", 1), factor.get("S", 1)))


def _shape(shape: object, problems: list[str]) -> tuple[set[str], dict[str, int], dict[str, str | int]]:
    """(accelmap dims, coefficient defaults, Inputs window dim -> coefficient name or value).

    Without a shape, Timeloop's CNN layer. With one, every data space must be
    the CNN layer's restricted to the shape's dims.
    """
    if shape is None or isinstance(shape, str):
        return set(DIMS) - {"G"}, {k: v for k, (_, v) in CNN_COEFFICIENTS.items()}, dict(_COEFFICIENT)
    if not isinstance(shape, dict) or not isinstance(shape.get("dimensions"), list):
        problems.append("problem.shape.dimensions: expected the list of the shape's dims")
        return set(), {}, {}
    dims = set()
    for i, name in enumerate(shape["dimensions"]):
        if name not in DIM_NAMES:
            problems.append(f"problem.shape.dimensions[{i}]: dim {name!r} is not a CNN-layer dim "
                            f"({', '.join(DIM_NAMES)})")
        dims.add(DIM_NAMES.get(name, name))
    coefficients = {c.get("name"): c.get("default", 1) for c in shape.get("coefficients", [])
                    if isinstance(c, dict)}
    windows: dict[str, str | int] = {}
    key = "data_spaces" if "data_spaces" in shape else "data-spaces"     # v0.4 (timeloopfe) or v0.3
    spaces = shape.get(key, [])
    seen = set()
    for i, space in enumerate(spaces if isinstance(spaces, list) else []):
        path = f"problem.shape.{key}[{i}]"
        tensor = DATA_SPACES.get(space.get("name")) if isinstance(space, dict) else None
        if tensor is None:
            problems.append(f"{path}.name: expected one of {', '.join(DATA_SPACES)}")
            continue
        seen.add(tensor)
        _check_projection(tensor, space.get("projection"), dims, coefficients, windows, path, problems)
    if seen != {"W", "I", "O"}:
        problems.append(f"problem.shape.{key}: expected Weights, Inputs and Outputs, got {sorted(seen)}")
    return dims, coefficients, windows


def _check_projection(tensor: str, projection: object, dims: set[str], coefficients: dict[str, int],
                      windows: dict[str, str | int], path: str, problems: list[str]) -> None:
    """Match a data space's projection, rank by rank, with the CNN layer's; record window coefficients."""
    if not isinstance(projection, list):
        problems.append(f"{path}.projection: expected a list of ranks")
        return
    covered = []
    for k, rank in enumerate(projection):
        terms = _terms(rank, coefficients) or []
        single = len(terms) == 1 and terms[0][0] in _SINGLE[tensor] and terms[0][1] == 1
        window = tensor == "I" and bool(terms) and any({d for d, _ in terms} <= pair for pair in _WINDOWS)
        if not (single or window):
            problems.append(f"{path}.projection[{k}]: {rank!r} is not one of the CNN layer's indices "
                            f"of {TENSOR_NAMES[tensor]}")
            continue
        covered += [d for d, _ in terms]
        if window:
            windows.update({d: c for d, c in terms})
    expected = [d for d in DIMS if d in dims and any(d in rank for rank in CNN_LAYER[tensor])]
    if sorted(covered) != sorted(expected):
        problems.append(f"{path}.projection: indexes {sorted(covered)}, Timeloop's CNN layer indexes "
                        f"{sorted(expected)} for these dims")


def _terms(rank: object, coefficients: dict[str, int]) -> list[tuple[str, str | int]] | None:
    """A rank [[R, Wdilation], [P, Wstride]] as [(accelmap dim, coefficient name or value)]."""
    if not isinstance(rank, list):
        return None
    terms = []
    for term in rank:
        if not isinstance(term, list) or not 1 <= len(term) <= 2:
            return None
        dim = next((t for t in term if t in DIM_NAMES), None)
        rest = [t for t in term if t != dim]
        coef = rest[0] if rest else 1
        if dim is None or not (coef in coefficients or isinstance(coef, int)):
            return None
        terms.append((DIM_NAMES[dim], coef))
    return terms


def problem_to_timeloop(workload: Workload, mapping: Mapping | None = None) -> str:
    """The CNN-layer problem YAML; a mapping's padded bounds replace the workload's."""
    bounds = mapping.bounds(workload.dims) if mapping else workload.dims
    dims = problem_dims(workload)
    shape = {"name": "CNN-Layer", "dimensions": [TIMELOOP_DIMS[d] for d in dims],
             "coefficients": [{"name": name, "default": default} for name, (_, default) in CNN_COEFFICIENTS.items()],
             "data-spaces": [{"name": TENSOR_NAMES[t], "projection": _projection(ranks, dims)}
                             for t, ranks in CNN_LAYER.items()]}
    shape["data-spaces"][-1]["read-write"] = True
    instance = {TIMELOOP_DIMS[d]: bounds[d] for d in dims}
    instance.update({_COEFFICIENT[d]: value for d, value in zip("PQRS", (*workload.stride, *workload.dilation))})
    header = "".join(f"# {d}: the mapping pads {workload.bound(d)} to {b}\n"
                     for d, b in (mapping.padded if mapping else ()))
    return header + dump({"problem": {"shape": shape, "instance": instance}})


def _projection(ranks: tuple[tuple[str, ...], ...], dims: list[str]) -> list:
    """A data space's ranks over `dims`: [[dim]] alone, [[R, Wdilation], [P, Wstride]] in a window."""
    return [[[TIMELOOP_DIMS[d]] if len(rank) == 1 else [TIMELOOP_DIMS[d], _COEFFICIENT[d]] for d in rank]
            for rank in ranks if all(d in dims for d in rank)]


def problem_dims(workload: Workload) -> list[str]:
    """The accelmap dims Timeloop files list for `workload`: the CNN layer's, plus G when it is grouped."""
    return [d for d in TIMELOOP_DIMS if d != "G" or workload.bound("G") > 1]
