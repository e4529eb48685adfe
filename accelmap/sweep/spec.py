"""The sweep spec: a base arch, axes to vary, how to sample them, models, objectives, search settings.

`load_spec` reads SPEC.yaml and checks every field before any work starts:
each problem is one line naming its key path (`axes.glb.key: ...`), and all
of them travel in one `SweepSpecError`. Checking the arch values each axis
and design produce is `designs.check_designs`' job; this module checks the
spec's own shape.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accelmap.arch.check_values import (at, check_keys, expect_bool, expect_int, expect_list, expect_mapping,
                                        expect_names, expect_number, expect_str, optional, required, show,
                                        unknown_name)
from accelmap.arch.load import PRESET_DIR, read_yaml
from accelmap.errors import ArchError, SweepSpecError
from accelmap.mapper.model import OBJECTIVES

SPEC_KEYS = ("name", "arch", "models", "objectives", "axes", "sample", "search")
AXIS_KEYS = ("key", "keys", "values")
SAMPLE_KEYS = ("method", "count", "seed")
SEARCH_KEYS = ("time_limit", "padding", "tie_break")
METHODS = ("grid", "random", "latin-hypercube")


@dataclass(frozen=True)
class Axis:
    """One thing to vary: the arch keys it sets together and its values, each with a label.

    `keys` are dotted paths into the arch YAML (`levels.GLB.depth`); list
    entries are picked by their `name` (or `level` / `fanout` for
    constraints) or by index. `values[i]` holds one value per key;
    `labels[i]` names it in the table (the value itself, or the name given
    to a named alternative).
    """

    name: str
    keys: tuple[str, ...]
    labels: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...]


@dataclass(frozen=True)
class Sample:
    """Which designs of the grid to run: all of them, or `count` drawn with `seed`."""

    method: str = "grid"
    count: int | None = None
    seed: int = 0


@dataclass(frozen=True)
class SearchSettings:
    """The mapper's settings for every task of the sweep."""

    time_limit: float = 30.0
    padding: bool = False
    tie_break: bool = True


@dataclass(frozen=True)
class SweepSpec:
    """A checked sweep spec. `base_raw` is the base arch's YAML document, `base_name` its arch name;
    `source` names the spec in messages (its file)."""

    name: str
    base: str
    base_name: str
    base_raw: dict
    models: tuple[str, ...]
    objectives: tuple[str, ...]
    axes: tuple[Axis, ...]
    sample: Sample
    search: SearchSettings
    source: str = "sweep spec"


def load_spec(path: str | Path) -> SweepSpec:
    """Read and check SPEC.yaml; relative arch and model paths are taken from the spec's directory."""
    path = Path(path)
    if not path.is_file():
        raise SweepSpecError(str(path), ["no such file; give a sweep spec YAML (see README, 'Design sweeps')"])
    try:
        raw = read_yaml(path, str(path))
    except ArchError as err:
        raise SweepSpecError(str(path), err.problems) from None
    return parse_spec(raw, str(path), path.parent, default_name=path.stem)


def parse_spec(raw: object, label: str, root: Path, default_name: str = "sweep") -> SweepSpec:
    """Check a parsed spec document and build the `SweepSpec`; raise `SweepSpecError` with every problem."""
    problems: list[str] = []
    top = expect_mapping(raw, "(top level)", problems)
    if top is None:
        raise SweepSpecError(label, problems)
    check_keys(top, SPEC_KEYS, "", problems)
    name = optional(top, "name", "", problems, expect_str, default=default_name)
    base = required(top, "arch", "", problems, expect_str)
    base_name, base_raw = _base_arch(base, root, problems) if base else ("", {})
    models = _models(top, root, problems)
    objectives = _objectives(top.get("objectives", ["energy"]), problems)
    axes = _axes(top, problems)
    sample = _sample(top.get("sample", "grid"), problems)
    search = _search(top.get("search", {}), problems)
    if problems:
        raise SweepSpecError(label, problems)
    return SweepSpec(name or default_name, base or "", base_name, base_raw, models, objectives, axes, sample, search,
                     label)


def _base_arch(source: str, root: Path, problems: list[str]) -> tuple[str, dict]:
    """The base arch's name and raw document: a file (relative to the spec) or a preset."""
    from accelmap.arch import load_arch

    candidates = [root / source, Path(source), PRESET_DIR / f"{source}.yaml"]
    path = next((p for p in candidates if p.is_file()), None)
    try:
        load_arch(path or source)             # an unknown name raises, listing the presets
        return path.stem, read_yaml(path, source)
    except ArchError as err:
        problems.extend(f"arch: {problem}" for problem in err.problems)
        return "", {}


def _models(top: dict, root: Path, problems: list[str]) -> tuple[str, ...]:
    """Bundled network names or ONNX paths (relative to the spec's directory), at least one."""
    from accelmap import zoo

    items = required(top, "models", "", problems, expect_list)
    if items is None:
        return ()
    if not items:
        problems.append("models: empty; give at least one bundled network name or ONNX file")
    models = []
    for i, item in enumerate(items):
        name = expect_str(item, at("models", i), problems)
        if name is None:
            continue
        local = root / name
        if local.is_file():
            models.append(str(local))
        elif Path(name).is_file() or name in zoo.names():
            models.append(name)
        else:
            problems.append(f"{at('models', i)}: {show(name)} is neither a file nor a bundled network "
                            f"({', '.join(zoo.names())})")
    return tuple(models)


