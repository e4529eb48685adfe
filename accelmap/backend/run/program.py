"""Reading a layer's loop program (docs/loop-program.md), trusting nothing.

`read_program` checks the file against its schema, then every field the
executor and the stream expansion use against the others and against the
layer's record in schedule.json: the layer it belongs to, loops that cover
every dim exactly, strides, the stepped loops, each descriptor's tile
against the buffer plan (extent, address, capacity), its origin (affine
coefficients, inside the tensor), its firing depth and instance loops.
Every fault is a ScheduleError naming the layer and the field. It does not
import the writer (`outdir/program.py`): what runs is what the file says.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from math import prod
from pathlib import Path
from typing import Any

import jsonschema

from accelmap.arch.spec import Arch
from accelmap.backend.outdir.buffers import buffer_of
from accelmap.backend.outdir.schedule import LayerPlan
from accelmap.errors import ScheduleError
from accelmap.ir.workload import DIMS, TENSORS

STREAMED = "MAC"
"""The keeper level of a tensor no on-chip level keeps (one operand register per MAC)."""


@dataclass(frozen=True)
class ProgramLoop:
    """One loop of the nest as the program states it."""

    name: str
    dim: str
    factor: int
    stride: int
    level: str
    spatial: bool
    stepped: bool
    fanout: str | None = None
    axis: str | None = None


@dataclass(frozen=True)
class Endpoint:
    """A descriptor's source or destination: level, buffer, word width, tile addresses, capacity."""

    level: str
    buffer: str
    word_bits: int
    addresses: tuple[int, ...]
    capacity_bits: int | None


@dataclass(frozen=True)
class Window:
    """A sliding-window fill's steady state: when `loop` advances, only the last `rows` along `axis` move."""

    loop: str
    axis: int
    rows: int


@dataclass(frozen=True)
class Psum:
    """Partial-sum rules: a residency revisits its tile when a `revisit` loop's index is > 0; then the
    tile is read back (`read_back`) into the instances with index 0 on the `leader` loops."""

    revisit: tuple[str, ...]
    read_back: bool
    leader: tuple[str, ...]


@dataclass(frozen=True)
class Transfer:
    """One descriptor: tensor, endpoints, firing depth, DRAM origin (offset + terms per tensor dim),
    tile extent, instance loops and which of them multicast (fills) or reduce (drains)."""

    id: str
    kind: str
    tensor: str
    src: Endpoint
    dst: Endpoint
    depth: str | None
    origin: tuple[tuple[int, tuple[tuple[str, int], ...]], ...]
    extent: tuple[int, ...]
    instance_loops: tuple[str, ...]
    multicast: tuple[str, ...]
    reduce: tuple[str, ...]
    window: Window | None
    psum: Psum | None

    @property
    def keeper(self) -> Endpoint:
        """The on-chip end (or the MACs' register)."""
        return self.src if self.kind == "drain" else self.dst


@dataclass(frozen=True)
class LoopProgram:
    """A checked loop program: bounds, tensors' index functions and shapes, loops, steps, compute, transfers."""

    layer: str
    bounds: dict[str, int]
    real_bounds: dict[str, int]
    pads: tuple[int, int, int, int]
    index: dict[str, tuple[tuple[int, tuple[tuple[str, int], ...]], ...]]
    shapes: dict[str, tuple[int, ...]]
    loops: tuple[ProgramLoop, ...]
    steps: tuple[str, ...]
    compute_loops: tuple[str, ...]
    box: dict[str, int]
    transfers: dict[str, Transfer]

    def loop(self, name: str) -> ProgramLoop:
        """The loop called `name`."""
        return next(lp for lp in self.loops if lp.name == name)

    def fill(self, tensor: str) -> Transfer:
        """The transfer that starts a residency of `tensor`'s tile."""
        return self.transfers["O.fill" if tensor == "O" else f"{tensor}.fill"]


