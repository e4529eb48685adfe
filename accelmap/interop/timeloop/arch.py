"""Timeloop architectures: read (priced by an Accelergy ERT) into an `Arch`, and an `Arch` written as one.

Two Timeloop forms are read: the v0.3 `architecture:` tree (`subtree` /
`local`, `name[0..N]` ranges that multiply instances, `meshX`) and the older
flat v0.2 `arch: {storage: [...innermost first], arithmetic: {...}}`.
Storage components become levels outermost first, the MAC component the
compute; wherever the instance count grows between two consecutive storage
components (or the last one and the MACs) a fanout appears below the outer
one: X = ratio of `meshX`, Y = ratio of `meshY` (= instances / meshX).
Network components are skipped (hop energy 0). The conversion produces an
accelmap arch document that goes through `check_arch` and `build_arch` like
any user file, so an import is never more trusted than a hand-written arch.

Energies come from the ERT (pJ per access of one block of `block-size`
words) and are divided by the block size, since accelmap prices words:

- `pricing="per-action"` (current Timeloop): read = ERT `read`, write = ERT
  `write`; a partial-sum update (read-modify-write) is a read plus a write,
  as Timeloop v3 prices it (it does not use the ERT's `update` action);
- `pricing="max-action"` (Timeloop v0.3 and the 2020-2021 exercises): every
  access costs the component's most expensive ERT action, an update two.

A component missing from the ERT may carry `vector-access-energy` (pJ per
block) instead. An Accelergy ART gives each level and the MACs their area
(µm² per instance). A `dummy_storage` component (timeloopfe's spatial
stage) is a buffer-less level; components with `enabled: false` are left
out. Constraints (`constraints.py`) found in the architecture file or given
beside it become the arch's `constraints:` entries. Bandwidths are words per cycle (current Timeloop) unless
`bandwidth_unit="bytes"` (Timeloop v0.3 compared words x word-bytes with
them: Eyeriss' `2` at 16 bits is one word a cycle). docs/timeloop.md lists what does not carry over.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from accelmap.arch.build import build_arch
from accelmap.arch.check import check_arch
from accelmap.arch.check_values import at, check_keys, expect_int, expect_list, expect_mapping, expect_number, show
from accelmap.arch.spec import TIMELOOP_ACCOUNTING, Arch, Level
from accelmap.errors import ArchError
from accelmap.interop.timeloop.components import Component, approximations, components
from accelmap.interop.timeloop.constraints import (Directive, ReadConstraints, component_directives, directives_in,
                                                   read_constraint_files, to_accelmap)
from accelmap.interop.timeloop.ert import art_table, ert_table
from accelmap.interop.timeloop.names import read_yaml
from accelmap.interop.timeloop.yaml_text import dump

PRICINGS = ("per-action", "max-action")
BANDWIDTH_UNITS = ("words", "bytes")
STORAGE_CLASSES = ("DRAM", "SRAM", "regfile", "smartbuffer", "storage", "buffet")
DUMMY_CLASSES = ("dummy",)
COMPUTE_CLASSES = ("mac", "compute")
NETWORK_CLASSES = ("NoC", "Legacy", "ReductionTree", "SimpleMulticast")
"""Timeloop's class families, matched as substrings (case-insensitive)."""
SIZE_KEYS = {"depth": ("depth", "memory_depth"), "width": ("width", "memory_width"),
             "word-bits": ("word-bits", "datawidth"), "block-size": ("block-size", "n_words")}
"""Storage attribute -> its spellings in Timeloop and Accelergy files, preferred first."""

_NAME = re.compile(r"^([^\[\]]+?)(?:\[(\d+)\.\.(\d+)\])?$")


@dataclass(frozen=True)
class _TreeComponent:
    """One Timeloop storage or compute component, flattened out of the tree."""

    name: str
    path: str
    kind: str
    cls: str
    attributes: dict
    instances: int
    mesh_x: int


@dataclass(frozen=True)
class ImportedDesign:
    """A Timeloop design read into an `Arch`, with what the user should be told about the import."""

    arch: Arch
    notes: tuple[str, ...] = ()


