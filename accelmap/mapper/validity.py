"""`check_mapping`: every rule of the mapspace a mapping breaks, one message each; tiles and what fits.

The rules are `slots.py`'s (the mapspace in `mapspace.py` generates exactly
the mappings that pass them, up to the order of spatial loops on one axis,
which is a set):

- shape: one loop tuple and one keep set per level, one `SpatialLoops` per fanout;
- loops: known dims, factors > 1, at most one loop per dim per level and per axis;
- coverage: each dim's factors multiply to its bound, or to a padded bound
  `bound < padded <= max_padded_bound(bound)` listed in `Mapping.padded`;
- fanouts: `x_size <= fanout.x`, `y_size <= fanout.y`, only the dims
  `fanout.x_dims` / `y_dims` allow;
- keep: DRAM keeps every tensor, a `storage=False` level keeps nothing,
  other levels only tensors in `Level.keeps`;
- constraints: forced keep / bypass, fixed temporal and spatial factors
  (a factor 0 means "the whole remaining bound": the bound divided by the
  dim's other fixed factors, so every unfixed loop of that dim is 1), factor
  bounds (`min_factors` / `max_factors`, per level or fanout axis),
  permutations (the listed dims that have loops appear in that order,
  outermost first) and innermost loops (also after every other loop);
- capacity: kept tiles, halos included, fit their partition or level
  (half of it when double-buffered).

The tile geometry (`tiles`, `words`) and the capacity rule live here too:
`model.check_fits`, `model.evaluate` and the mapspace share them.
"""
from __future__ import annotations

from math import prod

from accelmap.arch.spec import Arch, Level
from accelmap.ir.workload import DIMS, TENSORS, Workload
from accelmap.mapper.mapping import Mapping, dims_covered
from accelmap.mapper.slots import (Slot, axis_allows, factor_limits, fixed_factor, fixed_factors, forced_keep,
                                   level_tensors, order_allowed, order_rule, padded_bounds, slot_loops, slot_name)

DIM_INDEX = {d: i for i, d in enumerate(DIMS)}
_N, _G, _K, _C, _P, _Q, _R, _S = range(len(DIMS))


def check_mapping(workload: Workload, arch: Arch, mapping: Mapping) -> list[str]:
    """Every violated rule (module docstring), one message each; an empty list means valid."""
    shape = _shape_problems(arch, mapping)
    if shape:
        return shape
    bounds = mapping.bounds(workload.dims)
    problems = _padding_problems(workload, mapping)
    problems += _loop_problems(arch, mapping)
    problems += dims_covered(mapping, workload.dims)
    problems += _fanout_problems(arch, mapping)
    problems += _keep_problems(arch, mapping)
    problems += _factor_constraint_problems(arch, mapping, bounds, workload.dims)
    problems += _factor_bound_problems(arch, mapping)
    problems += _permutation_problems(arch, mapping)
    if all(loop.dim in DIMS for loops in slot_loops(mapping).values() for loop in loops):
        problems += capacity_problems(workload, arch, mapping)
    return problems


def _shape_problems(arch: Arch, mapping: Mapping) -> list[str]:
    """One loop tuple and keep set per level, one SpatialLoops per fanout."""
    problems = []
    if len(mapping.temporal) != len(arch.levels):
        problems.append(f"mapping has {len(mapping.temporal)} temporal levels, arch '{arch.name}' "
                        f"has {len(arch.levels)} levels")
    if len(mapping.keep) != len(arch.levels):
        problems.append(f"mapping has {len(mapping.keep)} keep sets, arch '{arch.name}' "
                        f"has {len(arch.levels)} levels")
    if len(mapping.spatial) != len(arch.fanouts):
        problems.append(f"mapping has {len(mapping.spatial)} spatial entries, arch '{arch.name}' "
                        f"has {len(arch.fanouts)} fanouts")
    return problems


def _padding_problems(workload: Workload, mapping: Mapping) -> list[str]:
    """Padded bounds name real dims, once each, and are among the bound's `padded_bounds`."""
    problems = []
    seen = set()
    for dim, padded in mapping.padded:
        if dim not in DIMS or dim in seen:
            problems.append(f"padded: {dim!r} is not a dim or is listed twice")
            continue
        seen.add(dim)
        bound = workload.bound(dim)
        allowed = padded_bounds(bound)[1:]
        if padded not in allowed:
            listed = ", ".join(map(str, allowed)) or "none"
            problems.append(f"padded: {dim} padded to {padded}, allowed {listed} (bound {bound})")
    return problems


