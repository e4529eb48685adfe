"""Timeloop constraints: read into accelmap's `constraints:` entries, and an `Arch`'s written as Timeloop's.

Read, from any of the files a Timeloop user keeps them in:
`architecture_constraints:` and `mapspace_constraints:` (each a `targets:`
list, or a list), the v0.3 `constraints:` inside `architecture:`, v0.2
`mapspace: {constraints: [...]}` and the per-component `constraints:` of a
v0.4 (timeloopfe) architecture. Each directive names a `target` (storage
level name, or id with 0 innermost; `name` in old files) and a `type`:

- `temporal`: `factors` (`C=1`, `C1`, `C=0` the whole bound, `C<=4`,
  `C>=2`; a string or a list) and `permutation` (inner to outer: the
  listed dims are the level's innermost loops, the rest outside) become the
  level's `factors` / `max_factors` / `min_factors` / `innermost_loops`;
- `spatial`: the same factors on the fanout below the target, `split`
  sending the permutation's first `split` dims to X and the rest to Y
  (`x_dims` / `y_dims`); the order within an axis changes no count;
- `bypass` (`datatype`, `bypassing`, timeloopfe's `dataspace`): `keep` / `bypass`
  data spaces.

Anything else (`utilization`, `no_multicast`, `max_overbooked_proportion`,
unknown keys, a factor on an axis no split names) is refused with its file,
key path and target; nothing is dropped. Mapspace constraints are search
hints in Timeloop: they are read only from the files given as mapspace
constraints, and a file given as architecture constraints that holds some
gets a note saying they were left out.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from accelmap.arch.check_values import at, show
from accelmap.arch.spec import DIMS, TENSORS, Arch, Fanout, FanoutConstraint
from accelmap.errors import ArchError
from accelmap.interop.timeloop.components import components
from accelmap.interop.timeloop.ert import RANGE
from accelmap.interop.timeloop.names import DATA_SPACES, DIM_NAMES, TIMELOOP_DIMS, read_yaml
from accelmap.interop.timeloop.yaml_text import dump

BYPASS_TYPES = ("bypass", "datatype", "bypassing", "dataspace")
DIRECTIVE_KEYS = ("target", "name", "type", "factors", "permutation", "split", "keep", "bypass", "attributes")
V4_SECTIONS = {"temporal": "temporal", "spatial": "spatial", "dataspace": "bypass"}
"""A v0.4 component's `constraints:` section -> the directive type it holds."""
_NOT_CNN = "; accelmap reads constraints for Timeloop's CNN layer shape only (not e.g. gemm_ABZ's A, B, Z)"
DATA_SPACE_OF = {tensor: name for name, tensor in DATA_SPACES.items()}
"""accelmap tensor -> Timeloop data space."""
_FACTOR = re.compile(r"([A-Za-z]+)\s*(<=|>=|=)?\s*(\d+)")


@dataclass(frozen=True)
class Directive:
    """One Timeloop constraint: where it was written, its target and type, and its keys."""

    where: str
    target: str | int
    type: str
    body: dict


@dataclass
class ReadConstraints:
    """Directives read from constraint files, and what the reader wants the user told."""

    directives: list[Directive] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_constraint_files(paths: list[str | Path], mapspace_paths: list[str | Path] = ()) -> ReadConstraints:
    """Directives in `paths` (architecture constraints) and `mapspace_paths` (mapspace constraints too)."""
    found = ReadConstraints()
    problems: list[str] = []
    for path, mapspace in [*((p, False) for p in paths), *((p, True) for p in mapspace_paths)]:
        doc = read_yaml(path, "constraints")
        before = len(found.directives), len(found.notes)
        directives_in(doc, str(path), found, problems, mapspace=mapspace)
        if (len(found.directives), len(found.notes)) == before and not problems:
            problems.append(f"{path}: no architecture_constraints, mapspace_constraints or targets found")
    if problems:
        raise ArchError(str(paths[0] if paths else mapspace_paths[0]), problems)
    return found