@lru_cache(maxsize=1)
def program_schema() -> dict[str, Any]:
    """The JSON Schema of a loop program shipped in the package."""
    return json.loads(resources.files("accelmap.backend.outdir").joinpath("program.schema.json").read_text())


def load_program_doc(out_dir: Path, plan: LayerPlan) -> dict[str, Any]:
    """The program file of `plan` as JSON, schema-checked; ScheduleError naming the layer otherwise."""
    path = Path(out_dir) / plan.files.program
    where = f"layer {plan.name!r}: {plan.files.program}"
    if not path.is_file():
        raise ScheduleError(f"{where}: the loop program is missing")
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ScheduleError(f"{where}: not readable JSON ({err})") from None
    errors = sorted(jsonschema.Draft202012Validator(program_schema()).iter_errors(doc),
                    key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        first = errors[0]
        field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first.absolute_path).lstrip(".")
        raise ScheduleError(f"{where}: {field or '(document)'}: {first.message[:200]} "
                            f"({len(errors)} schema problem(s); recompile the model)")
    return doc


def read_program(out_dir: Path, plan: LayerPlan, arch: Arch) -> LoopProgram:
    """The checked loop program of `plan` (see the module docstring)."""
    doc = load_program_doc(out_dir, plan)
    return check_program(doc, plan, arch)


def check_program(doc: dict[str, Any], plan: LayerPlan, arch: Arch) -> LoopProgram:
    """`doc` (schema-valid) as a LoopProgram, after checking it against itself and `plan`."""
    where = f"layer {plan.name!r}: {plan.files.program}"

    def fail(field: str, message: str) -> ScheduleError:
        return ScheduleError(f"{where}: {field}: {message}")

    if doc["layer"] != plan.name:
        raise fail("layer", f"the program belongs to layer {doc['layer']!r}, not {plan.name!r} (swapped files?)")
    wl = plan.workload
    real = dict(zip(DIMS, doc["real_bounds"]))
    bounds = dict(zip(DIMS, doc["bounds"]))
    if real != wl.dims:
        raise fail("real_bounds", f"{doc['real_bounds']}, the layer's workload has {[wl.dims[d] for d in DIMS]}")
    padded = plan.mapping.bounds(wl.dims)
    if bounds != padded:
        raise fail("bounds", f"{doc['bounds']}, the mapping's (padded) bounds are {[padded[d] for d in DIMS]}")
    loops = _loops(doc, bounds, fail)
    names = {lp.name: lp for lp in loops}
    index, shapes = _tensors(doc, plan, bounds, fail)
    steps = tuple(doc["steps"])
    want_steps = tuple(lp.name for lp in loops if lp.stepped)
    if steps != want_steps:
        raise fail("steps", f"{list(steps)}, the stepped loops in nest order are {list(want_steps)}")
    compute_loops = tuple(doc["compute"]["loops"])
    for j, name in enumerate(compute_loops):
        if name not in names or not names[name].spatial:
            raise fail(f"compute.loops[{j}]", f"{name!r} is not a spatial loop of the program")
    box = dict(zip(DIMS, doc["compute"]["box"]))
    for d in DIMS:
        outside = prod(lp.factor for lp in loops if lp.dim == d and (lp.stepped or lp.name in compute_loops))
        if outside * box[d] != bounds[d]:
            raise fail("compute.box", f"{d} box {box[d]} x {outside} (stepped and compute loops) does not cover "
                                      f"the bound {bounds[d]}")
    transfers = {}
    for j, raw in enumerate(doc["transfers"]):
        transfer = _transfer(raw, f"transfers[{j}]", plan, arch, names, index, shapes, steps, fail)
        if transfer.id in transfers:
            raise fail(f"transfers[{j}].id", f"{transfer.id!r} appears twice")
        transfers[transfer.id] = transfer
    if sorted(transfers) != ["I.fill", "O.drain", "O.fill", "W.fill"]:
        raise fail("transfers", f"ids {sorted(transfers)}; a program has W.fill, I.fill, O.fill and O.drain")
    pads = doc["zero_padding"]
    return LoopProgram(plan.name, bounds, real, (pads["top"], pads["left"], pads["bottom"], pads["right"]), index,
                       shapes, loops, steps, compute_loops, box, transfers)