def _loop_problems(arch: Arch, mapping: Mapping) -> list[str]:
    """Known dims, factors > 1, at most one loop per dim per level and per spatial axis."""
    problems = []
    for slot, loops in slot_loops(mapping).items():
        dims = [loop.dim for loop in loops]
        for loop in loops:
            if loop.dim not in DIMS:
                problems.append(f"{slot_name(arch, slot)}: loop dim {loop.dim!r} is not one of {''.join(DIMS)}")
            elif loop.factor < 2:
                problems.append(f"{slot_name(arch, slot)}: loop {loop.dim}{loop.factor} has factor < 2 "
                                "(factor-1 loops are left out)")
        for dim in sorted(set(d for d in dims if dims.count(d) > 1)):
            problems.append(f"{slot_name(arch, slot)}: {dims.count(dim)} loops over {dim}, at most one allowed")
    return problems


def _fanout_problems(arch: Arch, mapping: Mapping) -> list[str]:
    """Spatial sizes within the array, dims allowed on each axis."""
    problems = []
    for j, (fanout, fan) in enumerate(zip(arch.fanouts, mapping.spatial)):
        for axis, size, have, allowed, loops in (("X", fan.x_size, fanout.x, fanout.x_dims, fan.x),
                                                 ("Y", fan.y_size, fanout.y, fanout.y_dims, fan.y)):
            if size > have:
                problems.append(f"fanout {fanout.name}: {axis} uses {size} children, it has {have}")
            for loop in loops:
                if not axis_allows(arch, (axis, j), loop.dim):
                    problems.append(f"fanout {fanout.name}: dim {loop.dim} may not be unrolled on {axis} "
                                    f"(allowed: {', '.join(sorted(allowed)) or 'none'})")
    return problems


def _keep_problems(arch: Arch, mapping: Mapping) -> list[str]:
    """DRAM keeps all, buffer-less levels nothing, others a subset of `Level.keeps`; forced keep / bypass."""
    problems = []
    for i, (level, keep) in enumerate(zip(arch.levels, mapping.keep)):
        listed = ", ".join(t for t in TENSORS if t in keep)
        allowed = frozenset(level_tensors(arch, i))
        if i == 0 and keep != frozenset(TENSORS):
            problems.append(f"level {level.name} (outermost) must keep every tensor, keeps [{listed}]")
        elif not level.storage and keep:
            problems.append(f"level {level.name} has storage: false and keeps nothing, got [{listed}]")
        elif i and keep - allowed:
            extra = ", ".join(t for t in TENSORS if t in keep - allowed)
            problems.append(f"level {level.name} cannot keep {extra} "
                            f"(it holds {', '.join(t for t in TENSORS if t in allowed) or 'nothing'})")
        must, banned = forced_keep(arch, i) if i else (frozenset(), frozenset())
        for t in TENSORS:
            if t in must and t not in keep:
                problems.append(f"level {level.name} must keep {t} (dataflow constraint)")
            if t in banned and t in keep:
                problems.append(f"level {level.name} must bypass {t} (dataflow constraint)")
    return problems


