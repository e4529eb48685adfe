"""`Mapping`: one point of the mapspace, Timeloop's four sub-spaces as fields.

The loop nest it describes, outermost first: level 0 (DRAM) temporal loops,
the fanout below level 0 (its X and Y spatial loops), level 1 temporal loops,
the fanout below level 1, ..., the innermost level's temporal loops, the
fanout below it (if any), then the MACs. Factor-1 loops are never stored.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import prod

from accelmap.ir.workload import DIMS


@dataclass(frozen=True)
class Loop:
    """One loop of the nest: `factor` iterations over `dim`."""

    dim: str
    factor: int

    def __str__(self) -> str:
        return f"{self.dim}{self.factor}"


@dataclass(frozen=True)
class SpatialLoops:
    """The loops unrolled over one fanout: along X and along Y."""

    x: tuple[Loop, ...] = ()
    y: tuple[Loop, ...] = ()

    @property
    def loops(self) -> tuple[Loop, ...]:
        """X loops then Y loops."""
        return self.x + self.y

    @property
    def x_size(self) -> int:
        """Children used along X."""
        return prod(loop.factor for loop in self.x)

    @property
    def y_size(self) -> int:
        """Children used along Y."""
        return prod(loop.factor for loop in self.y)


@dataclass(frozen=True)
class Mapping:
    """Temporal loops per level (outer to inner), spatial loops per fanout, kept tensors per level.

    `temporal[i]` are level i's loops in order, outermost first; `spatial[j]`
    belongs to `arch.fanouts[j]`; `keep[i]` are the tensors level i holds
    (level 0, DRAM, holds all). `padded` lists dims whose bound was rounded
    up (dim, padded bound); the factors of a padded dim multiply to the
    padded bound and the extra iterations are costed as real work.
    """

    temporal: tuple[tuple[Loop, ...], ...]
    spatial: tuple[SpatialLoops, ...]
    keep: tuple[frozenset[str], ...]
    padded: tuple[tuple[str, int], ...] = ()

    def factor_product(self, dim: str) -> int:
        """Product of all temporal and spatial factors of `dim`."""
        temporal = prod(loop.factor for level in self.temporal for loop in level if loop.dim == dim)
        spatial = prod(loop.factor for fan in self.spatial for loop in fan.loops if loop.dim == dim)
        return temporal * spatial

    def bounds(self, workload_bounds: dict[str, int]) -> dict[str, int]:
        """The bounds this mapping iterates over: the workload's, with padded dims raised."""
        bounds = dict(workload_bounds)
        bounds.update(dict(self.padded))
        return bounds

    def describe(self, level_names: list[str] | None = None) -> str:
        """Compact text: `DRAM[K4 C2] | X[K8] Y[C3] | GLB[P7] ...`."""
        names = level_names or [f"L{i}" for i in range(len(self.temporal))]
        parts = []
        for i, loops in enumerate(self.temporal):
            keep = "".join(t for t in ("W", "I", "O") if t in self.keep[i])
            parts.append(f"{names[i]}({keep})[{' '.join(map(str, loops))}]")
        for j, fan in enumerate(self.spatial):
            parts.append(f"fanout{j}: X[{' '.join(map(str, fan.x))}] Y[{' '.join(map(str, fan.y))}]")
        return " | ".join(parts)


def dims_covered(mapping: Mapping, bounds: dict[str, int]) -> list[str]:
    """Problems with factor coverage: one message per dim whose factors do not multiply to its bound."""
    problems = []
    for dim in DIMS:
        got, want = mapping.factor_product(dim), mapping.bounds(bounds)[dim]
        if got != want:
            problems.append(f"factors of {dim} multiply to {got}, the bound is {want}")
    return problems


def mapping_to_dict(mapping: Mapping) -> dict:
    """A JSON-ready dict of `mapping` (loops as [dim, factor] pairs)."""
    return {
        "temporal": [[[loop.dim, loop.factor] for loop in level] for level in mapping.temporal],
        "spatial": [{"x": [[l.dim, l.factor] for l in fan.x], "y": [[l.dim, l.factor] for l in fan.y]}
                    for fan in mapping.spatial],
        "keep": [sorted(keep) for keep in mapping.keep],
        "padded": [[dim, bound] for dim, bound in mapping.padded],
    }


def mapping_from_dict(doc: dict) -> Mapping:
    """Inverse of `mapping_to_dict`."""
    loops = lambda pairs: tuple(Loop(str(d), int(f)) for d, f in pairs)  # noqa: E731
    return Mapping(
        temporal=tuple(loops(level) for level in doc["temporal"]),
        spatial=tuple(SpatialLoops(loops(fan["x"]), loops(fan["y"])) for fan in doc["spatial"]),
        keep=tuple(frozenset(keep) for keep in doc["keep"]),
        padded=tuple((str(d), int(b)) for d, b in doc.get("padded", [])),
    )
