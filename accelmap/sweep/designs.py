"""Designs: points of the axes' grid, drawn whole, at random or by Latin hypercube, each an arch document.

A design sets every axis to one of its values in a copy of the base arch's
YAML document; `check_designs` runs the arch checker on each axis value
alone (so a bad value is named by its axis) and on every design (so a bad
combination is named by its design), and builds each design's `Arch`.
"""
from __future__ import annotations

import copy
import itertools
import math
import random
from dataclasses import dataclass
from typing import Any

import yaml

from accelmap.arch import build_arch, check_arch
from accelmap.arch.check_values import suggest
from accelmap.arch.spec import Arch
from accelmap.errors import SweepSpecError
from accelmap.sweep.spec import Axis, Sample, SweepSpec

MAX_PROBLEMS = 12
"""Problems listed before the rest are summarised as a count."""


@dataclass(frozen=True)
class Design:
    """One point of the design space: `choice[i]` indexes `axes[i].values`; `raw` is its arch document."""

    id: str
    choice: tuple[int, ...]
    labels: tuple[str, ...]
    raw: dict
    arch: Arch


def choose(axes: tuple[Axis, ...], sample: Sample) -> list[tuple[int, ...]]:
    """The value indices of every design to run, in run order, without repeats."""
    sizes = [len(axis.values) for axis in axes]
    if sample.method == "grid":
        return list(itertools.product(*(range(n) for n in sizes)))
    rng = random.Random(sample.seed)
    total = math.prod(sizes)
    count = sample.count or 0
    if sample.method == "random":
        picks = rng.sample(range(total), min(count, total))
        return [_unravel(index, sizes) for index in picks]
    # Latin hypercube: each axis's values spread evenly over the `count` designs, axes paired at random.
    columns = []
    for n in sizes:
        strata = [i * n // count for i in range(count)]
        rng.shuffle(strata)
        columns.append(strata)
    return list(dict.fromkeys(zip(*columns)))


def _unravel(index: int, sizes: list[int]) -> tuple[int, ...]:
    """Grid index -> value index per axis (the last axis varies fastest, as in a grid)."""
    choice = []
    for n in reversed(sizes):
        index, digit = divmod(index, n)
        choice.append(digit)
    return tuple(reversed(choice))


def check_designs(spec: SweepSpec) -> list[Design]:
    """Every design the spec asks for, each a valid arch; `SweepSpecError` naming axis or design otherwise."""
    problems: list[str] = []
    for axis in spec.axes:
        for label, value in zip(axis.labels, axis.values):
            raw = copy.deepcopy(spec.base_raw)
            missing = _apply(raw, axis, value)
            if missing:
                problems.append(f"axes.{axis.name}.{'keys' if len(axis.keys) > 1 else 'key'}: {missing}")
                break
            problems.extend(f"axes.{axis.name}.values[{label}]: the arch it makes is invalid: {p}"
                            for p in check_arch(raw))
    if problems:
        raise SweepSpecError(spec.source, _capped(problems))
    choices = choose(spec.axes, spec.sample)
    if not choices:
        raise SweepSpecError(spec.source, ["sample.count: no design to run; give a positive count"])
    designs = []
    width = len(str(len(choices) - 1))
    for n, choice in enumerate(choices):
        raw = copy.deepcopy(spec.base_raw)
        for axis, index in zip(spec.axes, choice):
            _apply(raw, axis, axis.values[index])
        labels = tuple(axis.labels[i] for axis, i in zip(spec.axes, choice))
        design_id = f"d{n:0{width}d}"
        wrong = check_arch(raw)
        if wrong:
            named = ", ".join(f"{a.name}={label}" for a, label in zip(spec.axes, labels))
            problems.extend(f"design {design_id} ({named}): the arch it makes is invalid: {p}" for p in wrong)
            continue
        designs.append(Design(design_id, choice, labels, raw, build_arch(raw, name=spec.base_name)))
    if problems:
        raise SweepSpecError(spec.source, _capped(problems))
    return designs


def _capped(problems: list[str]) -> list[str]:
    if len(problems) <= MAX_PROBLEMS:
        return problems
    return problems[:MAX_PROBLEMS] + [f"... and {len(problems) - MAX_PROBLEMS} more"]


def _apply(raw: dict, axis: Axis, value: tuple[Any, ...]) -> str:
    """Set each of the axis's keys in `raw`; '' when done, else which key path does not exist and why."""
    for key, item in zip(axis.keys, value):
        try:
            set_key(raw, key, copy.deepcopy(item))
        except KeyError as err:
            return f"{key}: {err.args[0]}"
    return ""


def set_key(raw: dict, key: str, value: Any) -> None:
    """Set the dotted arch key path `key` in `raw` to `value`; KeyError saying what is missing.

    List entries are picked by name (`levels.GLB`, `fanouts.PE_array`,
    `levels.PE.partitions.ifmap_spad`, constraint entries by their `level`
    or `fanout`), or by index (`levels.1`). The last part may be a key the
    base arch does not give yet (the arch checker judges it).
    """
    parts = key.split(".")
    node: Any = raw
    for depth, part in enumerate(parts[:-1]):
        node = _child(node, part, ".".join(parts[:depth]) or "the base arch")
    if not isinstance(node, dict):
        raise KeyError(f"{'.'.join(parts[:-1])} is {'a list' if isinstance(node, list) else 'a value'}, "
                       f"not a mapping with a key {parts[-1]!r}")
    node[parts[-1]] = value


def _child(node: Any, part: str, where: str) -> Any:
    """The entry `part` of a mapping or list; KeyError naming `where` and the nearest names otherwise."""
    if isinstance(node, dict):
        if part in node:
            return node[part]
        raise KeyError(f"{where} has no {part!r}{suggest(part, [str(k) for k in node])}")
    if not isinstance(node, list):
        raise KeyError(f"{where} is a value, not a mapping with {part!r}")
    if part.isdigit():
        if int(part) < len(node):
            return node[int(part)]
        raise KeyError(f"{where} has {len(node)} entries, no entry {part}")
    names = [_entry_name(entry) for entry in node]
    matches = [entry for entry, name in zip(node, names) if name == part]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise KeyError(f"{where} has several entries called {part!r}; pick one by index")
    known = [n for n in names if n]
    raise KeyError(f"{where} has no entry {part!r}{suggest(part, known) or '; entries: ' + ', '.join(known)}")


def _entry_name(entry: Any) -> str:
    """What a list entry is called: its `name`, or a constraint's `level` / `fanout`."""
    if not isinstance(entry, dict):
        return ""
    return str(entry.get("name", entry.get("level", entry.get("fanout", ""))))


def design_yaml(design: Design, spec: SweepSpec) -> str:
    """`design` as an arch YAML file `accelmap compile --arch` reads (the base document, axes applied)."""
    named = ", ".join(f"{axis.name}={label}" for axis, label in zip(spec.axes, design.labels))
    header = (f"# Design {design.id} of sweep {spec.name!r}: {named}\n"
              f"# The base arch {spec.base!r} with these axis values applied (keys: "
              + "; ".join(",".join(axis.keys) for axis in spec.axes) + ").\n")
    return header + yaml.safe_dump(design.raw, sort_keys=False, default_flow_style=None, width=110)
