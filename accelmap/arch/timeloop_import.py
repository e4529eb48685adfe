"""Import a Timeloop architecture and its Accelergy ERT into an `Arch`; write an `Arch` as accelmap YAML.

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
  `write`; a partial-sum update is a read plus an `update` (or `write`);
- `pricing="max-action"` (Timeloop v0.3 and the 2020-2021 exercises): every
  access costs the component's most expensive ERT action, an update two.

A component missing from the ERT may carry `vector-access-energy` (pJ per
block) instead. Bandwidths are words per cycle (current Timeloop) unless
`bandwidth_unit="bytes"` (Timeloop v0.3 compared words x word-bytes with
them: Eyeriss' `2` at 16 bits is one word a cycle). docs/timeloop.md lists what does not carry over.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from accelmap.arch.build import build_arch
from accelmap.arch.check import check_arch
from accelmap.arch.check_values import at, check_keys, expect_int, expect_list, expect_mapping, expect_number, show
from accelmap.arch.load import read_yaml
from accelmap.arch.spec import DIMS, TENSORS, Arch, Level, LevelConstraint
from accelmap.errors import ArchError

PRICINGS = ("per-action", "max-action")
BANDWIDTH_UNITS = ("words", "bytes")
STORAGE_CLASSES = ("DRAM", "SRAM", "regfile", "smartbuffer", "storage", "buffet")
COMPUTE_CLASSES = ("mac", "compute")
NETWORK_CLASSES = ("NoC", "Legacy", "ReductionTree", "SimpleMulticast")
"""Timeloop's class families, matched as substrings (case-insensitive)."""
SIZE_KEYS = {"depth": ("depth", "memory_depth"), "width": ("width", "memory_width"),
             "word-bits": ("word-bits", "datawidth"), "block-size": ("block-size", "n_words")}
"""Storage attribute -> its spellings in Timeloop and Accelergy files, preferred first."""

_RANGE = re.compile(r"\[(\d+)\.\.(\d+)\]")
_NAME = re.compile(r"^([^\[\]]+?)(?:\[(\d+)\.\.(\d+)\])?$")


@dataclass(frozen=True)
class _Component:
    """One Timeloop storage or compute component, flattened out of the tree."""

    name: str
    path: str
    kind: str
    cls: str
    attributes: dict
    instances: int
    mesh_x: int


def import_timeloop_arch(arch_yaml_path: str | Path, ert_yaml_path: str | Path | None = None, *,
                         pricing: str = "per-action", bandwidth_unit: str = "words") -> Arch:
    """The `Arch` described by a Timeloop architecture YAML priced by its Accelergy ERT.

    Without `ert_yaml_path`, an `ERT:` section inside the architecture file
    or per-component `vector-access-energy` attributes are used. Raises
    `ArchError` naming the file and the key path of every problem.
    `bandwidth_unit` says how `read_bandwidth` / `write_bandwidth` are read:
    "words" per cycle (current Timeloop) or "bytes" per cycle (Timeloop v0.3).
    """
    doc = read_yaml(Path(arch_yaml_path), str(arch_yaml_path))
    ert = read_yaml(Path(ert_yaml_path), str(ert_yaml_path)) if ert_yaml_path is not None else None
    return arch_from_timeloop(doc, ert, name=Path(arch_yaml_path).stem, source=str(arch_yaml_path),
                              pricing=pricing, bandwidth_unit=bandwidth_unit)


def is_timeloop_arch(doc: object) -> bool:
    """True when a parsed YAML document is a Timeloop architecture rather than an accelmap arch."""
    return isinstance(doc, dict) and ("architecture" in doc or "arch" in doc)


