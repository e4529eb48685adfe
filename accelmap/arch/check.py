"""`check_arch`: every problem in a raw arch document, each prefixed by its YAML key path.

Runs before `build_arch`, which then assumes valid input (ZigZag's validate-
then-build). Problems come back in document order, e.g.
"levels[2].word-bits: expected an integer, got 'sixteen'".
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from accelmap.arch.check_constraints import FanoutFacts, LevelFacts, check_constraints
from accelmap.arch.check_values import (MAX_AREA, MAX_SIZE_BITS, at, check_keys, expect_bool, expect_int, expect_list,
                                        expect_mapping, expect_name_map, expect_names, expect_number,
                                        expect_size, expect_str, optional, require, required, suggest)
from accelmap.arch.spec import PSUM_WRITES, TENSORS
from accelmap.arch.yaml_format import (ACCOUNTING_KEYS, BANDWIDTH_KEYS, BUFFERLESS_KEYS, CAPACITY_KEYS,
                                       COMPUTE_KEYS, ENERGY_KEYS, FANOUT_KEYS, LEVEL_KEYS, PARTITION_KEYS,
                                       TOP_KEYS)


def check_arch(raw: object) -> list[str]:
    """Every problem in `raw` (a parsed arch YAML document); empty when it is valid."""
    problems: list[str] = []
    top = expect_mapping(raw, "(top level)", problems)
    if top is None:
        return problems
    check_keys(top, TOP_KEYS, "", problems)
    if "description" in top and not isinstance(top["description"], str):
        problems.append(f"description: expected text, got {top['description']!r}")
    optional(top, "clock_mhz", "", problems, expect_number, positive=True)
    levels = _check_levels(top, problems)
    fanouts = _check_fanouts(top.get("fanouts", []), levels, problems)
    if require(top, "compute", "", problems):
        _check_compute(top["compute"], problems)
    if "constraints" in top:
        check_constraints(top["constraints"], levels, fanouts, problems)
    if "accounting" in top:
        _check_accounting(top["accounting"], problems)
    return problems


def _check_accounting(value: object, problems: list[str]) -> None:
    """`accounting:` the conventions where accelmap and Timeloop differ (spec.Accounting)."""
    entry = expect_mapping(value, "accounting", problems)
    if entry is None:
        return
    check_keys(entry, ACCOUNTING_KEYS, "accounting", problems)
    optional(entry, "drain_reads", "accounting", problems, expect_bool)
    optional(entry, "halo_past_irrelevant", "accounting", problems, expect_bool)
    if entry.get("psum_writes", "write") not in PSUM_WRITES:
        problems.append(f"accounting.psum_writes: expected one of {', '.join(PSUM_WRITES)}, "
                        f"got {entry['psum_writes']!r}")


def _check_levels(top: dict, problems: list[str]) -> dict[str, LevelFacts]:
    """Check `levels:` (outermost first) and return the facts of those with a usable name."""
    if not require(top, "levels", "", problems):
        return {}
    entries = expect_list(top["levels"], "levels", problems)
    if not entries:
        if entries is not None:
            problems.append("levels: needs at least one level (DRAM)")
        return {}
    facts: dict[str, LevelFacts] = {}
    for i, raw in enumerate(entries):
        path = at("levels", i)
        level = _check_level(raw, path, i, problems)
        if level is None:
            continue
        if level.name in facts:
            problems.append(f"{at(path, 'name')}: '{level.name}' already names "
                            f"levels[{facts[level.name].index}]")
            continue
        facts[level.name] = level
    return facts


def _check_level(raw: object, path: str, index: int, problems: list[str]) -> LevelFacts | None:
    """Check one level; None when it has no usable name."""
    entry = expect_mapping(raw, path, problems)
    if entry is None:
        return None
    name = required(entry, "name", path, problems, expect_str)
    storage = optional(entry, "storage", path, problems, expect_bool, default=True)
    optional(entry, "area", path, problems, expect_number, positive=False, limit=MAX_AREA)
    if storage is False:
        _check_bufferless(entry, path, index, problems)
        return LevelFacts(name, index, False, ()) if name else None
    check_keys(entry, LEVEL_KEYS, path, problems)
    tensors = _level_tensors(entry, path, index, problems)
    word_bits = _check_word_bits(entry, path, tensors, problems)
    _check_energies(entry, path, tensors, problems)
    for key in BANDWIDTH_KEYS:
        optional(entry, key, path, problems, expect_number, positive=True)
    optional(entry, "double_buffered", path, problems, expect_bool)
    if "partitions" in entry:
        for key in CAPACITY_KEYS:
            if key in entry:
                problems.append(f"{at(path, key)}: the level has partitions; "
                                "give the capacity of each partition")
        _check_partitions(entry["partitions"], path, tensors, word_bits, problems)
    else:
        _check_capacity(entry, path, _widths(word_bits, tensors), problems, mandatory=index > 0)
    return LevelFacts(name, index, True, tensors) if name else None


def _check_bufferless(entry: dict, path: str, index: int, problems: list[str]) -> None:
    """A `storage: false` level only fans out or sequences loops: it takes no storage keys."""
    for key in entry:
        if key in BUFFERLESS_KEYS:
            continue
        if key in LEVEL_KEYS:
            problems.append(f"{at(path, key)}: a level with storage: false holds no data; remove this key")
        else:
            problems.append(f"{at(path, key)}: unknown key{suggest(key, LEVEL_KEYS)}")
    if index == 0:
        problems.append(f"{at(path, 'storage')}: the outermost level (DRAM) must store every tensor")


def _level_tensors(entry: dict, path: str, index: int, problems: list[str]) -> tuple[str, ...]:
    """The tensors a level may keep: `tensors:`, else its partitions' tensors, else all."""
    if "tensors" in entry:
        if entry["tensors"] == []:
            problems.append(f"{at(path, 'tensors')}: a storage level keeps at least one tensor "
                            "(use storage: false for a level that holds none)")
        tensors = expect_names(entry["tensors"], at(path, "tensors"), problems, TENSORS, "tensor") or ()
    elif isinstance(entry.get("partitions"), list):
        lists = [part["tensors"] for part in entry["partitions"]
                 if isinstance(part, dict) and isinstance(part.get("tensors"), list)]
        tensors = tuple(t for t in TENSORS if any(t in names for names in lists))
    else:
        tensors = TENSORS
    missing = [t for t in TENSORS if t not in tensors]
    if index == 0 and missing:
        problems.append(f"{at(path, 'tensors')}: the outermost level (DRAM) must hold every tensor; "
                        f"missing {', '.join(missing)}")
    return tensors


