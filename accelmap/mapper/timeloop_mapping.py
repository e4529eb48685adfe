"""Read Timeloop problem and mapping YAMLs into a `Workload` and a `Mapping` for a given `Arch`.

Timeloop's names become accelmap's: dim M is K; data spaces Weights /
Inputs / Outputs are W / I / O. A problem may give its `shape` (checked
term by term against Timeloop's CNN layer, so conv1d-style shapes with
fewer dims are accepted) or none (the CNN layer is assumed). A mapping's
`permutation` is read inner to outer, as Timeloop writes it; on a spatial
entry the first `split` dims of the permutation go to X, the rest to Y.
Every problem is reported with its key path in one `MappingError`.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from accelmap.arch.spec import Arch
from accelmap.errors import MappingError
from accelmap.ir.workload import DIMS, TENSOR_NAMES, Workload
from accelmap.mapper.mapping import Loop, Mapping, SpatialLoops

DIM_NAMES = {**{d: d for d in DIMS}, "M": "K"}
"""Timeloop dim name -> accelmap dim."""
DATA_SPACES = {"Weights": "W", "Inputs": "I", "Outputs": "O"}
CNN_COEFFICIENTS = {"Wstride": ("P", 1), "Hstride": ("Q", 1), "Wdilation": ("R", 1), "Hdilation": ("S", 1)}
"""Timeloop's CNN-layer coefficient -> (the dim it multiplies in the Inputs projection, default)."""
_FACTOR = re.compile(r"\s*([A-Za-z]+)\s*=?\s*(\d+)\s*")
_SINGLE = {"W": ("G", "K", "C", "R", "S"), "I": ("N", "G", "C"), "O": ("N", "G", "K", "P", "Q")}
_WINDOWS = (("P", "R"), ("Q", "S"))


def read_yaml(path: str | Path) -> object:
    """A parsed YAML file; unreadable or malformed files raise `MappingError` naming the file."""
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise MappingError([f"{path}: cannot read the file: {err}"]) from err
    except yaml.YAMLError as err:
        raise MappingError([f"{path}: not valid YAML: {err}"]) from err


def load_timeloop_problem(path: str | Path) -> Workload:
    """The `Workload` of a Timeloop problem YAML file."""
    return workload_from_timeloop(read_yaml(path), str(path))


def load_timeloop_mapping(path: str | Path, arch: Arch, workload: Workload) -> Mapping:
    """The `Mapping` of a Timeloop mapping YAML file for `workload` on `arch`."""
    return mapping_from_timeloop(read_yaml(path), arch, workload, str(path))


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
        return set(DIMS) - {"G"}, {k: v for k, (_, v) in CNN_COEFFICIENTS.items()}, \
            {dim: name for name, (dim, _) in CNN_COEFFICIENTS.items()}
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
    spaces = shape.get("data-spaces", [])
    seen = set()
    for i, space in enumerate(spaces if isinstance(spaces, list) else []):
        path = f"problem.shape.data-spaces[{i}]"
        tensor = DATA_SPACES.get(space.get("name")) if isinstance(space, dict) else None
        if tensor is None:
            problems.append(f"{path}.name: expected one of {', '.join(DATA_SPACES)}")
            continue
        seen.add(tensor)
        _check_projection(tensor, space.get("projection"), dims, coefficients, windows, path, problems)
    if seen != {"W", "I", "O"}:
        problems.append(f"problem.shape.data-spaces: expected Weights, Inputs and Outputs, got {sorted(seen)}")
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
        window = tensor == "I" and bool(terms) and any({d for d, _ in terms} <= set(pair) for pair in _WINDOWS)
        if not (single or window):
            problems.append(f"{path}.projection[{k}]: {rank!r} is not one of the CNN layer's indices "
                            f"of {TENSOR_NAMES[tensor]}")
            continue
        covered += [d for d, _ in terms]
        if window:
            windows.update({d: c for d, c in terms})
    expected = [d for d in DIMS if d in dims and (d in _SINGLE[tensor] or tensor == "I" and d in "PQRS")]
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


