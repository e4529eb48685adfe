"""A mapping read as one loop nest: loop strides, per-tensor keepers, tiles and instances.

The command stream, the buffer plan, the loop-nest text and the executor all
need the same reading of a `Mapping`, so it lives here once. Nest order,
outermost first: level 0 temporal loops, the spatial loops of the fanout
below level 0 (X loops, then Y loops), level 1 temporal loops, and so on down
to the MACs. A loop's `stride` is how far one step of it moves its dim's
coordinate: the product of that dim's factors of all loops inside it.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import prod

from accelmap.arch.spec import Arch
from accelmap.ir.workload import DIMS, TENSORS, Workload
from accelmap.mapper.mapping import Mapping


@dataclass(frozen=True)
class NestLoop:
    """One loop of the nest: `factor` steps over `dim`, each moving the coordinate by `stride`.

    `level` is the temporal level the loop belongs to, or for a spatial loop
    the level its fanout hangs below; `fanout` indexes `arch.fanouts` for a
    spatial loop (None for a temporal one) and `axis` is "x" or "y".
    """

    dim: str
    factor: int
    stride: int
    level: int
    fanout: int | None = None
    axis: str | None = None

    @property
    def spatial(self) -> bool:
        """True for a loop unrolled over a fanout."""
        return self.fanout is not None


@dataclass(frozen=True)
class TensorNest:
    """How one tensor meets the DRAM boundary: its outermost on-chip keeper and the loops above it.

    `temporal` are the positions (in `LayerNest.outer`) of the temporal loops
    above the keeper; `spatial` are the spatial loops above it, whose indices
    number the keeper's instances (mixed radix, first loop most significant).
    `reuse` is the position of the innermost relevant temporal loop above the
    keeper (the model's j*), None when there is none: the tile is then
    fetched once. A tensor no on-chip level keeps (`keeper` = number of
    levels) streams to the MACs with no reuse: `reuse` is the innermost
    loop. `tile` is the factor product per dim inside the keeper. `slides`:
    an advance of the reuse loop fills only the input words new to the tile
    (a sliding window; under Timeloop's accounting only when the reuse loop
    is the innermost loop above the keeper, `Accounting.halo_past_irrelevant`).
    """

    tensor: str
    keeper: int
    temporal: tuple[int, ...]
    spatial: tuple[NestLoop, ...]
    reuse: int | None
    tile: dict[str, int]
    tile_shape: tuple[int, ...]
    slides: bool = False

    @property
    def tile_words(self) -> int:
        """Words of one tile."""
        return prod(self.tile_shape)

    @property
    def instances(self) -> int:
        """Instances of the keeper in use: the product of the spatial factors above it."""
        return prod(loop.factor for loop in self.spatial)


@dataclass(frozen=True)
class LayerNest:
    """The nest of one mapped layer as the command stream walks it.

    `outer` are the temporal loops above the deepest outermost keeper (the
    ones the stream steps through); `spatial` the spatial loops above that
    keeper, which split each COMPUTE over its instances; `inner` the extent
    per dim each such instance computes in one step.
    """

    outer: tuple[NestLoop, ...]
    spatial: tuple[NestLoop, ...]
    inner: dict[str, int]
    tensors: dict[str, TensorNest]

    @property
    def steps(self) -> int:
        """COMPUTE steps of the layer: the product of the outer temporal factors."""
        return prod(loop.factor for loop in self.outer)


def nest_loops(mapping: Mapping, arch: Arch) -> tuple[NestLoop, ...]:
    """Every loop of `mapping`, outermost first, with its stride."""
    parents = [arch.level_index(fanout.parent) for fanout in arch.fanouts]
    raw: list[tuple[str, int, int, int | None, str | None]] = []
    for level, loops in enumerate(mapping.temporal):
        raw += [(loop.dim, loop.factor, level, None, None) for loop in loops]
        for j, fan in enumerate(mapping.spatial):
            if parents[j] == level:
                raw += [(loop.dim, loop.factor, level, j, "x") for loop in fan.x]
                raw += [(loop.dim, loop.factor, level, j, "y") for loop in fan.y]
    strides: dict[str, int] = {d: 1 for d in DIMS}
    result = []
    for dim, factor, level, fanout, axis in reversed(raw):
        result.append(NestLoop(dim, factor, strides[dim], level, fanout, axis))
        strides[dim] *= factor
    return tuple(reversed(result))


def outermost_keeper(mapping: Mapping, tensor: str) -> int:
    """The outermost on-chip level (index >= 1) that keeps `tensor`; len(levels) when none does."""
    for level in range(1, len(mapping.keep)):
        if tensor in mapping.keep[level]:
            return level
    return len(mapping.keep)


def inside(loops: tuple[NestLoop, ...], level: int) -> dict[str, int]:
    """Factor product per dim of the loops inside level `level`: its temporal loops and everything below."""
    tile = {d: 1 for d in DIMS}
    for loop in loops:
        if loop.level >= level:
            tile[loop.dim] *= loop.factor
    return tile


def layer_nest(workload: Workload, mapping: Mapping, arch: Arch) -> LayerNest:
    """Read `mapping` of `workload` on `arch` as the stream's nest."""
    loops = nest_loops(mapping, arch)
    keepers = {t: outermost_keeper(mapping, t) for t in TENSORS}
    deepest = max(keepers.values())
    outer = tuple(loop for loop in loops if not loop.spatial and loop.level < deepest)
    tensors = {}
    for t, keeper in keepers.items():
        relevant = workload.relevant(t)
        temporal = tuple(i for i, loop in enumerate(outer) if loop.level < keeper)
        reuse = max((i for i in temporal if outer[i].dim in relevant), default=None)
        if keeper == len(arch.levels):
            reuse = len(outer) - 1 if outer else None
        tile = inside(loops, keeper)
        slides = (t == "I" and reuse is not None and keeper < len(arch.levels)
                  and (arch.accounting.halo_past_irrelevant or reuse == temporal[-1]))
        tensors[t] = TensorNest(t, keeper, temporal,
                                tuple(loop for loop in loops if loop.spatial and loop.level < keeper),
                                reuse, tile, workload.tile_shape(t, tile), slides)
    return LayerNest(outer, tuple(loop for loop in loops if loop.spatial and loop.level < deepest),
                     inside(loops, deepest), tensors)


def coordinates(loops: tuple[NestLoop, ...], indices: list[int] | tuple[int, ...]) -> dict[str, int]:
    """Per-dim coordinate offset contributed by `loops` at `indices`."""
    base = {d: 0 for d in DIMS}
    for loop, index in zip(loops, indices):
        base[loop.dim] += index * loop.stride
    return base


def tensor_box(workload: Workload, tensor: str, base: dict[str, int],
               extent: dict[str, int]) -> list[tuple[int, int]]:
    """Per canonical dim of `tensor`, the [start, stop) range touched by the iteration box base + [0, extent)."""
    box = []
    for index in workload.indices(tensor):
        start = sum(coef * base[d] for d, coef in index.terms) + index.offset
        box.append((start, start + index.extent(extent)))
    return box