def _loops(doc: dict[str, Any], bounds: dict[str, int], fail) -> tuple[ProgramLoop, ...]:
    """The loops, with names unique, strides the product of the same dim's factors inside, every dim covered."""
    loops = tuple(ProgramLoop(lp["name"], lp["dim"], lp["factor"], lp["stride"], lp["level"],
                              lp["kind"] == "spatial", bool(lp.get("stepped", False)), lp.get("fanout"), lp.get("axis"))
                  for lp in doc["loops"])
    seen: set[str] = set()
    inside = {d: 1 for d in DIMS}
    for j in range(len(loops) - 1, -1, -1):
        lp, raw = loops[j], doc["loops"][j]
        if lp.name in seen:
            raise fail(f"loops[{j}].name", f"{lp.name!r} names two loops")
        seen.add(lp.name)
        if lp.spatial != ("fanout" in raw and "axis" in raw) or (lp.spatial and "stepped" in raw):
            raise fail(f"loops[{j}]", "a spatial loop has a fanout and an axis (and no 'stepped'); a temporal one none")
        if lp.stride != inside[lp.dim]:
            raise fail(f"loops[{j}].stride", f"{lp.stride}; the {lp.dim} loops inside it multiply to {inside[lp.dim]}")
        inside[lp.dim] *= lp.factor
    for d in DIMS:
        if inside[d] != bounds[d]:
            raise fail("loops", f"the {d} loops multiply to {inside[d]}, the bound is {bounds[d]} (a dim not covered)")
    return loops


def _tensors(doc: dict[str, Any], plan: LayerPlan, bounds: dict[str, int], fail):
    """Each tensor's index functions (the workload's), shapes (padded and real) and DRAM strides."""
    index, shapes = {}, {}
    for t in TENSORS:
        raw = doc["tensors"][t]
        want = [{"terms": [list(term) for term in idx.terms], "offset": idx.offset}
                for idx in plan.workload.indices(t)]
        if raw["index"] != want:
            raise fail(f"tensors.{t}.index", f"{raw['index']} is not the layer's index of {t} ({want})")
        index[t] = tuple((e["offset"], tuple((d, c) for d, c in e["terms"])) for e in raw["index"])
        shape = tuple(off + 1 + sum(c * (bounds[d] - 1) for d, c in terms) for off, terms in index[t])
        if tuple(raw["shape"]) != shape:
            raise fail(f"tensors.{t}.shape", f"{raw['shape']}; the bounds give {list(shape)}")
        real = plan.workload.tensor_shape(t)
        if tuple(raw["data_shape"]) != real:
            raise fail(f"tensors.{t}.data_shape", f"{raw['data_shape']}; the layer's {t} is {list(real)}")
        strides = [prod(shape[j + 1:]) for j in range(len(shape))]
        if raw["dram_strides"] != strides:
            raise fail(f"tensors.{t}.dram_strides", f"{raw['dram_strides']}; row-major strides of {list(shape)} "
                                                    f"are {strides}")
        shapes[t] = shape
    return index, shapes


def _endpoint(raw: dict[str, Any]) -> Endpoint:
    return Endpoint(raw["level"], raw["buffer"], raw["word_bits"], tuple(raw.get("addresses", ())),
                    raw.get("capacity_bits"))


