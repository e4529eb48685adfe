"""`build_arch`: a checked arch document to an `Arch`; assumes `check_arch` found no problem.

Energies arrive in pJ (floats) and leave as integer fJ; capacities leave in
bits; `constraints:` entries become `LevelConstraint` / `FanoutConstraint`,
except the per-axis dims a fanout allows, which live on the `Fanout`.
"""
from __future__ import annotations

from accelmap.arch.spec import (Accounting, Arch, Compute, Fanout, FanoutConstraint, Level, LevelConstraint,
                                Partition, TensorCost, TENSORS)
from accelmap.arch.yaml_format import FANOUT_FACTOR_KEYS, capacity_bits, per_tensor, to_fj


def build_arch(raw: dict, name: str) -> Arch:
    """The `Arch` called `name` described by the valid document `raw`."""
    constraints = raw.get("constraints", [])
    by_fanout = {entry["fanout"]: entry for entry in constraints if "fanout" in entry}
    compute = raw["compute"]
    return Arch(
        name=name,
        levels=tuple(_level(entry) for entry in raw["levels"]),
        fanouts=tuple(_fanout(entry, by_fanout.get(entry["name"], {})) for entry in raw.get("fanouts", [])),
        compute=Compute(macs_per_pe=compute.get("macs_per_pe", 1), mac_energy=to_fj(compute["mac_energy"]),
                        area=_optional_float(compute.get("area"))),
        clock_mhz=float(raw.get("clock_mhz", 1000.0)),
        level_constraints=tuple(_level_constraint(entry) for entry in constraints if "level" in entry),
        fanout_constraints=tuple(_fanout_constraint(entry) for entry in by_fanout.values()
                                 if any(entry.get(k) for k in FANOUT_FACTOR_KEYS)),
        description=raw.get("description", "").strip(),
        accounting=Accounting(**raw.get("accounting", {})),
    )


def _level(entry: dict) -> Level:
    """One storage level, or a buffer-less one (`storage: false`: no capacity, keeps nothing)."""
    if entry.get("storage", True) is False:
        return Level(name=entry["name"], capacity_bits=0, tensors={}, keeps=frozenset(), storage=False,
                     area=_optional_float(entry.get("area")))
    tensors = _tensors(entry)
    word_bits = per_tensor(entry["word-bits"], tensors)
    read, write = per_tensor(entry["read_energy"], tensors), per_tensor(entry["write_energy"], tensors)
    update = per_tensor(entry.get("update_energy", entry["write_energy"]), tensors)
    costs = {t: TensorCost(word_bits=word_bits[t], read_energy=to_fj(read[t]),
                           write_energy=to_fj(write[t]), update_energy=to_fj(update[t]))
             for t in tensors}
    partitions = tuple(
        Partition(name=part["name"], tensors=frozenset(part["tensors"]),
                  capacity_bits=capacity_bits(part, {word_bits[t] for t in part["tensors"]}))
        for part in entry.get("partitions", []))
    capacity = (sum(part.capacity_bits for part in partitions) if partitions
                else capacity_bits(entry, set(word_bits.values())))
    return Level(
        name=entry["name"],
        capacity_bits=capacity,
        tensors=costs,
        keeps=frozenset(tensors),
        partitions=partitions,
        double_buffered=entry.get("double_buffered", False),
        read_bandwidth=_optional_float(entry.get("read_bandwidth")),
        write_bandwidth=_optional_float(entry.get("write_bandwidth")),
        area=_optional_float(entry.get("area")),
    )


def _tensors(entry: dict) -> tuple[str, ...]:
    """The level's tensors in canonical order: `tensors:`, else its partitions', else all."""
    if "tensors" in entry:
        named = set(entry["tensors"])
    elif "partitions" in entry:
        named = {t for part in entry["partitions"] for t in part["tensors"]}
    else:
        named = set(TENSORS)
    return tuple(t for t in TENSORS if t in named)


def _optional_float(value: float | int | None) -> float | None:
    """A bandwidth or area as float, None (unlimited, unknown) when absent."""
    return None if value is None else float(value)


def _fanout(entry: dict, constraint: dict) -> Fanout:
    """A fanout with the dims its constraint entry allows on each axis."""
    return Fanout(
        name=entry["name"],
        parent=entry["parent"],
        x=entry["meshX"],
        y=entry.get("meshY", 1),
        multicast=entry.get("multicast", True),
        reduction=entry.get("reduction", True),
        hop_energy=to_fj(entry.get("hop_energy", 0.0)),
        x_dims=frozenset(constraint["x_dims"]) if "x_dims" in constraint else None,
        y_dims=frozenset(constraint["y_dims"]) if "y_dims" in constraint else None,
    )


def _level_constraint(entry: dict) -> LevelConstraint:
    """Temporal factors and their bounds, loop order and keep / bypass at one level."""
    return LevelConstraint(
        level=entry["level"],
        factors=dict(entry.get("factors", {})),
        max_factors=dict(entry.get("max_factors", {})),
        min_factors=dict(entry.get("min_factors", {})),
        permutation=tuple(entry.get("permutation", ())),
        innermost_loops=tuple(entry.get("innermost_loops", ())),
        keep=frozenset(entry.get("keep", ())),
        bypass=frozenset(entry.get("bypass", ())),
    )


def _fanout_constraint(entry: dict) -> FanoutConstraint:
    """Fixed spatial factors and bounds on them, per axis, at one fanout."""
    return FanoutConstraint(fanout=entry["fanout"], **{key: dict(entry.get(key, {})) for key in FANOUT_FACTOR_KEYS})
