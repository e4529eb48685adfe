"""Check the `constraints:` section against the levels and fanouts already checked.

Each entry names a `level` (temporal factors and their bounds, permutation
or innermost loops, keep / bypass) or a `fanout` (per axis: the dims
allowed, fixed spatial factors, bounds on them);
references to missing levels, fanouts, dims or tensors and contradictory
entries are reported with their key path.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from accelmap.arch.check_values import (at, check_keys, expect_list, expect_mapping, expect_name_map,
                                        expect_names, expect_int, expect_str, suggest)
from accelmap.arch.spec import DIMS, TENSORS
from accelmap.arch.yaml_format import FANOUT_CONSTRAINT_KEYS, LEVEL_CONSTRAINT_KEYS


@dataclass(frozen=True)
class LevelFacts:
    """What constraint checking needs to know about one valid-enough level."""

    name: str
    index: int
    storage: bool
    tensors: tuple[str, ...]


@dataclass(frozen=True)
class FanoutFacts:
    """What constraint checking needs to know about one valid-enough fanout."""

    name: str
    x: int
    y: int


def check_constraints(value: object, levels: dict[str, LevelFacts], fanouts: dict[str, FanoutFacts],
                      problems: list[str]) -> None:
    """Check every entry of `constraints:`; `levels` / `fanouts` are the names defined above."""
    entries = expect_list(value, "constraints", problems)
    if entries is None:
        return
    seen: dict[str, str] = {}
    for i, raw in enumerate(entries):
        path = at("constraints", i)
        entry = expect_mapping(raw, path, problems)
        if entry is None:
            continue
        if ("level" in entry) == ("fanout" in entry):
            problems.append(f"{path}: give exactly one of 'level' (temporal) or 'fanout' (spatial)")
            continue
        kind = "level" if "level" in entry else "fanout"
        target = expect_str(entry[kind], at(path, kind), problems)
        if target is not None and target in seen:
            problems.append(f"{at(path, kind)}: '{target}' is already constrained by {seen[target]}; "
                            "merge the two entries")
        elif target is not None:
            seen[target] = path
        if kind == "level":
            _check_level_constraint(entry, path, target, levels, problems)
        else:
            _check_fanout_constraint(entry, path, target, fanouts, problems)


def _check_level_constraint(entry: dict, path: str, target: str | None,
                            levels: dict[str, LevelFacts], problems: list[str]) -> None:
    """Temporal constraints: `factors` (0 = the whole remaining bound) and their bounds, `permutation` or
    `innermost_loops`, `keep`, `bypass`."""
    check_keys(entry, LEVEL_CONSTRAINT_KEYS, path, problems)
    level = levels.get(target) if target is not None else None
    if target is not None and level is None:
        problems.append(f"{at(path, 'level')}: no level named '{target}'{suggest(target, list(levels))}")
    _check_factor_bounds(entry, path, "", _factors(entry, "factors", path, problems), problems)
    for key in ("permutation", "innermost_loops"):
        if key in entry:
            expect_names(entry[key], at(path, key), problems, DIMS, "dim")
    if "permutation" in entry and "innermost_loops" in entry:
        problems.append(f"{at(path, 'innermost_loops')}: give either permutation (a relative order) or "
                        "innermost_loops (the level's innermost loops, the rest outside), not both")
    keep = _tensor_set(entry, "keep", path, problems)
    bypass = _tensor_set(entry, "bypass", path, problems)
    for tensor in sorted(keep & bypass, key=TENSORS.index):
        problems.append(f"{at(path, 'bypass')}: tensor '{tensor}' is also in keep; a level either "
                        "keeps or bypasses a tensor")
    if level is None or not (keep or bypass):
        return
    if not level.storage:
        problems.append(f"{path}: level '{level.name}' has storage: false and holds no tensor; "
                        "remove keep / bypass")
        return
    for tensor in sorted(keep - set(level.tensors), key=TENSORS.index):
        problems.append(f"{at(path, 'keep')}: tensor '{tensor}' is not among level '{level.name}''s "
                        f"tensors [{', '.join(level.tensors)}]")
    if level.index == 0 and bypass:
        problems.append(f"{at(path, 'bypass')}: the outermost level '{level.name}' must keep every tensor")


def _factors(entry: dict, key: str, path: str, problems: list[str], zero: bool = True) -> dict[str, int]:
    """The valid items of a dim -> factor map under `key` (0 allowed when `zero`: the whole remaining bound)."""
    if key not in entry:
        return {}
    factors = expect_name_map(entry[key], at(path, key), problems, DIMS, "dim") or {}
    return {dim: f for dim, f in factors.items()
            if expect_int(f, at(at(path, key), dim), problems, positive=not zero) is not None}


def _check_factor_bounds(entry: dict, path: str, axis: str, fixed: dict[str, int], problems: list[str],
                         size: int | None = None) -> None:
    """`<axis>max_factors` / `<axis>min_factors`: positive, min <= max (and the axis size), a fixed factor
    within them."""
    most = _factors(entry, f"{axis}max_factors", path, problems, zero=False)
    least = _factors(entry, f"{axis}min_factors", path, problems, zero=False)
    for dim in DIMS:
        low, high, exact = least.get(dim, 1), most.get(dim), fixed.get(dim)
        if high is not None and low > high:
            problems.append(f"{at(at(path, f'{axis}min_factors'), dim)}: {low} is above "
                            f"{axis}max_factors {dim} = {high}")
        elif size is not None and low > size:
            problems.append(f"{at(at(path, f'{axis}min_factors'), dim)}: {low} is more than the axis's {size} PEs")
        elif exact and (exact < low or (high is not None and exact > high)):
            problems.append(f"{at(at(path, f'{axis}factors'), dim)}: {exact} is outside {axis}min_factors / "
                            f"{axis}max_factors [{low}, {high if high is not None else 'any'}]")


def _tensor_set(entry: dict, key: str, path: str, problems: list[str]) -> frozenset[str]:
    """The tensors listed under `key` (empty when absent or invalid)."""
    if key not in entry:
        return frozenset()
    return frozenset(expect_names(entry[key], at(path, key), problems, TENSORS, "tensor") or ())


def _check_fanout_constraint(entry: dict, path: str, target: str | None,
                             fanouts: dict[str, FanoutFacts], problems: list[str]) -> None:
    """Spatial constraints per axis: dims allowed, fixed factors (0 = the whole remaining bound) that must
    respect them and fit, and bounds on a dim's factor."""
    check_keys(entry, FANOUT_CONSTRAINT_KEYS, path, problems)
    fanout = fanouts.get(target) if target is not None else None
    if target is not None and fanout is None:
        problems.append(f"{at(path, 'fanout')}: no fanout named '{target}'{suggest(target, list(fanouts))}")
    for axis in ("x", "y"):
        allowed = None
        if f"{axis}_dims" in entry:
            allowed = expect_names(entry[f"{axis}_dims"], at(path, f"{axis}_dims"), problems, DIMS, "dim")
        key_path = at(path, f"{axis}_factors")
        valid = _factors(entry, f"{axis}_factors", path, problems)
        for dim in valid:
            if allowed is not None and dim not in allowed:
                problems.append(f"{at(key_path, dim)}: dim {dim} is fixed on {axis.upper()} but "
                                f"{axis}_dims allows only [{', '.join(allowed)}]")
        size = None if fanout is None else (fanout.x if axis == "x" else fanout.y)
        product = math.prod(f for f in valid.values() if f)
        if size is not None and product > size:
            problems.append(f"{key_path}: factors multiply to {product}, more than "
                            f"the {size} PEs on {axis.upper()} of fanout '{fanout.name}'")
        _check_factor_bounds(entry, path, f"{axis}_", valid, problems, size)