def _transfer(raw: dict[str, Any], field: str, plan: LayerPlan, arch: Arch, loops: dict[str, ProgramLoop],
              index, shapes, steps: tuple[str, ...], fail) -> Transfer:
    """One descriptor, checked: endpoints, tile against the buffer plan, origin, depth, instances, window."""
    t = raw["tensor"]
    expected_id = {"fill": f"{t}.fill", "psum_fill": "O.fill", "drain": "O.drain"}[raw["kind"]]
    if raw["id"] != expected_id:
        raise fail(f"{field}.id", f"{raw['id']!r}; a {raw['kind']} of {t} is {expected_id!r}")
    inst = raw["instances"]
    transfer = Transfer(raw["id"], raw["kind"], t, _endpoint(raw["src"]), _endpoint(raw["dst"]), raw["depth"],
                        tuple((o["offset"], tuple((n, c) for n, c in o["terms"])) for o in raw["origin"]),
                        tuple(raw["extent"]), tuple(inst["loops"]), tuple(inst.get("multicast", ())),
                        tuple(inst.get("reduce", ())),
                        None if raw.get("window") is None else Window(**raw["window"]),
                        None if raw.get("psum") is None else Psum(tuple(raw["psum"]["revisit"]),
                                                                  raw["psum"]["read_back"],
                                                                  tuple(raw["psum"]["leader"])))
    dram, keeper = (transfer.dst, transfer.src) if transfer.kind == "drain" else (transfer.src, transfer.dst)
    dram_side = "dst" if transfer.kind == "drain" else "src"
    keeper_side = "src" if transfer.kind == "drain" else "dst"
    if dram.level != arch.levels[0].name or dram.word_bits != arch.levels[0].tensors[t].word_bits:
        raise fail(f"{field}.{dram_side}", f"{dram.level} with {dram.word_bits}-bit words; {t} moves to and from "
                                           f"{arch.levels[0].name} in {arch.levels[0].tensors[t].word_bits}-bit words")
    _check_keeper(transfer, f"{field}.{keeper_side}", plan, arch, fail)
    if list(raw["tile_strides"]) != [prod(transfer.extent[j + 1:]) for j in range(len(transfer.extent))]:
        raise fail(f"{field}.tile_strides", f"{raw['tile_strides']} are not the row-major strides of the extent "
                                            f"{list(transfer.extent)}")
    _check_instances(transfer, field, loops, fail)
    if transfer.depth is not None and transfer.depth not in steps:
        raise fail(f"{field}.depth", f"{transfer.depth!r} is not a stepped loop")
    _check_origin(transfer, field, loops, index, shapes, fail)
    if transfer.window is not None:
        w = transfer.window
        if t != "I" or w.loop != transfer.depth or loops[w.loop].dim not in ("PR" if w.axis == 3 else "QS"):
            raise fail(f"{field}.window", "a window slides I along the axis its firing loop (the depth) moves")
    if transfer.psum is not None:
        for key, names in (("revisit", transfer.psum.revisit), ("leader", transfer.psum.leader)):
            pool = steps if key == "revisit" else transfer.instance_loops
            bad = [n for n in names if n not in pool]
            if bad:
                raise fail(f"{field}.psum.{key}", f"{bad} are not {'stepped' if key == 'revisit' else 'instance'} loops")
    return transfer


