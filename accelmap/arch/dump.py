"""Write an `Arch` as accelmap's own YAML (docs/arch-format.md); `load_arch` reads it back to an equal Arch."""
from __future__ import annotations

import yaml

from dataclasses import asdict

from accelmap.arch.spec import DIMS, TENSORS, Accounting, Arch, Level, LevelConstraint
from accelmap.arch.yaml_format import FANOUT_FACTOR_KEYS


def arch_to_yaml(arch: Arch) -> str:
    """`arch` in accelmap's own YAML format (docs/arch-format.md); `load_arch` reads it back to an equal Arch."""
    # No description stays none: the loader reads an absent one as "", so the arch reads back equal.
    raw: dict = {"description": arch.description} if arch.description else {}
    raw |= {"clock_mhz": arch.clock_mhz, "levels": [_level_entry(level) for level in arch.levels]}
    if arch.fanouts:
        raw["fanouts"] = [{"name": f.name, "parent": f.parent, "meshX": f.x, "meshY": f.y, "multicast": f.multicast,
                           "reduction": f.reduction, "hop_energy": f.hop_energy / 1000} for f in arch.fanouts]
    raw["compute"] = {"mac_energy": arch.compute.mac_energy / 1000, "macs_per_pe": arch.compute.macs_per_pe}
    if arch.compute.area is not None:
        raw["compute"]["area"] = arch.compute.area
    constraints = [_level_constraint(c) for c in arch.level_constraints] + _fanout_constraints(arch)
    if constraints:
        raw["constraints"] = constraints
    if arch.accounting != Accounting():
        raw["accounting"] = asdict(arch.accounting)
    return yaml.safe_dump(raw, sort_keys=False, default_flow_style=None, width=110)


def _level_entry(level: Level) -> dict:
    """A level as a document entry: tensors, widths, capacity or partitions, energies, bandwidths."""
    area = {} if level.area is None else {"area": level.area}
    if not level.storage:
        return {"name": level.name, "storage": False, **area}
    entry: dict = {"name": level.name}
    if set(level.tensors) != set(TENSORS):
        entry["tensors"] = list(level.tensors)
    entry["word-bits"] = _uniform({t: c.word_bits for t, c in level.tensors.items()})
    if level.partitions:
        entry["partitions"] = [{"name": p.name, "tensors": [t for t in TENSORS if t in p.tensors],
                                **_rows(p.capacity_bits, [level.tensors[t].word_bits for t in p.tensors])}
                               for p in level.partitions]
    elif level.capacity_bits is not None:
        entry.update(_rows(level.capacity_bits, [c.word_bits for c in level.tensors.values()]))
    for key in ("read_energy", "write_energy", "update_energy"):
        entry[key] = _uniform({t: getattr(c, key) / 1000 for t, c in level.tensors.items()})
    for key in ("read_bandwidth", "write_bandwidth"):
        if getattr(level, key) is not None:
            entry[key] = getattr(level, key)
    if level.double_buffered:
        entry["double_buffered"] = True
    return {**entry, **area}


def _rows(bits: int, word_bits: list[int]) -> dict:
    """depth x width covering exactly `bits`, rows one (widest) word wide when that divides."""
    width = max(word_bits)
    return {"depth": bits // width, "width": width} if bits % width == 0 else {"depth": bits, "width": 1}


def _uniform(values: dict[str, object]) -> object:
    """One value when every tensor has the same, else the per-tensor map."""
    distinct = set(values.values())
    return distinct.pop() if len(distinct) == 1 else values


def _level_constraint(c: LevelConstraint) -> dict:
    """A `LevelConstraint` as a constraints entry."""
    entry: dict = {"level": c.level}
    for key in ("factors", "max_factors", "min_factors"):
        if getattr(c, key):
            entry[key] = dict(getattr(c, key))
    for key in ("permutation", "innermost_loops"):
        if getattr(c, key):
            entry[key] = list(getattr(c, key))
    for key in ("keep", "bypass"):
        if getattr(c, key):
            entry[key] = [t for t in TENSORS if t in getattr(c, key)]
    return entry


def _fanout_constraints(arch: Arch) -> list[dict]:
    """One constraints entry per fanout that restricts dims or fixes factors."""
    fixed = {c.fanout: c for c in arch.fanout_constraints}
    entries = []
    for f in arch.fanouts:
        entry: dict = {"fanout": f.name}
        for key, dims in (("x_dims", f.x_dims), ("y_dims", f.y_dims)):
            if dims is not None:
                entry[key] = [d for d in DIMS if d in dims]
        for key in FANOUT_FACTOR_KEYS:
            if f.name in fixed and getattr(fixed[f.name], key):
                entry[key] = dict(getattr(fixed[f.name], key))
        if len(entry) > 1:
            entries.append(entry)
    return entries
