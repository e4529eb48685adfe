"""Write one mapped layer as Timeloop input files: problem, architecture, ERT and mapping YAML.

The files are what `timeloop-model` reads, and what
`accelmap.mapper.timeloop_eval.evaluate_timeloop` reads back:

- problem: Timeloop's CNN-layer shape (dims R S P Q C M N, plus G when the
  layer is grouped) with the stride / dilation coefficients; accelmap's K is
  Timeloop's M. Timeloop calls the coefficients on P and R `Wstride` /
  `Wdilation`: they carry accelmap's `stride[0]` / `dilation[0]` (the axis P
  and R index), so every number moves with its dim, not with the letter W.
- architecture (v0.3 tree): one component per level; a partitioned level
  becomes one component per partition stacked in place (same instances);
  a fanout with both X and Y becomes two, X below the parent and Y below a
  buffer-less `<fanout>_Y` component (Timeloop gives a dim one spatial
  factor per level, so this keeps a dim split over X and Y expressible).
- ERT (Accelergy v0.2 tables, pJ per word, `block-size: 1`): `read`,
  `write`, and `update` = the read-modify-write minus the read, so that
  `pricing="per-action"` imports the same energies.
- mapping: per component a `temporal` entry, a `spatial` entry where a
  fanout sits below it, and a `datatype` entry; factors cover every dim and
  permutations are written inner to outer, as Timeloop reads them.

What Timeloop cannot express (per-tensor word widths or energies at one
shared level, hop energy, MACs per PE > 1) is written as the nearest thing
and listed in a comment at the top of the architecture file.
"""
from __future__ import annotations

from dataclasses import dataclass

import yaml

from accelmap.arch.spec import TENSORS, Arch, Level
from accelmap.errors import MappingError
from accelmap.ir.workload import TENSOR_NAMES, Workload
from accelmap.mapper.mapping import Loop, Mapping

TIMELOOP_DIMS = {"R": "R", "S": "S", "P": "P", "Q": "Q", "C": "C", "K": "M", "N": "N", "G": "G"}
"""accelmap dim -> Timeloop dim, in the order the files list them."""


@dataclass(frozen=True)
class _Component:
    """One Timeloop storage component: a level, one partition of it, or a buffer-less Y stage."""

    name: str
    level: int
    tensors: frozenset[str]
    capacity_bits: int | None
    innermost: bool
    y_of: int | None = None


def timeloop_files(workload: Workload, arch: Arch, mapping: Mapping) -> dict[str, str]:
    """The four Timeloop files of one layer, by suggested file name."""
    return {"problem.yaml": problem_to_timeloop(workload, mapping),
            "arch.yaml": arch_to_timeloop(arch), "ert.yaml": ert_to_timeloop(arch),
            "mapping.yaml": mapping_to_timeloop(workload, arch, mapping)}


def problem_to_timeloop(workload: Workload, mapping: Mapping | None = None) -> str:
    """The CNN-layer problem YAML; a mapping's padded bounds replace the workload's."""
    bounds = mapping.bounds(workload.dims) if mapping else workload.dims
    dims = _dims(workload)
    g = [[["G"]]] if "G" in dims else []
    shape = {
        "name": "CNN-Layer",
        "dimensions": [TIMELOOP_DIMS[d] for d in dims],
        "coefficients": [{"name": n, "default": 1} for n in ("Wstride", "Hstride", "Wdilation", "Hdilation")],
        "data-spaces": [
            {"name": "Weights", "projection": g + [[["C"]], [["M"]], [["R"]], [["S"]]]},
            {"name": "Inputs", "projection": [[["N"]]] + g + [[["C"]], [["R", "Wdilation"], ["P", "Wstride"]],
                                                              [["S", "Hdilation"], ["Q", "Hstride"]]]},
            {"name": "Outputs", "projection": [[["N"]]] + g + [[["M"]], [["Q"]], [["P"]]], "read-write": True},
        ]}
    instance = {TIMELOOP_DIMS[d]: bounds[d] for d in dims}
    instance.update({"Wstride": workload.stride[0], "Hstride": workload.stride[1],
                     "Wdilation": workload.dilation[0], "Hdilation": workload.dilation[1]})
    header = "".join(f"# {d}: the mapping pads {workload.bound(d)} to {b}\n"
                     for d, b in (mapping.padded if mapping else ()))
    return header + _dump({"problem": {"shape": shape, "instance": instance}})