def directives_in(doc: object, source: str, found: ReadConstraints, problems: list[str], *,
                  mapspace: bool) -> None:
    """Add the directives a parsed YAML document holds (see the module docstring for where they may sit)."""
    if not isinstance(doc, dict):
        if isinstance(doc, list):
            _targets(doc, f"{source}: (top level)", found, problems)
        return
    sections = [("architecture_constraints", doc.get("architecture_constraints"), False)]
    arch = doc.get("architecture")
    if isinstance(arch, dict):
        sections.append(("architecture.constraints", arch.get("constraints"), False))
    sections.append(("mapspace_constraints", doc.get("mapspace_constraints"), True))
    old = doc.get("mapspace")
    if isinstance(old, dict):
        sections.append(("mapspace.constraints", old.get("constraints"), True))
    if "targets" in doc or "constraints" in doc and not isinstance(arch, dict):
        sections.append(("(top level)", doc, mapspace))
    for key, section, is_mapspace in sections:
        if section is None:
            continue
        if is_mapspace and not mapspace:
            found.notes.append(f"{source}: {key} not imported: Timeloop's mapspace constraints are search "
                               "hints; give the file with --mapspace-constraints to import them")
            continue
        listed = section.get("targets", section.get("constraints")) if isinstance(section, dict) else section
        if not isinstance(listed, list):
            problems.append(f"{source}: {key}: expected a list of targets (or a 'targets:' list), got {show(listed)}")
            continue
        path = f"{key}.targets" if isinstance(section, dict) and "targets" in section else key
        _targets(listed, f"{source}: {path}", found, problems)
        if is_mapspace:
            found.notes.append(f"{source}: {key} imported as architecture constraints (--mapspace-constraints)")


def _targets(listed: list, where: str, found: ReadConstraints, problems: list[str]) -> None:
    """Directives of a targets list; an entry may nest its own `constraints:` list (Timeloop's other form)."""
    for i, entry in enumerate(listed):
        path = at(where, i)
        if not isinstance(entry, dict):
            problems.append(f"{path}: expected a constraint with target and type, got {show(entry)}")
            continue
        nested = entry.get("constraints")
        if isinstance(nested, list):
            base = {k: v for k, v in entry.items() if k != "constraints"}
            for j, inner in enumerate(nested):
                if isinstance(inner, dict):
                    _directive({**base, **inner}, at(at(path, "constraints"), j), found, problems)
                else:
                    problems.append(f"{at(at(path, 'constraints'), j)}: expected a constraint, got {show(inner)}")
        else:
            _directive(entry, path, found, problems)


def _directive(entry: dict, path: str, found: ReadConstraints, problems: list[str]) -> None:
    """One directive, its `attributes:` (Timeloop's other spelling) merged in."""
    body = {k: v for k, v in entry.items() if k != "attributes"}
    if isinstance(entry.get("attributes"), dict):
        body.update(entry["attributes"])
    target = body.get("target", body.get("name"))
    kind = body.get("type")
    if target is None or not isinstance(kind, str):
        problems.append(f"{path}: a constraint needs a target (level name or id) and a type "
                        "(temporal, spatial or bypass)")
        return
    found.directives.append(Directive(path, target, kind, body))


def component_directives(name: str, constraints: object, path: str, problems: list[str]) -> list[Directive]:
    """Directives of a v0.4 (timeloopfe) component's own `constraints:` section."""
    if not isinstance(constraints, dict):
        problems.append(f"{path}: expected a mapping with temporal, spatial or dataspace, got {show(constraints)}")
        return []
    directives = []
    for section, body in constraints.items():
        kind = V4_SECTIONS.get(section)
        if kind is None or not isinstance(body, dict):
            problems.append(f"{at(path, section)}: accelmap reads temporal, spatial and dataspace constraints; "
                            f"'{section}' of {name} cannot be expressed, remove it")
            continue
        directives.append(Directive(at(path, section), name, kind, {**body, "target": name, "type": kind}))
    return directives


# -- Timeloop directives -> accelmap constraints entries ------------------------------------------

def to_accelmap(directives: list[Directive], raw: dict, problems: list[str]) -> list[dict]:
    """accelmap `constraints:` entries (docs/arch-format.md) for the directives on the arch document `raw`.

    Directives on one target merge; a key given twice is a conflict, as in
    Timeloop. Keep / bypass on a buffer-less level is checked and needs no
    entry (it holds nothing); anything accelmap cannot express is a problem.
    """
    levels = [level["name"] for level in raw["levels"]]
    storage = {level["name"]: level.get("storage", True) for level in raw["levels"]}
    fanouts = {fanout["parent"]: fanout for fanout in raw.get("fanouts", [])}
    entries: dict[tuple[str, str], dict] = {}
    for d in directives:
        level = _level_name(d, levels, problems)
        if level is None:
            continue
        unknown = [k for k in d.body if k not in DIRECTIVE_KEYS]
        for key in unknown:
            problems.append(f"{at(d.where, key)}: '{key}' (target {level}, type {d.type}) cannot be expressed in "
                            "accelmap's constraints; remove it")
        if d.type == "temporal":
            _temporal(d, entries.setdefault(("level", level), {"level": level}), problems)
        elif d.type == "spatial":
            _spatial(d, level, fanouts.get(level), entries, problems)
        elif d.type in BYPASS_TYPES:
            _bypass(d, level, storage[level], entries.setdefault(("level", level), {"level": level}), problems)
        else:
            problems.append(f"{at(d.where, 'type')}: '{d.type}' on {level} cannot be expressed in accelmap's "
                            "constraints (it reads temporal, spatial and bypass); remove it")
    return [entry for entry in entries.values() if len(entry) > 1]