def _check_word_bits(entry: dict, path: str, tensors: tuple[str, ...],
                     problems: list[str]) -> dict[str, int] | None:
    """`word-bits`: one positive integer, or one per tensor; None when unusable."""
    return required(entry, "word-bits", path, problems, _per_tensor, tensors=tensors, each=expect_int)


def _check_energies(entry: dict, path: str, tensors: tuple[str, ...], problems: list[str]) -> None:
    """pJ per access, scalar or per tensor: read and write required, update optional (defaults to write)."""
    for key in ENERGY_KEYS:
        lookup = optional if key == "update_energy" else required
        lookup(entry, key, path, problems, _per_tensor, tensors=tensors, each=expect_number, positive=False)


def _per_tensor(value: object, path: str, problems: list[str], tensors: tuple[str, ...],
                each: Callable[..., Any], **options: Any) -> dict | None:
    """A scalar-or-map value, each item checked by `each(item, path, problems, **options)`.

    A map must give every one of `tensors`; returns the value per tensor, or
    None when anything is unusable.
    """
    if not isinstance(value, dict):
        checked = each(value, path, problems, **options)
        return None if checked is None else {t: checked for t in tensors}
    entry = expect_name_map(value, path, problems, TENSORS, "tensor")
    if entry is None:
        return None
    checked = {tensor: each(item, at(path, tensor), problems, **options) for tensor, item in entry.items()}
    missing = [t for t in tensors if t not in entry]
    for tensor in missing:
        problems.append(f"{path}: no value for tensor '{tensor}'")
    if missing or any(checked[t] is None for t in tensors):
        return None
    return {t: checked[t] for t in tensors}


def _widths(word_bits: dict[str, int] | None, tensors: tuple[str, ...]) -> set[int] | None:
    """The distinct word widths of `tensors`, or None when word-bits was invalid."""
    if word_bits is None:
        return None
    return {word_bits[t] for t in tensors}


def _check_partitions(value: object, path: str, tensors: tuple[str, ...],
                      word_bits: dict[str, int] | None, problems: list[str]) -> None:
    """Per-tensor sub-buffers: each of the level's tensors in exactly one, each with a capacity."""
    parts_path = at(path, "partitions")
    entries = expect_list(value, parts_path, problems)
    if entries is None:
        return
    owner: dict[str, int] = {}
    names: set[str] = set()
    for j, raw in enumerate(entries):
        part_path = at(parts_path, j)
        part = expect_mapping(raw, part_path, problems)
        if part is None:
            continue
        check_keys(part, PARTITION_KEYS, part_path, problems)
        name = required(part, "name", part_path, problems, expect_str)
        if name is not None and name in names:
            problems.append(f"{at(part_path, 'name')}: '{name}' already names a partition of this level")
        names.add(name)
        part_tensors = required(part, "tensors", part_path, problems, expect_names,
                                vocabulary=TENSORS, what="tensor") or ()
        for tensor in part_tensors:
            if tensor in owner:
                problems.append(f"{at(part_path, 'tensors')}: tensor '{tensor}' is already in "
                                f"partitions[{owner[tensor]}]")
            elif tensor not in tensors:
                problems.append(f"{at(part_path, 'tensors')}: tensor '{tensor}' is not among the "
                                f"level's tensors [{', '.join(tensors)}]")
            owner.setdefault(tensor, j)
        known = tuple(t for t in part_tensors if t in tensors)
        widths = _widths(word_bits, known) if known else None
        _check_capacity(part, part_path, widths, problems, mandatory=True)
    for tensor in tensors:
        if tensor not in owner:
            problems.append(f"{parts_path}: tensor '{tensor}' is in no partition")