def mapping_from_timeloop(doc: object, arch: Arch, workload: Workload, source: str) -> Mapping:
    """The `Mapping` a parsed Timeloop mapping describes, for `workload` on `arch` (levels matched by name)."""
    entries = doc.get("mapping") if isinstance(doc, dict) else doc
    if not isinstance(entries, list):
        raise MappingError([f"{source}: mapping: expected a list of directives"])
    problems: list[str] = []
    names = [level.name for level in arch.levels]
    temporal: dict[int, tuple[Loop, ...]] = {}
    spatial: dict[int, SpatialLoops] = {}
    keep = [frozenset(level.keeps) if level.storage else frozenset() for level in arch.levels]
    seen: set[tuple[int, str]] = set()
    for k, entry in enumerate(entries):
        path = f"mapping[{k}]"
        if not isinstance(entry, dict):
            problems.append(f"{path}: expected a directive mapping, got {entry!r}")
            continue
        kind = entry.get("type", "temporal")
        level = _target(entry.get("target"), names, f"{path}.target", problems)
        if level is None:
            continue
        if kind not in ("temporal", "spatial", "datatype", "bypass"):
            problems.append(f"{path}.type: expected temporal, spatial or datatype, got {kind!r}")
        elif (level, kind) in seen:
            problems.append(f"{path}: a second {kind} directive for {names[level]}")
        elif kind in ("datatype", "bypass"):
            keep[level] = _keep(entry, keep[level], path, problems)
        elif kind == "temporal":
            loops = _loops(entry, workload, path, problems)
            temporal[level] = tuple(loop for _, loop in reversed(loops))
        elif arch.fanout_below(level) is None:
            problems.append(f"{path}.target: level {names[level]} has no spatial fanout below it")
        else:
            loops = _loops(entry, workload, path, problems)
            split = entry.get("split", len(DIMS))
            spatial[level] = SpatialLoops(tuple(loop for pos, loop in reversed(loops) if pos < split),
                                          tuple(loop for pos, loop in reversed(loops) if pos >= split))
        seen.add((level, kind))
    mapping = Mapping(
        temporal=tuple(temporal.get(i, ()) for i in range(len(names))),
        spatial=tuple(spatial.get(arch.level_index(f.parent), SpatialLoops()) for f in arch.fanouts),
        keep=tuple(keep))
    for dim, bound in workload.bounds if not problems else ():
        got = mapping.factor_product(dim)
        if got != bound:
            problems.append(f"mapping: the factors of {dim} over all levels multiply to {got}, "
                            f"the problem's bound is {bound}")
    if problems:
        raise MappingError([f"{source}: {p}" for p in problems])
    return mapping


def _target(value: object, names: list[str], path: str, problems: list[str]) -> int | None:
    """The level index a directive's `target` names (a level name, or Timeloop's id, 0 = innermost)."""
    if isinstance(value, str) and value in names:
        return names.index(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
        return len(names) - 1 - value
    problems.append(f"{path}: no level {value!r}; levels are {', '.join(names)}")
    return None


def _loops(entry: dict, workload: Workload, path: str, problems: list[str]) -> list[tuple[int, Loop]]:
    """(permutation position, loop) for the loops (factor > 1) of a directive, innermost first."""
    factors: dict[str, int] = {}
    text = entry.get("factors", "")
    if not isinstance(text, str):
        problems.append(f"{path}.factors: expected text such as 'R=3 S=1 P=7', got {text!r}")
        text = ""
    rest = _FACTOR.sub(lambda m: _factor(m, factors, workload, f"{path}.factors", problems) or "", text)
    if rest.strip():
        problems.append(f"{path}.factors: cannot read {rest.strip()!r}; write factors as 'R=3 S=1 P=7'")
    order: list[str] = []
    text = entry.get("permutation", "")
    for char in str(text).replace(" ", ""):
        dim = DIM_NAMES.get(char)
        if dim is None or dim in order:
            problems.append(f"{path}.permutation: {char!r} is {'repeated' if dim else 'not a dim'} in {text!r}")
        else:
            order.append(dim)
    placed = []
    for dim, factor in factors.items():
        if factor == 1:
            continue
        if dim not in order:
            problems.append(f"{path}.permutation: {text!r} does not order {dim}, whose factor here is {factor}")
            continue
        placed.append((order.index(dim), Loop(dim, factor)))
    split = entry.get("split")
    if split is not None and (isinstance(split, bool) or not isinstance(split, int) or split < 0):
        problems.append(f"{path}.split: expected a non-negative integer, got {split!r}")
    return sorted(placed)


def _factor(match: re.Match, factors: dict[str, int], workload: Workload, path: str,
            problems: list[str]) -> None:
    """Record one `D=n` of a factors string (0 means the whole bound, as in Timeloop)."""
    name, value = match.group(1), int(match.group(2))
    dim = DIM_NAMES.get(name)
    if dim is None:
        problems.append(f"{path}: {name!r} is not a dim (dims: {', '.join(DIM_NAMES)})")
    elif dim in factors:
        problems.append(f"{path}: {name} is given twice")
    else:
        factors[dim] = value or workload.bound(dim)


def _keep(entry: dict, keep: frozenset[str], path: str, problems: list[str]) -> frozenset[str]:
    """Apply a datatype directive's `keep` and `bypass` lists (Timeloop data-space names)."""
    result = set(keep)
    for key in ("keep", "bypass"):
        names = entry.get(key, [])
        if not isinstance(names, list):
            problems.append(f"{path}.{key}: expected a list of data spaces, got {names!r}")
            continue
        for i, name in enumerate(names):
            tensor = DATA_SPACES.get(name)
            if tensor is None:
                problems.append(f"{path}.{key}[{i}]: {name!r} is not a data space ({', '.join(DATA_SPACES)})")
            elif key == "keep":
                result.add(tensor)
            else:
                result.discard(tensor)
    return frozenset(result)