def _factor_constraint_problems(arch: Arch, mapping: Mapping, bounds: dict[str, int],
                                real: dict[str, int]) -> list[str]:
    """Fixed temporal and spatial factors (one above the layer's `real` bound asks for that bound:
    `fixed_factor`); a temporal 0 takes the bound over the dim's other fixed factors."""
    problems = []
    fixed = {slot: {dim: fixed_factor(want, real[dim]) if want else 0 for dim, want in factors.items()}
             for slot, factors in fixed_factors(arch).items()}
    loops = slot_loops(mapping)
    for slot, factors in fixed.items():
        for dim, want in factors.items():
            got = next((loop.factor for loop in loops[slot] if loop.dim == dim), 1)
            if want == 0:
                others = prod(f.get(dim, 1) for s, f in fixed.items() if s != slot and f.get(dim, 1))
                want_text = (str(bounds[dim] // others) if bounds[dim] % others == 0
                             else f"{bounds[dim]}/{others}, not an integer")
                if bounds[dim] % others or got != bounds[dim] // others:
                    problems.append(f"{slot_name(arch, slot)}: factor of {dim} must be the whole remaining "
                                    f"bound {want_text} (dataflow constraint), got {got}")
            elif got != want:
                problems.append(f"{slot_name(arch, slot)}: factor of {dim} must be {want} "
                                f"(dataflow constraint), got {got}")
    return problems


def _factor_bound_problems(arch: Arch, mapping: Mapping) -> list[str]:
    """Factors within their level's or fanout axis's `min_factors` / `max_factors`."""
    problems = []
    loops = slot_loops(mapping)
    for slot, limits in factor_limits(arch).items():
        for dim, (least, most) in limits.items():
            got = next((loop.factor for loop in loops[slot] if loop.dim == dim), 1)
            if got < least or (most is not None and got > most):
                problems.append(f"{slot_name(arch, slot)}: factor of {dim} must be in [{least}, "
                                f"{most if most is not None else 'any'}] (dataflow constraint), got {got}")
    return problems


def _permutation_problems(arch: Arch, mapping: Mapping) -> list[str]:
    """Listed dims that have loops at the level appear in the listed order, outermost first; innermost loops
    also sit inside every other loop of the level."""
    problems = []
    for i, level in enumerate(arch.levels):
        rule = order_rule(arch, i)
        order = tuple(loop.dim for loop in mapping.temporal[i])
        if rule.dims and not order_allowed(order, rule):
            got = [d for d in order if d in rule.dims]
            want = [d for d in rule.dims if d in got]
            where = ", inside every other loop" if rule.rest_outside else ""
            problems.append(f"level {level.name}: loops {' '.join(got)} must appear in the order "
                            f"{' '.join(want)}, outermost first{where} (dataflow constraint)")
    return problems


def words(tensor: str, tile: list[int] | tuple[int, ...], stride: tuple[int, int],
          dilation: tuple[int, int]) -> int:
    """`Workload.tile_words` on a tile given as factors in DIMS order (the model's fast path)."""
    if tensor == "W":
        return tile[_G] * tile[_K] * tile[_C] * tile[_R] * tile[_S]
    if tensor == "O":
        return tile[_N] * tile[_G] * tile[_K] * tile[_P] * tile[_Q]
    rows = stride[0] * (tile[_P] - 1) + dilation[0] * (tile[_R] - 1) + 1
    cols = stride[1] * (tile[_Q] - 1) + dilation[1] * (tile[_S] - 1) + 1
    return tile[_N] * tile[_G] * tile[_C] * rows * cols


def tiles(mapping: Mapping, arch: Arch) -> tuple[list[list[int]], list[list[int]]]:
    """Per level i the tile factors (DIMS order) inside it, and the spatial factors of the fanout below it.

    `tiles[i]` multiplies the temporal loops of levels i..L-1 and the spatial
    loops of the fanouts below them; `tiles[0]` is the (padded) bounds.
    """
    levels = len(arch.levels)
    spatial = [[1] * len(DIMS) for _ in range(levels)]
    for j, fanout in enumerate(arch.fanouts):
        row = spatial[arch.level_index(fanout.parent)]
        for loop in mapping.spatial[j].loops:
            row[DIM_INDEX[loop.dim]] *= loop.factor
    tile = [1] * len(DIMS)
    out: list[list[int]] = [tile] * levels
    for i in range(levels - 1, -1, -1):
        tile = [a * b for a, b in zip(tile, spatial[i])]
        for loop in mapping.temporal[i]:
            tile[DIM_INDEX[loop.dim]] *= loop.factor
        out[i] = tile
    return out, spatial


def level_capacity_problems(level: Level, tile_words: dict[str, int], keep: frozenset[str]) -> list[str]:
    """Why the tiles of `keep` (words per tensor) do not fit `level`; empty when they fit.

    Tensors sharing a partition (or, without partitions, the level) share its
    bits; a double-buffered level offers half of them.
    """
    pools: dict[str, list[str]] = {}
    for t in TENSORS:
        if t in keep:
            part = next((p.name for p in level.partitions if t in p.tensors), None)
            pools.setdefault(part or "", []).append(t)
    problems = []
    for part, tensors in pools.items():
        have = level.usable_bits(tensors[0])
        if have is None:
            continue
        need = sum(tile_words[t] * level.tensors[t].word_bits for t in tensors)
        if need > have:
            where = f"partition {part}" if part else "the level"
            half = " (half, double-buffered)" if level.double_buffered else ""
            problems.append(f"level {level.name}: tensor {', '.join(tensors)} needs {need} bits, "
                            f"{where} has {have}{half}")
    return problems


def capacity_problems(workload: Workload, arch: Arch, mapping: Mapping) -> list[str]:
    """Every level / tensor whose tiles (halos included) exceed their capacity."""
    tile, _ = tiles(mapping, arch)
    problems = []
    for i, level in enumerate(arch.levels[1:], start=1):
        keep = mapping.keep[i] & level.tensors.keys()
        sizes = {t: words(t, tile[i], workload.stride, workload.dilation) for t in keep}
        problems += level_capacity_problems(level, sizes, frozenset(keep))
    return problems