def _level_name(d: Directive, levels: list[str], problems: list[str]) -> str | None:
    """The accelmap level a directive targets: a name (ranges stripped) or Timeloop's id, 0 innermost."""
    if isinstance(d.target, str) and RANGE.sub("", d.target) in levels:
        return RANGE.sub("", d.target)
    if isinstance(d.target, int) and not isinstance(d.target, bool) and 0 <= d.target < len(levels):
        return levels[len(levels) - 1 - d.target]
    problems.append(f"{at(d.where, 'target')}: no storage level {show(d.target)}; levels are {', '.join(levels)}")
    return None


def _factors(d: Directive, problems: list[str]) -> dict[str, dict[str, int]]:
    """`factors` as {"factors": {dim: n}, "max_factors": ..., "min_factors": ...} in accelmap's dims."""
    value = d.body.get("factors", "")
    text = " ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    out: dict[str, dict[str, int]] = {"factors": {}, "max_factors": {}, "min_factors": {}}
    key_of = {"=": "factors", None: "factors", "<=": "max_factors", ">=": "min_factors"}
    for match in _FACTOR.finditer(text):
        name, op, number = match.groups()
        dim = DIM_NAMES.get(name)
        if dim is None:
            problems.append(f"{at(d.where, 'factors')}: {name!r} (target {d.target}) is not a dim of Timeloop's "
                            f"CNN layer ({', '.join(TIMELOOP_DIMS.values())}){_NOT_CNN}")
            continue
        bound = out[key_of[op]]
        if dim in bound:
            problems.append(f"{at(d.where, 'factors')}: {name} is given twice in {text!r}")
        if op in ("<=", ">=") and int(number) == 0:
            problems.append(f"{at(d.where, 'factors')}: {match.group(0)!r}: a bound must be positive")
            continue
        bound[dim] = int(number)
    rest = _FACTOR.sub("", text).replace(",", " ").strip()
    if rest:
        problems.append(f"{at(d.where, 'factors')}: cannot read {rest!r} in {text!r}; write factors as "
                        "'C=1 M<=4 P>=2'")
    return out


def _permutation(d: Directive, problems: list[str]) -> list[str]:
    """`permutation` (a string or list, inner to outer) as accelmap dims, inner to outer."""
    value = d.body.get("permutation", "")
    items = [str(v) for v in value] if isinstance(value, list) else list(str(value).replace(" ", "").replace(",", ""))
    dims: list[str] = []
    for item in items:
        dim = DIM_NAMES.get(item)
        if dim is None or dim in dims:
            why = (f" (K, older files' name, and M both name the output channels){_NOT_CNN}" if dim == "K"
                   else "" if dim else _NOT_CNN)
            problems.append(f"{at(d.where, 'permutation')}: {item!r} (target {d.target}) is "
                            f"{'repeated' if dim else 'not a dim'} in {show(value)}{why}")
        else:
            dims.append(dim)
    return dims


def _put(entry: dict, key: str, value: object, d: Directive, problems: list[str]) -> None:
    """Set `entry[key]`, refusing a second value for one target (Timeloop's re-specification error)."""
    if key in entry and entry[key] != value:
        problems.append(f"{d.where}: {key} of {entry.get('level', entry.get('fanout'))} is given twice "
                        f"({show(entry[key])} and {show(value)}); merge the constraints")
    entry[key] = value


def _merge(entry: dict, key: str, values: dict[str, int], d: Directive, problems: list[str]) -> None:
    """Add dim -> factor items to `entry[key]`, refusing a dim given two different factors."""
    have = entry.setdefault(key, {})
    for dim, n in values.items():
        if have.get(dim, n) != n:
            problems.append(f"{d.where}: {key} {dim} of {entry.get('level', entry.get('fanout'))} is given twice "
                            f"({have[dim]} and {n}); merge the constraints")
        have[dim] = n


