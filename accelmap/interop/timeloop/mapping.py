"""Timeloop mapping files: read into a `Mapping` for a given `Arch`, and a `Mapping` written as one.

A mapping's `permutation` is read inner to outer, as Timeloop writes it; on a
spatial entry the first `split` dims of the permutation go to X, the rest to
Y. Every problem is reported with its key path in one `MappingError`. The
writer gives every component (`components.components`) a `temporal` entry, a
`spatial` entry where a fanout hangs below it and a `datatype` entry, with
factors for every dim and permutations inner to outer.
"""
from __future__ import annotations

import re
from pathlib import Path

from accelmap.arch.spec import TENSORS, Arch
from accelmap.errors import MappingError
from accelmap.interop.timeloop.components import components
from accelmap.interop.timeloop.names import DATA_SPACES, DIM_NAMES, TIMELOOP_DIMS, read_yaml
from accelmap.interop.timeloop.problem import problem_dims
from accelmap.interop.timeloop.yaml_text import dump
from accelmap.ir.workload import DIMS, TENSOR_NAMES, Workload
from accelmap.mapper.mapping import Loop, Mapping, SpatialLoops

_FACTOR = re.compile(r"\s*([A-Za-z]+)\s*=?\s*(\d+)\s*")


def load_timeloop_mapping(path: str | Path, arch: Arch, workload: Workload) -> Mapping:
    """The `Mapping` of a Timeloop mapping YAML file for `workload` on `arch`."""
    return mapping_from_timeloop(read_yaml(path, "mapping"), arch, workload, str(path))


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


def mapping_to_timeloop(workload: Workload, arch: Arch, mapping: Mapping, *, one_stage: bool = False) -> str:
    """The mapping YAML for `arch_to_timeloop`'s components (permutations inner to outer).

    With `one_stage`, for a design imported from Timeloop, whose fanouts are
    single components with a mesh: each fanout is one spatial entry, its X
    dims first and `split` after them (a dim unrolled over both X and Y
    cannot be written so: MappingError).
    """
    dims = problem_dims(workload)
    entries = []
    for comp in components(arch):
        if comp.y_of is not None and one_stage:
            continue
        loops = mapping.temporal[comp.level] if comp.innermost else ()
        entries.append(_directive(comp.name, "temporal", loops, dims))
        if comp.y_of is not None:
            fan = mapping.spatial[arch.fanouts.index(arch.fanout_below(comp.y_of))]
            entries.append(_directive(comp.name, "spatial", fan.y, dims, split=0))
            entries.append(_datatype(comp.name, frozenset()))
            continue
        fanout = arch.fanout_below(comp.level) if comp.innermost else None
        if fanout is not None and fanout.x * fanout.y > 1:   # a 1 x 1 fanout is none to Timeloop
            fan = mapping.spatial[arch.fanouts.index(fanout)]
            if one_stage:
                entries.append(_one_stage(comp.name, fan.x, fan.y, dims))
            else:
                two_stage = fanout.x > 1 and fanout.y > 1
                loops, split = (fan.x, len(dims)) if two_stage else (fan.x + fan.y, len(fan.x))
                entries.append(_directive(comp.name, "spatial", loops, dims, split=split))
        entries.append(_datatype(comp.name, mapping.keep[comp.level] & comp.tensors))
    return dump({"mapping": entries})


def _one_stage(target: str, x: tuple[Loop, ...], y: tuple[Loop, ...], dims: list[str]) -> dict:
    """One spatial entry for a mesh: X loops (inner to outer) before `split`, then Y loops and the rest."""
    both = {loop.dim for loop in x} & {loop.dim for loop in y}
    if both:
        raise MappingError([f"{target}: {', '.join(sorted(both))} unrolled over both X and Y; one Timeloop "
                            "spatial entry gives a dim one factor"])
    return _directive(target, "spatial", y + x, dims, split=len(x))


def _directive(target: str, kind: str, loops: tuple[Loop, ...], dims: list[str], split: int | None = None) -> dict:
    """A temporal or spatial entry: every dim's factor, and the permutation inner to outer."""
    factors = {loop.dim: loop.factor for loop in loops}
    if len(factors) != len(loops):
        raise MappingError([f"{target}: a {kind} level has two loops over one dim; "
                            "Timeloop allows one per dim and level"])
    order = [loop.dim for loop in reversed(loops)] + [d for d in dims if d not in factors]
    entry: dict = {"target": target, "type": kind,
                   "factors": " ".join(f"{TIMELOOP_DIMS[d]}={factors.get(d, 1)}" for d in dims),
                   "permutation": "".join(TIMELOOP_DIMS[d] for d in order)}
    if split is not None:
        entry["split"] = split
    return entry


def _datatype(target: str, keep: frozenset[str]) -> dict:
    """A datatype entry: the data spaces kept and bypassed at one component."""
    return {"target": target, "type": "datatype",
            "keep": [TENSOR_NAMES[t] for t in TENSORS if t in keep],
            "bypass": [TENSOR_NAMES[t] for t in TENSORS if t not in keep]}