def _check_capacity(entry: dict, path: str, widths: set[int] | None, problems: list[str],
                    mandatory: bool) -> None:
    """One capacity form: `capacity: 64KB`, `depth` + `width` (bits per row), or `depth` + `block-size`."""
    given = [key for key in CAPACITY_KEYS if key in entry]
    if not given:
        if mandatory:
            problems.append(f"{at(path, 'capacity')}: missing; give capacity (e.g. '64KB'), or depth "
                            "with width (bits per row) or block-size (words per row)")
        return
    if "capacity" in entry:
        if len(given) > 1:
            problems.append(f"{at(path, 'capacity')}: give either capacity or depth / width / "
                            f"block-size, not both (found {', '.join(given)})")
        expect_size(entry["capacity"], at(path, "capacity"), problems)
        return
    width = optional(entry, "width", path, problems, expect_int)
    block = optional(entry, "block-size", path, problems, expect_int)
    depth = optional(entry, "depth", path, problems, expect_int)
    row = width if width is not None else block * max(widths) if block is not None and widths else None
    if depth is not None and row is not None and depth * row > MAX_SIZE_BITS:
        problems.append(f"{at(path, 'depth')}: {depth} rows of {row} bits is more than 128TiB")
    if "depth" not in entry:
        problems.append(f"{at(path, 'depth')}: missing; give the number of rows beside {' and '.join(given)}")
    elif "width" not in entry and "block-size" not in entry:
        problems.append(f"{at(path, 'depth')}: needs width (bits per row) or block-size (words per row) "
                        "beside it")
    if block is None or not widths:
        return
    if len(widths) > 1:
        if width is None and "width" not in entry:
            problems.append(f"{at(path, 'block-size')}: its tensors have different word-bits "
                            f"({', '.join(map(str, sorted(widths)))}); give width in bits instead")
        return
    (bits,) = widths
    if width is not None and width != block * bits:
        problems.append(f"{at(path, 'width')}: {width} bits per row disagrees with block-size {block} "
                        f"x word-bits {bits} = {block * bits}")


def _check_fanouts(value: object, levels: dict[str, LevelFacts],
                   problems: list[str]) -> dict[str, FanoutFacts]:
    """Check `fanouts:`; each names its parent level and its meshX x meshY children."""
    entries = expect_list(value, "fanouts", problems)
    facts: dict[str, FanoutFacts] = {}
    parents: dict[str, str] = {}
    for i, raw in enumerate(entries or ()):
        path = at("fanouts", i)
        entry = expect_mapping(raw, path, problems)
        if entry is None:
            continue
        check_keys(entry, FANOUT_KEYS, path, problems)
        name = required(entry, "name", path, problems, expect_str)
        if name in facts or name in levels:
            problems.append(f"{at(path, 'name')}: '{name}' already names a "
                            f"{'fanout' if name in facts else 'level'}")
        parent = required(entry, "parent", path, problems, expect_str)
        if parent is not None and parent not in levels:
            problems.append(f"{at(path, 'parent')}: no level named '{parent}'{suggest(parent, list(levels))}")
        elif parent in parents:
            problems.append(f"{at(path, 'parent')}: level '{parent}' already fans out through "
                            f"'{parents[parent]}'; a level has at most one fanout below it")
        elif parent is not None:
            parents[parent] = name or path
        x = required(entry, "meshX", path, problems, expect_int)
        y = optional(entry, "meshY", path, problems, expect_int, default=1)
        for key in ("multicast", "reduction"):
            optional(entry, key, path, problems, expect_bool)
        optional(entry, "hop_energy", path, problems, expect_number, positive=False)
        if name is not None and name not in facts and name not in levels and x and y:
            facts[name] = FanoutFacts(name, x, y)
    return facts


def _check_compute(value: object, problems: list[str]) -> None:
    """The MACs below the innermost level: energy per MAC (pJ) and MACs per PE per cycle."""
    entry = expect_mapping(value, "compute", problems)
    if entry is None:
        return
    check_keys(entry, COMPUTE_KEYS, "compute", problems)
    required(entry, "mac_energy", "compute", problems, expect_number, positive=False)
    optional(entry, "macs_per_pe", "compute", problems, expect_int)
    optional(entry, "area", "compute", problems, expect_number, positive=False, limit=MAX_AREA)