def arch_from_timeloop(doc: object, ert: object | None, *, name: str, source: str,
                       pricing: str = "per-action", bandwidth_unit: str = "words") -> Arch:
    """Build the `Arch` from parsed Timeloop architecture and ERT documents (module docstring)."""
    if pricing not in PRICINGS:
        raise ValueError(f"unknown pricing {pricing!r}; pricings are {', '.join(PRICINGS)}")
    if bandwidth_unit not in BANDWIDTH_UNITS:
        raise ValueError(f"unknown bandwidth unit {bandwidth_unit!r}; units are {', '.join(BANDWIDTH_UNITS)}")
    problems: list[str] = []
    components = _components(doc, problems)
    if ert is None and isinstance(doc, dict) and "ERT" in doc:
        ert = {"ERT": doc["ERT"]}
    table = _ert_table(ert, problems) if ert is not None else {}
    raw = (_arch_document(components, table, pricing, bandwidth_unit, source, problems)
           if components or not problems else None)
    if problems or raw is None:
        raise ArchError(source, problems)
    converted = check_arch(raw)
    if converted:
        raise ArchError(source, [f"after conversion to accelmap's format: {p}" for p in converted])
    return build_arch(raw, name=name)


def _components(doc: object, problems: list[str]) -> list[_Component]:
    """Storage and compute components outermost first, from either Timeloop form."""
    if not is_timeloop_arch(doc):
        problems.append("(top level): expected an 'architecture:' tree (Timeloop v0.3) or an 'arch:' section (v0.2)")
        return []
    found: list[_Component] = []
    if "architecture" in doc:
        root = expect_mapping(doc["architecture"], "architecture", problems)
        for i, node in enumerate(expect_list(root.get("subtree"), "architecture.subtree", problems) or []
                                 if root else []):
            _walk(node, at("architecture.subtree", i), {}, 1, found, problems)
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


def _walk(node: object, path: str, inherited: dict, count: int, found: list[_Component],
          problems: list[str]) -> None:
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
        check_keys(entry, ("name", "class", "attributes", "description", "required_actions"), local_path, problems)
        name, own = _parse_name(entry.get("name"), at(local_path, "name"), problems)
        own_attributes = expect_mapping(entry.get("attributes", {}), at(local_path, "attributes"), problems)
        _add(found, name, local_path, entry.get("class"), {**attributes, **(own_attributes or {})},
             count * copies * own, problems)
    for i, child in enumerate(expect_list(node.get("subtree", []), at(path, "subtree"), problems) or []):
        _walk(child, at(at(path, "subtree"), i), attributes, count * copies, found, problems)


def _add(found: list[_Component], name: str | None, path: str, cls: object, attributes: dict,
         instances: int, problems: list[str]) -> None:
    """Classify one component, settle its instances and meshX, and append it unless it is a network."""
    if not isinstance(cls, str):
        problems.append(f"{at(path, 'class')}: missing; give the component class (e.g. SRAM, regfile, intmac)")
        return
    families = (("network", NETWORK_CLASSES), ("compute", COMPUTE_CLASSES), ("storage", STORAGE_CLASSES))
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
    found.append(_Component(name or "?", path, kind, cls, attributes, instances, mesh_x))


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


def _ert_table(ert: object, problems: list[str]) -> dict[str, dict[str, float]]:
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
        table[_RANGE.sub("", key).split(".")[-1]] = energies
    return table


def _arch_document(components: list[_Component], table: dict[str, dict[str, float]], pricing: str,
                   bandwidth_unit: str, source: str, problems: list[str]) -> dict | None:
    """The accelmap arch document (docs/arch-format.md) for the components."""
    storage = [c for c in components if c.kind == "storage"]
    compute = [c for c in components if c.kind == "compute"]
    if not storage or len(compute) != 1:
        problems.append("(architecture): expected storage components and exactly one MAC component; found "
                        f"{', '.join(f'{c.name} ({c.kind})' for c in components) or 'none'}")
        return None
    chain = [*storage, compute[0]]
    fanouts = [f for outer, inner in zip(chain, chain[1:]) if (f := _fanout(outer, inner, problems))]
    return {"description": f"imported from Timeloop {source} (pricing: {pricing})",
            "levels": [_level(c, i, table.get(c.name), pricing, bandwidth_unit, problems)
                       for i, c in enumerate(storage)],
            "fanouts": fanouts,
            "compute": {"mac_energy": _mac_energy(compute[0], table.get(compute[0].name), pricing, problems)}}