def import_timeloop_arch(arch_yaml_path: str | Path, ert_yaml_path: str | Path | None = None, *,
                         pricing: str = "per-action", bandwidth_unit: str = "words", **design) -> Arch:
    """The `Arch` described by a Timeloop architecture YAML priced by its Accelergy ERT.

    Without `ert_yaml_path`, an `ERT:` section inside the architecture file
    or per-component `vector-access-energy` attributes are used. Raises
    `ArchError` naming the file and the key path of every problem.
    `bandwidth_unit` says how `read_bandwidth` / `write_bandwidth` are read:
    "words" per cycle (current Timeloop) or "bytes" per cycle (Timeloop v0.3).
    `design` takes `import_timeloop_design`'s ART, constraints and accounting.
    """
    return import_timeloop_design(arch_yaml_path, ert_yaml_path, pricing=pricing, bandwidth_unit=bandwidth_unit,
                                  **design).arch


def import_timeloop_design(arch_yaml_path: str | Path, ert_yaml_path: str | Path | None = None, *,
                           art_yaml_path: str | Path | None = None, constraints: tuple[str | Path, ...] = (),
                           mapspace_constraints: tuple[str | Path, ...] = (), pricing: str = "per-action",
                           bandwidth_unit: str = "words", timeloop_accounting: bool = False) -> ImportedDesign:
    """A whole Timeloop design: architecture + ERT, optionally ART (areas) and constraint files.

    Constraints inside the architecture file are read too; mapspace
    constraints only from `mapspace_constraints` files (elsewhere they are
    noted and left out). `timeloop_accounting` switches the arch's
    accounting to Timeloop's (`TIMELOOP_ACCOUNTING`: drains free);
    without it only `psum_writes: update` (`arch_from_timeloop`).
    """
    doc = read_yaml(arch_yaml_path, "architecture")
    ert = read_yaml(ert_yaml_path, "ERT") if ert_yaml_path is not None else None
    art = read_yaml(art_yaml_path, "ART") if art_yaml_path is not None else None
    found = read_constraint_files(list(constraints), list(mapspace_constraints)) \
        if constraints or mapspace_constraints else ReadConstraints()
    problems: list[str] = []
    own = ReadConstraints()
    directives_in(doc, str(arch_yaml_path), own, problems, mapspace=False)
    if problems:
        raise ArchError(str(arch_yaml_path), problems)
    arch = arch_from_timeloop(doc, ert, name=Path(arch_yaml_path).stem, source=str(arch_yaml_path),
                              pricing=pricing, bandwidth_unit=bandwidth_unit, art=art,
                              directives=[*own.directives, *found.directives])
    accounting = TIMELOOP_ACCOUNTING if timeloop_accounting else arch.accounting
    sources = [f"areas: {art_yaml_path}"] * (art_yaml_path is not None)
    sources += [f"constraints: {', '.join(map(str, (*constraints, *mapspace_constraints)))}"] * bool(found.directives)
    description = "; ".join([arch.description, *sources])
    return ImportedDesign(replace(arch, accounting=accounting, description=description),
                          tuple(own.notes + found.notes))


def is_timeloop_arch(doc: object) -> bool:
    """True when a parsed YAML document is a Timeloop architecture rather than an accelmap arch."""
    return isinstance(doc, dict) and ("architecture" in doc or "arch" in doc)


def arch_from_timeloop(doc: object, ert: object | None, *, name: str, source: str,
                       pricing: str = "per-action", bandwidth_unit: str = "words", art: object | None = None,
                       directives: list[Directive] = ()) -> Arch:
    """Build the `Arch` from parsed Timeloop architecture, ERT and ART documents and constraint
    directives (module docstring). Partial-sum first writes and overwrites are priced at
    `update_energy - read_energy` (`psum_writes: update`), the write Timeloop charges."""
    if pricing not in PRICINGS:
        raise ValueError(f"unknown pricing {pricing!r}; pricings are {', '.join(PRICINGS)}")
    if bandwidth_unit not in BANDWIDTH_UNITS:
        raise ValueError(f"unknown bandwidth unit {bandwidth_unit!r}; units are {', '.join(BANDWIDTH_UNITS)}")
    problems: list[str] = []
    directives = list(directives)
    found = _flatten(doc, problems, directives)
    if ert is None and isinstance(doc, dict) and "ERT" in doc:
        ert = {"ERT": doc["ERT"]}
    table = ert_table(ert, problems) if ert is not None else {}
    areas = art_table(art, problems) if art is not None else {}
    raw = (_arch_document(found, table, pricing, bandwidth_unit, source, problems)
           if found or not problems else None)
    if raw is not None:
        _add_areas(raw, found, areas)
        entries = to_accelmap(directives, raw, problems)
        if entries:
            raw["constraints"] = entries
    if problems or raw is None:
        raise ArchError(source, problems)
    converted = check_arch(raw)
    if converted:
        raise ArchError(source, [f"after conversion to accelmap's format: {p}" for p in converted])
    return build_arch(raw, name=name)


