"""Seeded random arch documents (the YAML format as dicts) of shapes nobody wrote by hand: one to four
on-chip levels, storage-less levels, single-tensor buffers, partitions, double buffering at odd sizes,
mixed word widths, bandwidths, fanouts with and without multicast or reduction (also below the innermost
level), the accounting switches and the dataflow constraints. Small buffers, so tiny layers still tile."""
from __future__ import annotations

import random

from accelmap.arch import build_arch, check_arch
from accelmap.arch.spec import Arch

ENERGIES = (0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 6.0, 12.0)
"""pJ per access of an on-chip level."""


def random_arch_doc(rng: random.Random) -> dict:
    """One arch document; it may break the format's rules (`random_arch` keeps only those `check_arch`
    accepts)."""
    on_chip = rng.randint(1, 4)
    levels = [_dram(rng)] + [_level(rng, f"L{index}", middle=1 < index < on_chip) for index in range(1, on_chip + 1)]
    fanouts = [{"name": f"F{i}", "parent": level["name"], "meshX": rng.choice([1, 2, 3, 4]),
                "meshY": rng.choice([1, 2]), "multicast": rng.random() < 0.7, "reduction": rng.random() < 0.7,
                "hop_energy": rng.choice([0.0, 0.5, 1.0, 2.0])}
               for i, level in enumerate(levels) if i > 0 and rng.random() < 0.45]
    doc = {"levels": levels, "fanouts": fanouts,
           "compute": {"mac_energy": rng.choice([0.3, 1.0]), "macs_per_pe": rng.choice([1, 1, 2])}}
    if rng.random() < 0.5:
        doc["accounting"] = {"drain_reads": rng.random() < 0.5, "psum_writes": rng.choice(["write", "update"]),
                             "halo_past_irrelevant": rng.random() < 0.5}
    constraints = [_level_constraint(rng, level) for level in levels[1:]
                   if level.get("storage", True) and rng.random() < 0.25]
    constraints += [{"fanout": fanout["name"], "x_dims": rng.sample("KCPQRS", 2), "y_dims": rng.sample("KCPQRS", 2)}
                    for fanout in fanouts if rng.random() < 0.3]
    if constraints:
        doc["constraints"] = constraints
    return doc


def random_arch(rng: random.Random, name: str = "random") -> Arch:
    """A random arch the format accepts (documents `check_arch` refuses are drawn again)."""
    while True:
        doc = random_arch_doc(rng)
        if not check_arch(doc):
            return build_arch(doc, name)


def _dram(rng: random.Random) -> dict:
    dram = {"name": "DRAM", "word-bits": rng.choice([8, 16, {"W": 8, "I": 8, "O": 32}]),
            "read_energy": rng.choice([100.0, 200.0]), "write_energy": rng.choice([100.0, 200.0])}
    if rng.random() < 0.7:
        dram["read_bandwidth"], dram["write_bandwidth"] = rng.choice([1, 2, 4, 8]), rng.choice([1, 2, 4, 8])
    return dram


def _level(rng: random.Random, name: str, middle: bool) -> dict:
    """An on-chip level: storage-less now and then between others, else a buffer of a few bytes."""
    if middle and rng.random() < 0.2:
        return {"name": name, "storage": False}
    tensors = sorted(rng.sample("WIO", rng.randint(1, 3))) if rng.random() < 0.6 else ["W", "I", "O"]
    level = {"name": name, "tensors": tensors, "word-bits": rng.choice([8, 16]),
             "read_energy": rng.choice(ENERGIES), "write_energy": rng.choice(ENERGIES)}
    if rng.random() < 0.3:
        level["update_energy"] = rng.choice(ENERGIES)
    if len(tensors) >= 2 and rng.random() < 0.3:
        level["partitions"] = [{"name": f"{name}_{t}", "tensors": [t],
                                "capacity": f"{rng.choice([2, 4, 6, 8, 16, 32])}B"} for t in tensors]
    else:
        level["capacity"] = f"{rng.choice([4, 8, 12, 16, 32, 64, 128])}B"
    if rng.random() < 0.3:
        level["double_buffered"] = True
    if rng.random() < 0.4:
        level["read_bandwidth"], level["write_bandwidth"] = rng.choice([1, 2, 4]), rng.choice([1, 2, 4])
    return level


def _level_constraint(rng: random.Random, level: dict) -> dict:
    """A keep, a bypass, a factor cap or a loop order at `level`."""
    kind, tensors = rng.random(), level["tensors"]
    if kind < 0.3:
        return {"level": level["name"], "keep": [rng.choice(tensors)]}
    if kind < 0.5 and len(tensors) > 1:
        return {"level": level["name"], "bypass": [rng.choice(tensors)]}
    if kind < 0.7:
        return {"level": level["name"], "max_factors": {rng.choice("KCPQ"): rng.choice([1, 2, 3])}}
    return {"level": level["name"], "permutation": rng.sample("KCPQ", 3)}