def _temporal(d: Directive, entry: dict, problems: list[str]) -> None:
    """Temporal factors and bounds; the permutation's dims become the level's innermost loops."""
    for key in ("keep", "bypass", "split"):
        if key in d.body:
            problems.append(f"{at(d.where, key)}: '{key}' belongs to a {'bypass' if key != 'split' else 'spatial'} "
                            f"constraint, not a temporal one on {entry['level']}")
    for key, values in _factors(d, problems).items():
        if values:
            _merge(entry, key, values, d, problems)
    order = _permutation(d, problems)
    if order:
        _put(entry, "innermost_loops", list(reversed(order)), d, problems)


def _spatial(d: Directive, level: str, fanout: dict | None, entries: dict, problems: list[str]) -> None:
    """Spatial factors on the fanout below `level`, on the axis the permutation's split gives each dim."""
    factors = _factors(d, problems)
    order = _permutation(d, problems)
    if fanout is None:
        wider = {dim: n for values in factors.values() for dim, n in values.items() if n != 1}
        if wider:
            problems.append(f"{at(d.where, 'factors')}: {level} has no spatial fanout below it, so "
                            f"{', '.join(f'{k}={v}' for k, v in wider.items())} cannot be unrolled there")
        return
    entry = entries.setdefault(("fanout", fanout["name"]), {"fanout": fanout["name"]})
    width = {"x": fanout.get("meshX", 1), "y": fanout.get("meshY", 1)}
    split = d.body.get("split")
    axis_of: dict[str, str] = {}
    if split is not None:
        if isinstance(split, bool) or not isinstance(split, int) or split < 0:
            problems.append(f"{at(d.where, 'split')}: expected a permutation position (0 or more), got {show(split)}")
            return
        rest = [dim for dim in DIMS if dim not in order]
        if split > len(order) and rest:
            problems.append(f"{at(d.where, 'split')}: {split} is past the {len(order)} dims the permutation lists "
                            f"on {level}, so which of {', '.join(rest)} go to X is Timeloop's search choice; "
                            "list every dim in the permutation")
            return
        axis_of = {dim: "x" if pos < split else "y" for pos, dim in enumerate([*order, *rest])}
        _put(entry, "x_dims", [dim for dim in DIMS if axis_of[dim] == "x"], d, problems)
        _put(entry, "y_dims", [dim for dim in DIMS if axis_of[dim] == "y"], d, problems)
    for key, values in factors.items():
        for dim, n in values.items():
            axes = [axis_of[dim]] if dim in axis_of else [a for a in ("x", "y") if width[a] > 1] or ["x"]
            if len(axes) > 1 and n != 1:
                problems.append(f"{at(d.where, 'factors')}: {dim}={n} on the {width['x']} x {width['y']} fanout "
                                f"below {level} does not say X or Y; give a split (and permutation)")
                continue
            for axis in axes if n == 1 and key == "factors" else axes[:1]:
                _merge(entry, f"{axis}_{key}", {dim: n}, d, problems)


def _bypass(d: Directive, level: str, storage: bool, entry: dict, problems: list[str]) -> None:
    """`keep` / `bypass` data spaces; on a buffer-less level only bypass is possible and needs no entry."""
    for key in ("keep", "bypass"):
        if key not in d.body:
            continue
        names = d.body[key] if isinstance(d.body[key], list) else [d.body[key]]
        tensors = []
        for name in names:
            if name not in DATA_SPACES:
                problems.append(f"{at(d.where, key)}: {show(name)} (target {d.target}) is not a data space "
                                f"of Timeloop's CNN layer ({', '.join(DATA_SPACES)}){_NOT_CNN}")
            else:
                tensors.append(DATA_SPACES[name])
        if not storage:
            if key == "keep" and tensors:
                problems.append(f"{at(d.where, 'keep')}: {level} holds no data (buffer-less), it cannot keep "
                                f"{', '.join(names)}")
            continue
        _put(entry, key, [t for t in TENSORS if t in {*entry.get(key, ()), *tensors}], d, problems)


# -- accelmap constraints -> Timeloop architecture_constraints ------------------------------------