def _flatten(doc: object, problems: list[str], directives: list[Directive]) -> list[_TreeComponent]:
    """Storage and compute components outermost first, from either Timeloop form; the v0.4 per-component
    constraints are added to `directives`."""
    if not is_timeloop_arch(doc):
        problems.append("(top level): expected an 'architecture:' tree (Timeloop v0.3) or an 'arch:' section (v0.2)")
        return []
    found: list[_TreeComponent] = []
    if "architecture" in doc:
        root = expect_mapping(doc["architecture"], "architecture", problems)
        for i, node in enumerate(expect_list(root.get("subtree"), "architecture.subtree", problems) or []
                                 if root else []):
            _walk(node, at("architecture.subtree", i), {}, 1, found, problems, directives)
        return found
    arch = expect_mapping(doc["arch"], "arch", problems) or {}
    storage = expect_list(arch.get("storage"), "arch.storage", problems) or []
    entries = [(at("arch.storage", i), e) for i, e in reversed(list(enumerate(storage)))]
    for path, entry in [*entries, ("arch.arithmetic", arch.get("arithmetic"))]:
        entry = expect_mapping(entry, path, problems)
        if entry is None:
            continue
        attrs = {k: v for k, v in entry.items() if k not in ("name", "class")}
        cls = entry.get("class") or ("intmac" if path == "arch.arithmetic"
                                     else "DRAM" if attrs.get("technology") == "DRAM" else "SRAM")
        instances = expect_int(attrs.get("instances", 1), at(path, "instances"), problems) or 1
        _add(found, entry.get("name"), path, cls, attrs, instances, problems)
    return found


def _walk(node: object, path: str, inherited: dict, count: int, found: list[_TreeComponent],
          problems: list[str], directives: list[Directive]) -> None:
    """Collect a subtree's `local` components in order, then those of its subtrees."""
    node = expect_mapping(node, path, problems)
    if node is None:
        return
    check_keys(node, ("name", "attributes", "local", "subtree", "description"), path, problems)
    _, copies = _parse_name(node.get("name"), at(path, "name"), problems)
    attributes = {**inherited, **(expect_mapping(node.get("attributes", {}), at(path, "attributes"), problems) or {})}
    for i, entry in enumerate(expect_list(node.get("local", []), at(path, "local"), problems) or []):
        local_path = at(at(path, "local"), i)
        entry = expect_mapping(entry, local_path, problems)
        if entry is None:
            continue
        check_keys(entry, ("name", "class", "subclass", "attributes", "description", "required_actions",
                           "enabled", "constraints"), local_path, problems)
        if entry.get("enabled", True) is False:
            continue
        name, own = _parse_name(entry.get("name"), at(local_path, "name"), problems)
        if "constraints" in entry and name is not None:
            directives += component_directives(name, entry["constraints"], at(local_path, "constraints"), problems)
        own_attributes = expect_mapping(entry.get("attributes", {}), at(local_path, "attributes"), problems)
        _add(found, name, local_path, entry.get("class"), {**attributes, **(own_attributes or {})},
             count * copies * own, problems)
    for i, child in enumerate(expect_list(node.get("subtree", []), at(path, "subtree"), problems) or []):
        _walk(child, at(at(path, "subtree"), i), attributes, count * copies, found, problems, directives)


def _add(found: list[_TreeComponent], name: str | None, path: str, cls: object, attributes: dict,
         instances: int, problems: list[str]) -> None:
    """Classify one component, settle its instances and meshX, and append it unless it is a network."""
    if not isinstance(cls, str):
        problems.append(f"{at(path, 'class')}: missing; give the component class (e.g. SRAM, regfile, intmac)")
        return
    families = (("network", NETWORK_CLASSES), ("compute", COMPUTE_CLASSES), ("dummy", DUMMY_CLASSES),
                ("storage", STORAGE_CLASSES))
    kind = next((k for k, family in families if any(f.lower() in cls.lower() for f in family)), None)
    if kind is None:
        problems.append(f"{at(path, 'class')}: unknown class '{cls}'; expected a storage class "
                        f"({', '.join(STORAGE_CLASSES)}) or a MAC class (intmac, fpmac)")
    if kind in (None, "network"):
        return
    attr_path = at(path, "attributes")
    given = attributes.get("instances")
    if given is not None and instances == 1:
        instances = expect_int(given, at(attr_path, "instances"), problems) or 1
    elif given is not None and given != instances:
        problems.append(f"{at(attr_path, 'instances')}: {show(given)} disagrees with the {instances} "
                        "instances its name ranges give")
    mesh_x = expect_int(attributes.get("meshX", instances), at(attr_path, "meshX"), problems) or instances
    if instances % mesh_x:
        problems.append(f"{at(attr_path, 'meshX')}: {mesh_x} does not divide the {instances} instances")
        mesh_x = instances
    found.append(_TreeComponent(name or "?", path, kind, cls, attributes, instances, mesh_x))


