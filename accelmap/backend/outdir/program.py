"""The loop program of one mapped layer: its loop nest and, at each loop depth, the transfers there.

A transfer is a descriptor (docs/loop-program.md): tensor, source and
destination buffer, tile addresses, the DRAM origin as an affine function of
the loop indices, tile extents and strides, and when it fires. Its size does
not grow with the number of tiles. `build_program` is the writer's side,
made from what schedule.json records (workload, mapping, arch, buffer plan);
the executor reads the file and never imports this module.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from accelmap.arch.spec import Arch
from accelmap.backend.outdir.buffers import BufferEntry, buffer_of
from accelmap.backend.outdir.nest import NestLoop, layer_nest, nest_loops
from accelmap.ir.workload import DIMS, TENSORS, Workload
from accelmap.mapper.mapping import Mapping

PROGRAM_FORMAT = "accelmap-loop-program"
PROGRAM_VERSION = 1
MAC_LEVEL = "MAC"
"""The keeper name of a tensor no on-chip level keeps: it streams to the MACs' operand registers."""
WINDOW_AXIS = {"P": 3, "R": 3, "Q": 4, "S": 4}
"""Sliding-window dims and the axis of I ([N,G,C,H,W]) they move."""


def loop_names(loops: tuple[NestLoop, ...]) -> list[str]:
    """Each loop's variable, as in the loop-nest text: dim, level, axis (`k1`, `c2x`); unique."""
    names: list[str] = []
    for loop in loops:
        base = f"{loop.dim.lower()}{loop.level}{loop.axis or ''}"
        name, n = base, 1
        while name in names:
            n += 1
            name = f"{base}_{n}"
        names.append(name)
    return names


def row_major(shape: tuple[int, ...] | list[int]) -> list[int]:
    """Row-major strides of `shape`."""
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= size
    return strides[::-1]


def build_program(layer: str, workload: Workload, mapping: Mapping, arch: Arch, buffers: tuple[BufferEntry, ...],
                  pads: tuple[int, int, int, int] = (0, 0, 0, 0)) -> dict[str, Any]:
    """The loop program of `layer` (docs/loop-program.md) as a JSON-ready dict.

    `pads` (top, left, bottom, right) are the rows and columns of zeros the
    canonical input I includes (recorded, not moved: DRAM holds them).
    """
    loops = nest_loops(mapping, arch)
    names = loop_names(loops)
    nest = layer_nest(workload, mapping, arch)
    deepest = max(tn.keeper for tn in nest.tensors.values())
    outer = [i for i, lp in enumerate(loops) if not lp.spatial and lp.level < deepest]
    padded = mapping.bounds(workload.dims)
    wl = Workload(tuple((d, padded[d]) for d in DIMS), workload.stride, workload.dilation, workload.kind,
                  workload.weights_from_activations)
    tensors = {}
    for t in TENSORS:
        shape = wl.tensor_shape(t)
        tensors[t] = {"index": [{"terms": [[d, c] for d, c in idx.terms], "offset": idx.offset}
                                for idx in workload.indices(t)],
                      "shape": list(shape), "data_shape": list(workload.tensor_shape(t)),
                      "word_bits": arch.levels[0].tensors[t].word_bits, "dram_strides": row_major(shape)}
    top, left, bottom, right = pads
    transfers = []
    for t in TENSORS:
        transfers += _descriptors(t, workload, arch, buffers, nest, loops, names, outer)
    return {
        "format": PROGRAM_FORMAT, "version": PROGRAM_VERSION, "layer": layer,
        "dims": list(DIMS), "bounds": [padded[d] for d in DIMS], "real_bounds": [workload.dims[d] for d in DIMS],
        "zero_padding": {"top": top, "left": left, "bottom": bottom, "right": right},
        "tensors": tensors,
        "loops": [_loop_doc(lp, name, arch, lp.level < deepest) for lp, name in zip(loops, names)],
        "steps": [names[i] for i in outer],
        "compute": {"loops": [names[i] for i, lp in enumerate(loops) if lp.spatial and lp.level < deepest],
                    "box": [nest.inner[d] for d in DIMS]},
        "transfers": transfers,
    }