def arch_to_timeloop(arch: Arch) -> str:
    """The architecture as a Timeloop v0.3 `architecture:` tree (energies live in the ERT)."""
    mesh_x = 1
    root: dict = {"name": "system", "local": []}
    node = root
    for comp in _components(arch):
        node["local"].append(_storage_entry(comp, arch.levels[comp.level], mesh_x))
        fanout = arch.fanout_below(comp.level) if comp.innermost or comp.y_of is not None else None
        if comp.y_of is not None:
            node = _subtree(node, f"{fanout.name}_Y", fanout.y)
        elif fanout is not None:
            two_stage = fanout.x > 1 and fanout.y > 1
            mesh_x *= fanout.x
            node = _subtree(node, fanout.name + "_X" * two_stage, fanout.x if two_stage else fanout.x * fanout.y)
    widths = [c.word_bits for lv in arch.levels for c in lv.tensors.values()] or [16]
    node["local"].append({"name": "MACs", "class": "intmac", "attributes": {"datawidth": max(widths), "meshX": mesh_x}})
    notes = "".join(f"# accelmap: {note}\n" for note in _approximations(arch))
    return notes + _dump({"architecture": {"version": 0.3, "subtree": [root]}})


def _subtree(node: dict, name: str, count: int) -> dict:
    """Open a subtree of `count` copies below `node` and return it."""
    child = {"name": f"{name}[0..{count - 1}]", "local": []}
    node["subtree"] = [child]
    return child


def _storage_entry(comp: _Component, level: Level, mesh_x: int) -> dict:
    """One storage component: class, size in words of its widest tensor, bandwidth, mesh."""
    bits = max((c.word_bits for t, c in level.tensors.items() if t in comp.tensors), default=16)
    attributes: dict = {"word-bits": bits, "width": bits, "block-size": 1}
    stage = comp.y_of is None and level.storage
    if not stage:
        attributes["depth"] = 0
    elif comp.capacity_bits is not None:
        attributes["depth"] = comp.capacity_bits // bits
    for key in ("read_bandwidth", "write_bandwidth"):
        if getattr(level, key) is not None and stage:
            attributes[key] = getattr(level, key)
    if level.double_buffered and stage:
        attributes["multiple-buffering"] = 2
    attributes["meshX"] = mesh_x
    cls = "DRAM" if "depth" not in attributes else "SRAM" if attributes["depth"] else "regfile"
    return {"name": comp.name, "class": cls, "attributes": attributes}


def ert_to_timeloop(arch: Arch) -> str:
    """Accelergy-style ERT v0.2 for `arch_to_timeloop`'s components (pJ per word)."""
    tables = {}
    for comp in _components(arch):
        level = arch.levels[comp.level]
        costs = [c for t, c in level.tensors.items() if t in comp.tensors]
        if comp.y_of is not None or not costs:
            tables[f"system.{comp.name}"] = {"read": {"energy": 0.0}, "write": {"energy": 0.0}}
            continue
        read = max(c.read_energy for c in costs)
        update = max(c.update_energy for c in costs)
        tables[f"system.{comp.name}"] = {"read": {"energy": read / 1000},
                                         "write": {"energy": max(c.write_energy for c in costs) / 1000},
                                         "update": {"energy": max(0, update - read) / 1000}}
    tables["system.MACs"] = {"mac_random": {"energy": arch.compute.mac_energy / 1000}}
    return _dump({"ERT": {"version": 0.2, "tables": tables}})


