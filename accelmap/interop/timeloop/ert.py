"""Accelergy's energy and area reference tables (ERT, ART): read per component, and the ERT written.

Read: ERT v0.2 (tables by name), v0.3 (a list of tables) and ERT_summary
(`max_energy` per action); each action's energy is its most expensive
argument variant, and a table is matched to its component by the last name
in the table key with ranges stripped, as Timeloop does. Written: ERT v0.2
tables for `components.components(arch)`, pJ per word (`block-size: 1`),
`update` = `write` (Timeloop v3 prices an update with the write action).
The ART (v0.3 / v0.4 lists, v0.2 tables by name, ART_summary) gives µm² per
instance of each component, matched the same way.
"""
from __future__ import annotations

import re

from accelmap.arch.check_values import MAX_AREA, at, expect_number
from accelmap.arch.spec import Arch
from accelmap.interop.timeloop.components import components
from accelmap.interop.timeloop.yaml_text import dump

RANGE = re.compile(r"\[(\d+)\.\.(\d+)\]")
"""A Timeloop name range, `[0..15]`."""


def ert_table(ert: object, problems: list[str]) -> dict[str, dict[str, float]]:
    """component base name -> action -> pJ of its most expensive argument variant.

    Reads Accelergy's ERT v0.2 (tables by name), v0.3 (a list of tables) and
    its ERT_summary (`max_energy` per action).
    """
    root = next((ert[k] for k in ("ERT", "ERT_summary") if isinstance(ert, dict) and k in ert), ert)
    tables = next((root[k] for k in ("tables", "table_summary") if isinstance(root, dict) and k in root), None)
    if isinstance(tables, list):
        listed = {}
        for i, entry in enumerate(tables):
            actions: dict = {}
            for action in entry.get("actions", []) if isinstance(entry, dict) else []:
                actions.setdefault(action.get("name"), []).append(action)
            listed[entry.get("name") if isinstance(entry, dict) else i] = actions
        tables = listed
    if not isinstance(tables, dict):
        problems.append("ERT.tables: expected Accelergy's energy reference table (tables by component)")
        return {}
    table: dict[str, dict[str, float]] = {}
    for key, actions in tables.items():
        path = at("ERT.tables", key)
        if not isinstance(key, str) or not isinstance(actions, dict):
            problems.append(f"{path}: expected a component name with its actions")
            continue
        energies = {}
        for action, spec in actions.items():
            variants = [v for v in (spec if isinstance(spec, list) else [spec]) if isinstance(v, dict)]
            values = [expect_number(v.get("max_energy", v.get("energy")), at(at(path, action), "energy"),
                                    problems, positive=False) for v in variants]
            if values and None not in values:
                energies[str(action)] = max(values)
        table[RANGE.sub("", key).split(".")[-1]] = energies
    return table


def art_table(art: object, problems: list[str]) -> dict[str, float]:
    """component base name -> µm² per instance, from Accelergy's ART or ART_summary."""
    root = next((art[k] for k in ("ART", "ART_summary") if isinstance(art, dict) and k in art), art)
    tables = next((root[k] for k in ("tables", "table_summary") if isinstance(root, dict) and k in root), None)
    if isinstance(tables, dict):
        tables = [{"name": key, "area": value} for key, value in tables.items()]
    if not isinstance(tables, list):
        problems.append("ART.tables: expected Accelergy's area reference table (a list of name and area)")
        return {}
    areas: dict[str, float] = {}
    for i, entry in enumerate(tables):
        path = at("ART.tables", i)
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            problems.append(f"{path}: expected a component name with its area")
            continue
        area = expect_number(entry.get("area"), at(path, "area"), problems, positive=False, limit=MAX_AREA)
        if area is not None:
            areas[RANGE.sub("", entry["name"]).split(".")[-1]] = float(area)
    return areas


def ert_to_timeloop(arch: Arch) -> str:
    """Accelergy-style ERT v0.2 for `arch_to_timeloop`'s components (pJ per word)."""
    tables = {}
    for comp in components(arch):
        level = arch.levels[comp.level]
        costs = [c for t, c in level.tensors.items() if t in comp.tensors]
        if comp.y_of is not None or not costs:
            tables[f"system.{comp.name}"] = {"read": {"energy": 0.0}, "write": {"energy": 0.0}}
            continue
        write = max(c.write_energy for c in costs) / 1000
        tables[f"system.{comp.name}"] = {"read": {"energy": max(c.read_energy for c in costs) / 1000},
                                         "write": {"energy": write}, "update": {"energy": write}}
    tables["system.MACs"] = {"mac_random": {"energy": arch.compute.mac_energy / 1000}}
    return dump({"ERT": {"version": 0.2, "tables": tables}})