def _fanout(outer: _Component, inner: _Component, problems: list[str]) -> dict | None:
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


def _level(c: _Component, index: int, actions: dict[str, float] | None, pricing: str, bandwidth_unit: str,
           problems: list[str]) -> dict:
    """One storage component as an accelmap level: capacity in bits, energies in pJ per word."""
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


def _storage_energies(c: _Component, actions: dict[str, float] | None, pricing: str, block: int,
                      problems: list[str]) -> tuple[float, float, float]:
    """(read, write, update) pJ per word; an update is a read-modify-write."""
    if actions is None and "vector-access-energy" in c.attributes:
        key = at(at(c.path, "attributes"), "vector-access-energy")
        actions = {"read": expect_number(c.attributes["vector-access-energy"], key, problems, positive=False) or 0.0}
        pricing = "max-action"
    if not actions:
        problems.append(f"{c.path}: no energy for '{c.name}': the ERT has no table for it; "
                        "give the ERT Accelergy wrote for this architecture")
        return 0.0, 0.0, 0.0
    if pricing == "max-action":
        each = max(actions.values()) / block
        return each, each, 2 * each
    if "read" not in actions:
        problems.append(f"{c.path}: the ERT table of '{c.name}' has no 'read' action (actions: {', '.join(actions)})")
        return 0.0, 0.0, 0.0
    read, write = actions["read"], actions.get("write", actions["read"])
    return read / block, write / block, (read + actions.get("update", write)) / block


def _mac_energy(c: _Component, actions: dict[str, float] | None, pricing: str, problems: list[str]) -> float:
    """pJ per MAC: the ERT's `compute` (else `mac_random`) action, or its most expensive one (max-action)."""
    if not actions:
        problems.append(f"{c.path}: no energy for '{c.name}': the ERT has no table for it")
        return 0.0
    if pricing == "per-action":
        return actions.get("compute", actions.get("mac_random", max(actions.values())))
    return max(actions.values())


def arch_to_yaml(arch: Arch) -> str:
    """`arch` in accelmap's own YAML format (docs/arch-format.md); `load_arch` reads it back to an equal Arch."""
    raw: dict = {"description": arch.description or arch.name, "clock_mhz": arch.clock_mhz,
                 "levels": [_level_entry(level) for level in arch.levels]}
    if arch.fanouts:
        raw["fanouts"] = [{"name": f.name, "parent": f.parent, "meshX": f.x, "meshY": f.y, "multicast": f.multicast,
                           "reduction": f.reduction, "hop_energy": f.hop_energy / 1000} for f in arch.fanouts]
    raw["compute"] = {"mac_energy": arch.compute.mac_energy / 1000, "macs_per_pe": arch.compute.macs_per_pe}
    constraints = [_level_constraint(c) for c in arch.level_constraints] + _fanout_constraints(arch)
    if constraints:
        raw["constraints"] = constraints
    return yaml.safe_dump(raw, sort_keys=False, default_flow_style=None, width=110)


def _level_entry(level: Level) -> dict:
    """A level as a document entry: tensors, widths, capacity or partitions, energies, bandwidths."""
    if not level.storage:
        return {"name": level.name, "storage": False}
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
    return entry


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
    if c.factors:
        entry["factors"] = dict(c.factors)
    if c.permutation:
        entry["permutation"] = list(c.permutation)
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
        for key in ("x_factors", "y_factors"):
            if f.name in fixed and getattr(fixed[f.name], key):
                entry[key] = dict(getattr(fixed[f.name], key))
        if len(entry) > 1:
            entries.append(entry)
    return entries