def _loop_doc(loop: NestLoop, name: str, arch: Arch, stepped: bool) -> dict[str, Any]:
    """One loop: name, dim, factor, stride, level, and the fanout and axis of a spatial loop."""
    doc: dict[str, Any] = {"name": name, "dim": loop.dim, "factor": loop.factor, "stride": loop.stride,
                           "level": arch.levels[loop.level].name}
    if loop.spatial:
        doc.update(kind="spatial", fanout=arch.fanouts[loop.fanout].name, axis=loop.axis)
    else:
        doc.update(kind="temporal", stepped=stepped)
    return doc


def _descriptors(t: str, workload: Workload, arch: Arch, buffers: tuple[BufferEntry, ...], nest, loops, names,
                 outer: list[int]) -> list[dict[str, Any]]:
    """The transfers of tensor `t` between DRAM and its keeper: one fill (W, I), or a psum fill and a drain (O)."""
    tn = nest.tensors[t]
    relevant = workload.relevant(t)
    streamed = tn.keeper == len(arch.levels)
    spatial = [i for i, lp in enumerate(loops) if lp.spatial and lp.level < tn.keeper]
    temporal = [outer[i] for i in tn.temporal]
    bits = arch.levels[0].tensors[t].word_bits
    if streamed:
        keeper = {"level": MAC_LEVEL, "buffer": f"{t} register", "word_bits": bits, "addresses": [0],
                  "capacity_bits": tn.tile_words * bits}
    else:
        level = arch.levels[tn.keeper]
        entry = next(e for e in buffers if e.level == level.name and e.tensor == t)
        _, capacity = buffer_of(level, t)
        if capacity is None:
            capacity = max(h.stop_bit for e in buffers if e.level == level.name and e.buffer == entry.buffer
                           for h in e.halves)
        keeper = {"level": entry.level, "buffer": entry.buffer, "word_bits": entry.word_bits,
                  "addresses": [h.start_word for h in entry.halves], "capacity_bits": capacity}
    dram = {"level": arch.levels[0].name, "buffer": arch.levels[0].name, "word_bits": bits}
    origin = []
    for idx in workload.indices(t):
        coefs = dict(idx.terms)
        terms = [[names[i], coefs[loops[i].dim] * loops[i].stride] for i in temporal + spatial
                 if loops[i].dim in coefs]
        origin.append({"offset": idx.offset, "terms": terms})
    reuse = None if tn.reuse is None else outer[tn.reuse]
    fanouts = arch.fanouts
    multicast = [names[i] for i in spatial if loops[i].dim not in relevant and fanouts[loops[i].fanout].multicast]
    base = {"tensor": t, "depth": None if reuse is None else names[reuse], "origin": origin,
            "extent": list(tn.tile_shape), "tile_strides": row_major(tn.tile_shape),
            "instances": {"loops": [names[i] for i in spatial], "multicast": multicast}}
    if t != "O":
        window = None
        if tn.slides and loops[reuse].dim in WINDOW_AXIS:
            (sh, sw), (dh, dw) = workload.stride, workload.dilation
            step = {"P": sh, "R": dh, "Q": sw, "S": dw}[loops[reuse].dim]
            window = {"loop": names[reuse], "axis": WINDOW_AXIS[loops[reuse].dim], "rows": step * loops[reuse].stride}
        return [{"id": f"{t}.fill", "kind": "fill", "src": dram, "dst": keeper, **base, "window": window}]
    position = temporal.index(reuse) if reuse is not None else -1
    revisit = [names[i] for i in temporal[:position + 1] if loops[i].dim not in relevant]
    leader = [names[i] for i in spatial if loops[i].dim not in relevant]
    reduce = [names[i] for i in spatial if loops[i].dim not in relevant and fanouts[loops[i].fanout].reduction]
    psum = {"revisit": revisit, "read_back": not streamed, "leader": leader}
    return [{"id": "O.fill", "kind": "psum_fill", "src": dram, "dst": keeper, **base, "psum": psum},
            {"id": "O.drain", "kind": "drain", "src": keeper, "dst": dram, **base,
             "instances": {"loops": base["instances"]["loops"], "reduce": reduce}, "psum": psum}]


def write_program(path: Path, program: dict[str, Any]) -> int:
    """Write a loop program as JSON to `path`; returns its size in bytes."""
    text = json.dumps(program, indent=1)
    path.write_text(text)
    return len(text)

