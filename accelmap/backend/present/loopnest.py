"""A layer's mapping as readable loop-nest text: levels, loops, tiles, buffers, the MAC.

Each loop gets a variable named after its dim and level (`k1`, spatial
`k1x`); the MAC line shows how every dim's coordinate is assembled from
them, so the nest can be checked by hand against the command stream.
"""
from __future__ import annotations

from accelmap.arch.spec import Arch
from accelmap.backend.outdir.nest import NestLoop, nest_loops
from accelmap.backend.outdir.schedule import LayerPlan
from accelmap.ir.workload import DIMS, TENSORS


def _name(loop: NestLoop) -> str:
    """The loop's variable: dim and level, with the fanout axis for a spatial loop."""
    return f"{loop.dim.lower()}{loop.level}{loop.axis or ''}"


def render_loopnest(plan: LayerPlan, arch: Arch, op: str = "") -> str:
    """The loop nest of one mapped layer as text (outermost first, one indent per loop)."""
    wl, mapping = plan.workload, plan.mapping
    loops = nest_loops(mapping, arch)
    tiles = {(e.level, e.tensor): e for e in plan.buffers}
    gap = "" if plan.status.gap is None else f", gap {plan.status.gap:g}"
    lines = [f"layer {plan.name}{f' ({op})' if op else ''}: {wl.describe()}",
             f"arch {arch.name}; mapping {plan.status.status}{gap}",
             f"O[{', '.join(map(str, wl.indices('O')))}] += W[{', '.join(map(str, wl.indices('W')))}]"
             f" * I[{', '.join(map(str, wl.indices('I')))}]", ""]
    if mapping.padded:
        lines.insert(3, "padded: " + ", ".join(f"{d} to {b}" for d, b in mapping.padded))
    depth = 0
    for i, level in enumerate(arch.levels):
        kept = [t for t in TENSORS if t in mapping.keep[i]]
        lines.append("  " * depth + f"[{level.name}] keeps {' '.join(kept) or 'nothing'}")
        for t in kept:
            entry = tiles.get((level.name, t))
            if entry is not None:
                where = ", ".join(f"words {h.start_word}..{h.stop_word}" for h in entry.halves)
                lines.append("  " * depth + f"  {t} tile {list(entry.tile_shape)} = {entry.tile_words} words "
                                            f"x {entry.word_bits} bits in {entry.buffer} ({where})")
        for loop in (lp for lp in loops if lp.level == i):
            kind = f"parallel-for on {arch.fanouts[loop.fanout].name}.{loop.axis}" if loop.spatial else "for"
            lines.append("  " * depth + f"{kind} {_name(loop)} in [0, {loop.factor})"
                                        f"    # {loop.dim} step {loop.stride}")
            depth += 1
    terms = {d: [f"{loop.stride}*{_name(loop)}" if loop.stride > 1 else _name(loop)
                 for loop in loops if loop.dim == d] for d in DIMS}
    coords = ", ".join(f"{d.lower()}={' + '.join(terms[d])}" for d in DIMS if terms[d])
    lines.append("  " * depth + f"MAC at {coords or 'the single point'}")
    return "\n".join(lines) + "\n"