def constraints_to_timeloop(arch: Arch) -> str:
    """The arch's constraints as Timeloop `architecture_constraints` targets on `arch_to_timeloop`'s components.

    A level's temporal constraints go to its innermost component, keep /
    bypass to each component with the tensors it holds; a fanout's X
    constraints to its level, Y to the `<fanout>_Y` stage when it has one.
    What Timeloop cannot say (a relative loop order that is not the
    innermost loops) is listed as `# accelmap:` comments.
    """
    comps = components(arch)
    notes: list[str] = []
    targets: list[dict] = []
    for c in arch.level_constraints:
        i = arch.level_index(c.level)
        own = [comp for comp in comps if comp.level == i and comp.y_of is None]
        factors = _factor_text(c.factors, c.max_factors, c.min_factors)
        temporal: dict = {"target": own[-1].name, "type": "temporal"}
        if factors:
            temporal["factors"] = factors
        if c.innermost_loops:
            temporal["permutation"] = "".join(TIMELOOP_DIMS[d] for d in reversed(c.innermost_loops))
        if c.permutation:
            notes.append(f"level {c.level}: the relative loop order {' '.join(c.permutation)} (outer to inner) "
                         "is not a Timeloop permutation (innermost loops) and is not written")
        if len(temporal) > 2:
            targets.append(temporal)
        for comp in own:
            keep = [DATA_SPACE_OF[t] for t in TENSORS if t in c.keep and t in comp.tensors]
            bypass = [DATA_SPACE_OF[t] for t in TENSORS if t in c.bypass]
            if keep or bypass:
                targets.append({"target": comp.name, "type": "bypass", **({"keep": keep} if keep else {}),
                                **({"bypass": bypass} if bypass else {})})
    fixed = {c.fanout: c for c in arch.fanout_constraints}
    for f in arch.fanouts:
        i = arch.level_index(f.parent)
        parent = [comp for comp in comps if comp.level == i and comp.y_of is None][-1].name
        stage_y = next((comp.name for comp in comps if comp.y_of == i), None)
        stages = [(parent, ("x",)), (stage_y, ("y",))] if stage_y else [(parent, ("x", "y"))]
        for target, axes in stages:
            spatial = _spatial_target(f, fixed.get(f.name), target, axes)
            if spatial:
                targets.append(spatial)
    grouped = [c.level for c in arch.level_constraints if "G" in {*c.factors, *c.max_factors, *c.min_factors}]
    notes += [f"level {name}: constraints on G are not written (Timeloop's CNN layer has G only when grouped)"
              for name in grouped]
    text = "".join(f"# accelmap: {note}\n" for note in notes)
    return text + dump({"architecture_constraints": {"targets": targets}})



def _factor_text(fixed: dict[str, int], most: dict[str, int], least: dict[str, int]) -> str:
    """Timeloop's factors string: 'M=1 C<=4 P>=2' (G left out: the CNN layer has it only when grouped)."""
    parts = [f"{TIMELOOP_DIMS[d]}{op}{n}" for op, values in (("=", fixed), ("<=", most), (">=", least))
             for d, n in values.items() if d != "G"]
    return " ".join(parts)


def _spatial_target(f: Fanout, c: FanoutConstraint | None, target: str, axes: tuple[str, ...]) -> dict | None:
    """The spatial directive of one Timeloop fanout stage of `f` carrying `axes`: the factors and bounds
    of those axes (a dim an axis does not allow fixed to 1), and the X / Y dims as permutation + split."""
    width = {"x": f.x, "y": f.y}
    allowed = {"x": f.x_dims, "y": f.y_dims}
    factors: dict[str, dict[str, int]] = {"factors": {}, "max_factors": {}, "min_factors": {}}
    for axis in (a for a in axes if width[a] > 1):
        for key in factors:
            factors[key].update(getattr(c, f"{axis}_{key}") if c is not None else {})
        if allowed[axis] is not None:
            factors["factors"].update({d: 1 for d in DIMS if d not in allowed[axis] and d not in factors["factors"]})
    directive = {"target": target, "type": "spatial"}
    text = _factor_text(factors["factors"], factors["max_factors"], factors["min_factors"])
    if text:
        directive["factors"] = text
    if len(axes) == 2 and f.x_dims is not None and f.y_dims is not None:
        on_x = [d for d in DIMS if d in f.x_dims and d != "G"]
        directive["permutation"] = "".join(TIMELOOP_DIMS[d] for d in on_x + [d for d in DIMS if d not in on_x
                                                                             and d != "G"])
        directive["split"] = len(on_x)
    return directive if len(directive) > 2 else None