def _parse_name(value: object, path: str, problems: list[str]) -> tuple[str | None, int]:
    """'PE[0..15]' -> ('PE', 16); 'DRAM' -> ('DRAM', 1)."""
    match = _NAME.match(value) if isinstance(value, str) else None
    if match is None:
        problems.append(f"{path}: expected a name such as 'GlobalBuffer' or 'PE[0..15]', got {show(value)}")
        return None, 1
    if match.group(2) is None:
        return match.group(1), 1
    low, high = int(match.group(2)), int(match.group(3))
    if high < low:
        problems.append(f"{path}: range [{low}..{high}] is empty")
    return match.group(1), max(1, high - low + 1)


def _arch_document(found: list[_TreeComponent], table: dict[str, dict[str, float]], pricing: str,
                   bandwidth_unit: str, source: str, problems: list[str]) -> dict | None:
    """The accelmap arch document (docs/arch-format.md) for the components."""
    storage = [c for c in found if c.kind in ("storage", "dummy")]
    compute = [c for c in found if c.kind == "compute"]
    if not storage or len(compute) != 1:
        problems.append("(architecture): expected storage components and exactly one MAC component; found "
                        f"{', '.join(f'{c.name} ({c.kind})' for c in found) or 'none'}")
        return None
    chain = [*storage, compute[0]]
    fanouts = [f for outer, inner in zip(chain, chain[1:]) if (f := _fanout(outer, inner, problems))]
    return {"description": f"imported from Timeloop {source} (pricing: {pricing})",
            "accounting": {"psum_writes": "update"},
            "levels": [_level(c, i, table.get(c.name), pricing, bandwidth_unit, problems)
                       for i, c in enumerate(storage)],
            "fanouts": fanouts,
            "compute": {"mac_energy": _mac_energy(compute[0], table.get(compute[0].name), pricing, problems)}}


def _add_areas(raw: dict, found: list[_TreeComponent], areas: dict[str, float]) -> None:
    """Each level's and the MACs' area (µm² per instance) from the ART, where it names them."""
    for entry in raw["levels"]:
        if entry["name"] in areas:
            entry["area"] = areas[entry["name"]]
    compute = next(c for c in found if c.kind == "compute")
    if compute.name in areas:
        raw["compute"]["area"] = areas[compute.name]