def mapping_to_timeloop(workload: Workload, arch: Arch, mapping: Mapping) -> str:
    """The mapping YAML for `arch_to_timeloop`'s components (permutations inner to outer)."""
    dims = _dims(workload)
    entries = []
    for comp in _components(arch):
        loops = mapping.temporal[comp.level] if comp.innermost else ()
        entries.append(_directive(comp.name, "temporal", loops, dims))
        if comp.y_of is not None:
            fan = mapping.spatial[arch.fanouts.index(arch.fanout_below(comp.y_of))]
            entries.append(_directive(comp.name, "spatial", fan.y, dims, split=0))
            entries.append(_datatype(comp.name, frozenset()))
            continue
        fanout = arch.fanout_below(comp.level) if comp.innermost else None
        if fanout is not None:
            fan = mapping.spatial[arch.fanouts.index(fanout)]
            two_stage = fanout.x > 1 and fanout.y > 1
            loops, split = (fan.x, len(dims)) if two_stage else (fan.x + fan.y, len(fan.x))
            entries.append(_directive(comp.name, "spatial", loops, dims, split=split))
        entries.append(_datatype(comp.name, mapping.keep[comp.level] & comp.tensors))
    return _dump({"mapping": entries})


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


def _components(arch: Arch) -> list[_Component]:
    """Timeloop storage components, outermost first: one per partition, or per group of tensors
    that share word width and energies (DRAM stays one), and a Y stage after each two-axis fanout."""
    components: list[_Component] = []
    for i, level in enumerate(arch.levels):
        groups = [(p.name, p.tensors, p.capacity_bits) for p in level.partitions] or \
            [("".join(g), frozenset(g), level.capacity_bits) for g in _uniform_groups(level, i)]
        for k, (suffix, tensors, bits) in enumerate(groups):
            name = level.name if len(groups) == 1 else f"{level.name}_{suffix}"
            components.append(_Component(name, i, frozenset(tensors), bits, innermost=k == len(groups) - 1))
        fanout = arch.fanout_below(i)
        if fanout is not None and fanout.x > 1 and fanout.y > 1:
            components.append(_Component(f"{fanout.name}_Y", i, frozenset(), 0, innermost=False, y_of=i))
    return components


def _uniform_groups(level: Level, index: int) -> list[tuple[str, ...]]:
    """The level's tensors grouped by equal word width and energies; DRAM (index 0) is one group."""
    if index == 0:
        return [tuple(level.tensors)]
    groups: dict[tuple, list[str]] = {}
    for t, c in level.tensors.items():
        groups.setdefault((c.word_bits, c.read_energy, c.write_energy, c.update_energy), []).append(t)
    return [tuple(g) for g in groups.values()] or [()]


def _dims(workload: Workload) -> list[str]:
    """The accelmap dims the files list: Timeloop's CNN layer, plus G when the layer is grouped."""
    return [d for d in TIMELOOP_DIMS if d != "G" or workload.bound("G") > 1]


def _approximations(arch: Arch) -> list[str]:
    """What the Timeloop files cannot say exactly about `arch`."""
    notes = []
    for i, level in enumerate(arch.levels):
        split = len(_uniform_groups(level, i)) > 1
        if split and not level.partitions:
            notes.append(f"level {level.name}: tensors with different word widths or energies are separate "
                         "components, each given the whole shared capacity")
        if (split or level.partitions) and (level.read_bandwidth or level.write_bandwidth):
            notes.append(f"level {level.name}: each of its components gets the level's bandwidth")
        for group in [p.tensors for p in level.partitions] or ([level.tensors] if i == 0 else []):
            if len({(c.word_bits, c.read_energy, c.write_energy, c.update_energy)
                    for t, c in level.tensors.items() if t in group}) > 1:
                notes.append(f"level {level.name}: {', '.join(t for t in TENSORS if t in group)} differ in "
                             "word width or energy; written as the largest")
    notes += [f"fanout {f.name}: hop_energy {f.hop_energy / 1000} pJ is not carried (Timeloop prices its own network)"
              for f in arch.fanouts if f.hop_energy]
    notes += [f"fanout {f.name}: no {w} is not carried (Timeloop's network always allows it)"
              for f in arch.fanouts for w, able in (("multicast", f.multicast), ("reduction", f.reduction))
              if not able]
    if arch.compute.macs_per_pe > 1:
        notes.append(f"{arch.compute.macs_per_pe} MACs per PE are written as 1")
    return notes


def _dump(doc: dict) -> str:
    """YAML in document order, short lists inline."""
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=110)
