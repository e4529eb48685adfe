"""The Timeloop components an accelmap `Arch` is written as, and what that cannot say exactly.

A level becomes one storage component, a partitioned level one component
per partition stacked in place (same instances, the level's loops on the
innermost), a shared level whose tensors differ in word width or energies
one component per group of equal tensors; DRAM stays one. A fanout with
both X and Y becomes two stages: X below the level, Y below a buffer-less
`<fanout>_Y` component (Timeloop gives a dim one spatial factor per level,
so this keeps a dim split over X and Y expressible). The architecture,
ERT, constraints and mapping writers all walk this one list.
"""
from __future__ import annotations

from dataclasses import dataclass

from accelmap.arch.spec import TENSORS, Arch, Level


@dataclass(frozen=True)
class Component:
    """One Timeloop storage component: a level, one partition of it, or a buffer-less Y stage."""

    name: str
    level: int
    tensors: frozenset[str]
    capacity_bits: int | None
    innermost: bool
    y_of: int | None = None


def components(arch: Arch) -> list[Component]:
    """Timeloop storage components, outermost first: one per partition, or per group of tensors
    that share word width and energies (DRAM stays one), and a Y stage after each two-axis fanout."""
    components: list[Component] = []
    for i, level in enumerate(arch.levels):
        groups = [(p.name, p.tensors, p.capacity_bits) for p in level.partitions] or \
            [("".join(g), frozenset(g), level.capacity_bits) for g in uniform_groups(level, i)]
        for k, (suffix, tensors, bits) in enumerate(groups):
            name = level.name if len(groups) == 1 else f"{level.name}_{suffix}"
            components.append(Component(name, i, frozenset(tensors), bits, innermost=k == len(groups) - 1))
        fanout = arch.fanout_below(i)
        if fanout is not None and fanout.x > 1 and fanout.y > 1:
            components.append(Component(f"{fanout.name}_Y", i, frozenset(), 0, innermost=False, y_of=i))
    return components


def uniform_groups(level: Level, index: int) -> list[tuple[str, ...]]:
    """The level's tensors grouped by equal word width and energies; DRAM (index 0) is one group."""
    if index == 0:
        return [tuple(level.tensors)]
    groups: dict[tuple, list[str]] = {}
    for t, c in level.tensors.items():
        groups.setdefault((c.word_bits, c.read_energy, c.write_energy, c.update_energy), []).append(t)
    return [tuple(g) for g in groups.values()] or [()]


def approximations(arch: Arch) -> list[str]:
    """What the Timeloop files cannot say exactly about `arch`."""
    notes = []
    for i, level in enumerate(arch.levels):
        split = len(uniform_groups(level, i)) > 1
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
    for level in arch.levels:
        odd = [t for t, c in level.tensors.items() if c.update_energy != c.read_energy + c.write_energy]
        if odd:
            notes.append(f"level {level.name}: update_energy of {', '.join(odd)} is not read + write; Timeloop prices "
                         "a read-modify-write as a read plus a write")
    if arch.compute.macs_per_pe > 1:
        notes.append(f"{arch.compute.macs_per_pe} MACs per PE are written as 1")
    return notes