def _fanout(outer: _TreeComponent, inner: _TreeComponent, problems: list[str]) -> dict | None:
    """The fanout below `outer` when `inner` has more instances; None when they are equal."""
    rows_out, rows_in = outer.instances // outer.mesh_x, inner.instances // inner.mesh_x
    if inner.instances % outer.instances or inner.mesh_x % outer.mesh_x or rows_in % rows_out:
        problems.append(f"{inner.path}: its {inner.mesh_x} x {rows_in} mesh does not tile the "
                        f"{outer.mesh_x} x {rows_out} mesh of {outer.name} above it")
        return None
    if inner.instances == outer.instances:
        return None
    return {"name": f"{outer.name}_fanout", "parent": outer.name,
            "meshX": inner.mesh_x // outer.mesh_x, "meshY": rows_in // rows_out}


def _level(c: _TreeComponent, index: int, actions: dict[str, float] | None, pricing: str, bandwidth_unit: str,
           problems: list[str]) -> dict:
    """One storage component as an accelmap level: capacity in bits, energies in pJ per word."""
    if c.kind == "dummy" and index > 0:
        return {"name": c.name, "storage": False}
    a, path = c.attributes, at(c.path, "attributes")
    sizes = {}
    for name, keys in SIZE_KEYS.items():
        key = next((k for k in keys if k in a), None)
        if key is not None:
            sizes[name] = expect_int(a[key], at(path, key), problems, positive=name != "depth") or 0
    width = sizes.get("width")
    bits = sizes.get("word-bits") or (width // sizes.get("block-size", 1) if width else 0)
    if not bits:
        problems.append(f"{at(path, 'word-bits')}: missing; give word-bits (bits per word)")
        bits = 1
    block = sizes.get("block-size") or (width // bits if width and width >= bits else 1)
    dram = "DRAM" in (c.cls.upper(), str(a.get("technology")).upper())
    capacity = None if dram else _capacity(a, sizes, path, bits, block, problems)
    if capacity == 0 and index > 0:
        return {"name": c.name, "storage": False}
    entry: dict = {"name": c.name, "word-bits": bits}
    if capacity:
        row = block * bits if capacity % (block * bits) == 0 else bits
        entry.update({"depth": capacity // row, "width": row})
    read, write, update = _storage_energies(c, actions, pricing, block, problems)
    entry.update({"read_energy": read, "write_energy": write, "update_energy": update})
    for key in ("read_bandwidth", "write_bandwidth"):
        if key in a and (value := expect_number(a[key], at(path, key), problems, positive=True)):
            entry[key] = value * 8 / bits if bandwidth_unit == "bytes" else value
    buffering = a.get("multiple-buffering", 1)
    if buffering not in (1, 2):
        problems.append(f"{at(path, 'multiple-buffering')}: accelmap models 1 or 2 (double buffering), "
                        f"got {show(buffering)}")
    entry["double_buffered"] = buffering == 2
    return entry


def _capacity(a: dict, sizes: dict[str, int], path: str, bits: int, block: int,
              problems: list[str]) -> int | None:
    """Capacity in bits: depth x width (or x block-size words), entries (words), or sizeKB."""
    if "depth" in sizes:
        return sizes["depth"] * (sizes.get("width") or block * bits)
    if "entries" in a:
        return (expect_int(a["entries"], at(path, "entries"), problems, positive=False) or 0) * bits
    if "sizeKB" in a:
        return round((expect_number(a["sizeKB"], at(path, "sizeKB"), problems, positive=False) or 0) * 8192)
    problems.append(f"{at(path, 'depth')}: missing; give depth (rows, with width in bits), entries or sizeKB")
    return None


def _storage_energies(c: _TreeComponent, actions: dict[str, float] | None, pricing: str, block: int,
                      problems: list[str]) -> tuple[float, float, float]:
    """(read, write, update) pJ per word, each to the fJ accelmap stores; an update (a read-modify-write) is
    exactly their sum."""
    if actions is None and "vector-access-energy" in c.attributes:
        key = at(at(c.path, "attributes"), "vector-access-energy")
        actions = {"read": expect_number(c.attributes["vector-access-energy"], key, problems, positive=False) or 0.0}
        pricing = "max-action"
    if not actions:
        problems.append(f"{c.path}: no energy for '{c.name}': the ERT has no table for it; "
                        "give the ERT Accelergy wrote for this architecture")
        return 0.0, 0.0, 0.0
    if pricing == "max-action":
        each = round(max(actions.values()) / block, 3)
        return each, each, round(2 * each, 3)
    if "read" not in actions:
        problems.append(f"{c.path}: the ERT table of '{c.name}' has no 'read' action (actions: {', '.join(actions)})")
        return 0.0, 0.0, 0.0
    read, write = (round(actions[key] / block, 3) for key in ("read", "write" if "write" in actions else "read"))
    return read, write, round(read + write, 3)


def _mac_energy(c: _TreeComponent, actions: dict[str, float] | None, pricing: str, problems: list[str]) -> float:
    """pJ per MAC: the ERT's `compute` (else `mac_random`) action, or its most expensive one (max-action)."""
    if not actions:
        problems.append(f"{c.path}: no energy for '{c.name}': the ERT has no table for it")
        return 0.0
    if pricing == "per-action":
        return actions.get("compute", actions.get("mac_random", max(actions.values())))
    return max(actions.values())


def arch_to_timeloop(arch: Arch) -> str:
    """The architecture as a Timeloop v0.3 `architecture:` tree (energies live in the ERT)."""
    mesh_x = 1
    root: dict = {"name": "system", "local": []}
    node = root
    for comp in components(arch):
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
    notes = "".join(f"# accelmap: {note}\n" for note in approximations(arch))
    return notes + dump({"architecture": {"version": 0.3, "subtree": [root]}})


def _subtree(node: dict, name: str, count: int) -> dict:
    """Open a subtree of `count` copies below `node` and return it."""
    child = {"name": f"{name}[0..{count - 1}]", "local": []}
    node["subtree"] = [child]
    return child


def _storage_entry(comp: Component, level: Level, mesh_x: int) -> dict:
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