def _objectives(value: object, problems: list[str]) -> tuple[str, ...]:
    """One or more of OBJECTIVES, each once."""
    found = expect_names(value, "objectives", problems, OBJECTIVES, "objective")
    if found == ():
        problems.append("objectives: empty; give one or more of " + ", ".join(OBJECTIVES))
    return found or ()


def _axes(top: dict, problems: list[str]) -> tuple[Axis, ...]:
    """Every axis: `key` (one path) or `keys` (several set together), and a non-empty `values`."""
    entries = required(top, "axes", "", problems, expect_mapping)
    if entries is None:
        return ()
    if not entries:
        problems.append("axes: empty; give at least one axis to vary (for a single design use `accelmap compile`)")
    axes = []
    for name, entry in entries.items():
        path = at("axes", name)
        entry = expect_mapping(entry, path, problems)
        if entry is None:
            continue
        check_keys(entry, AXIS_KEYS, path, problems)
        keys = _axis_keys(entry, path, problems)
        parsed = _axis_values(entry, path, len(keys), problems) if keys else None
        if parsed is not None:
            axes.append(Axis(name, keys, *parsed))
    return tuple(axes)


def _axis_keys(entry: dict, path: str, problems: list[str]) -> tuple[str, ...]:
    if ("key" in entry) == ("keys" in entry):
        problems.append(f"{path}: give either `key` (one arch key path) or `keys` (several set together)")
        return ()
    if "key" in entry:
        key = expect_str(entry["key"], at(path, "key"), problems)
        return (key,) if key else ()
    items = expect_list(entry["keys"], at(path, "keys"), problems) or []
    keys = tuple(k for i, k in enumerate(items) if expect_str(k, at(at(path, "keys"), i), problems))
    if not items:
        problems.append(f"{at(path, 'keys')}: empty; list the arch key paths this axis sets")
    return keys if len(keys) == len(items) else ()


def _axis_values(entry: dict, path: str, width: int,
                 problems: list[str]) -> tuple[tuple[str, ...], tuple[tuple[Any, ...], ...]] | None:
    """(labels, values): a list of values, or a mapping label -> value (named alternatives)."""
    where = at(path, "values")
    if "values" not in entry:
        problems.append(f"{where}: missing required key")
        return None
    raw = entry["values"]
    if isinstance(raw, dict):
        pairs = [(str(label), value) for label, value in raw.items()]
    elif isinstance(raw, list):
        pairs = [(_label(value), value) for value in raw]
    else:
        problems.append(f"{where}: expected a list of values or a mapping of named alternatives, got {show(raw)}")
        return None
    if not pairs:
        problems.append(f"{where}: empty; give at least one value")
        return None
    values = []
    for (label, value), index in zip(pairs, raw if isinstance(raw, dict) else range(len(pairs))):
        if width == 1:
            values.append((value,))
        elif isinstance(value, list) and len(value) == width:
            values.append(tuple(value))
        else:
            problems.append(f"{at(where, index)}: the axis sets {width} keys; expected a list of {width} values, "
                            f"got {show(value)}")
    labels = [label for label, _ in pairs]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        problems.append(f"{where}: {', '.join(repeated)} listed twice")
    return (tuple(labels), tuple(values)) if len(values) == len(pairs) and not repeated else None


def _label(value: object) -> str:
    """The table label of an unnamed value: 12, 32KB, 12x14 for a pair."""
    if isinstance(value, list) and all(isinstance(v, (int, float, str)) for v in value):
        return "x".join(str(v) for v in value)
    return str(value)


def _sample(value: object, problems: list[str]) -> Sample:
    """`grid`, or {method: random | latin-hypercube, count: N, seed: S}."""
    if value == "grid":
        return Sample()
    entry = expect_mapping(value, "sample", problems)
    if entry is None:
        return Sample()
    check_keys(entry, SAMPLE_KEYS, "sample", problems)
    method = optional(entry, "method", "sample", problems, expect_str, default="grid")
    if method not in METHODS:
        problems.append(f"sample.method: {unknown_name(method, METHODS, 'sampling method')}")
        return Sample()
    count = optional(entry, "count", "sample", problems, expect_int)
    seed = optional(entry, "seed", "sample", problems, expect_int, default=0, positive=False)
    if method == "grid" and count is not None:
        problems.append("sample.count: a grid runs every design; give a count only with random or latin-hypercube")
    if method != "grid" and "count" not in entry:
        problems.append(f"sample.count: missing; say how many designs {method} sampling draws")
    return Sample(method, count, seed if seed is not None else 0)


def _search(value: object, problems: list[str]) -> SearchSettings:
    entry = expect_mapping(value, "search", problems)
    if entry is None:
        return SearchSettings()
    check_keys(entry, SEARCH_KEYS, "search", problems)
    limit = optional(entry, "time_limit", "search", problems, expect_number, default=30.0, positive=True)
    padding = optional(entry, "padding", "search", problems, expect_bool, default=False)
    tie_break = optional(entry, "tie_break", "search", problems, expect_bool, default=True)
    return SearchSettings(limit or 30.0, bool(padding), tie_break is not False)