def _check_keeper(transfer: Transfer, field: str, plan: LayerPlan, arch: Arch, fail) -> None:
    """The keeper end: a planned tile at a planned address of the right buffer, inside its capacity."""
    k, t = transfer.keeper, transfer.tensor
    words = prod(transfer.extent)
    if k.level == STREAMED:
        if k.addresses != (0,) or k.capacity_bits != words * k.word_bits:
            raise fail(field, f"an operand register holds one tile at address 0 in {words * k.word_bits} bits")
        return
    names = [lv.name for lv in arch.levels]
    if k.level not in names[1:]:
        raise fail(f"{field}.level", f"{k.level!r} is not an on-chip level of {arch.name}")
    level = arch.levels[names.index(k.level)]
    entry = next((e for e in plan.buffers if e.level == k.level and e.tensor == t), None)
    if entry is None:
        raise fail(f"{field}.level", f"the buffer plan has no tile of {t} at {k.level}")
    if (k.buffer, k.word_bits) != (entry.buffer, entry.word_bits):
        raise fail(f"{field}.buffer", f"{k.buffer} with {k.word_bits}-bit words; the plan has {entry.buffer} with "
                                      f"{entry.word_bits}-bit words")
    if transfer.extent != entry.tile_shape:
        raise fail(f"{field.rsplit('.', 1)[0]}.extent", f"{list(transfer.extent)}; the buffer plan's tile of {t} "
                                                        f"at {k.level} is {list(entry.tile_shape)}")
    planned = tuple(h.start_word for h in entry.halves)
    if k.addresses != planned:
        raise fail(f"{field}.addresses", f"{list(k.addresses)}; the buffer plan puts {t} at {list(planned)} "
                                         "(a wrong base)")
    _, capacity = buffer_of(level, t)
    limit = capacity if capacity is not None else max(h.stop_bit for e in plan.buffers
                                                      if e.level == k.level and e.buffer == k.buffer for h in e.halves)
    if k.capacity_bits != limit:
        raise fail(f"{field}.capacity_bits", f"{k.capacity_bits}; {k.level}/{k.buffer} holds {limit} bits")
    for addr in k.addresses:
        if (addr + words) * k.word_bits > limit:
            raise fail(f"{field}.addresses", f"the tile at word {addr} ({words} words of {k.word_bits} bits) lies "
                                             f"outside the buffer's {limit} bits")


def _check_instances(transfer: Transfer, field: str, loops: dict[str, ProgramLoop], fail) -> None:
    """Instance loops are spatial loops, in nest order; multicast / reduce loops are among them."""
    order = list(loops)
    for name in transfer.instance_loops:
        if name not in loops or not loops[name].spatial:
            raise fail(f"{field}.instances.loops", f"{name!r} is not a spatial loop")
    if [order.index(n) for n in transfer.instance_loops] != sorted(order.index(n) for n in transfer.instance_loops):
        raise fail(f"{field}.instances.loops", "instance loops are listed in nest order")
    for key, names in (("multicast", transfer.multicast), ("reduce", transfer.reduce)):
        bad = [n for n in names if n not in transfer.instance_loops]
        if bad:
            raise fail(f"{field}.instances.{key}", f"{bad} are not instance loops of the descriptor")


def _check_origin(transfer: Transfer, field: str, loops: dict[str, ProgramLoop], index, shapes, fail) -> None:
    """Each origin term is the tensor's index coefficient times the loop's stride, over stepped or instance
    loops; the tile stays inside the tensor at every loop index."""
    t = transfer.tensor
    allowed = set(transfer.instance_loops) | {n for n, lp in loops.items() if lp.stepped}
    for j, ((offset, terms), (want_offset, want_terms)) in enumerate(zip(transfer.origin, index[t])):
        coefs = dict(want_terms)
        if offset != want_offset:
            raise fail(f"{field}.origin[{j}].offset", f"{offset}; {t}'s index has offset {want_offset}")
        for name, coef in terms:
            lp = loops.get(name)
            if lp is None or name not in allowed:
                raise fail(f"{field}.origin[{j}]", f"{name!r} is not a stepped or instance loop")
            if lp.dim not in coefs or coef != coefs[lp.dim] * lp.stride:
                want = coefs.get(lp.dim, 0) * lp.stride
                raise fail(f"{field}.origin[{j}]", f"term {name} x {coef}: {t}'s index and the loop's stride give "
                                                   f"{want}")
        reach = offset + sum(coef * (loops[name].factor - 1) for name, coef in terms) + transfer.extent[j]
        if reach > shapes[t][j]:
            raise fail(f"{field}.origin[{j}]", f"the tile reaches {reach} on dim {j} of {t}, which has "
                                               f"{shapes[t][j]} (a descriptor outside its tensor)")
