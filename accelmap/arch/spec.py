"""The `Arch` data model: storage levels outermost first, fanouts, compute.

Energies are integers in femtojoules (fJ), fixed when the arch is loaded, so
the cost model and the CP-SAT objective agree to the unit. Capacities are in
bits; a level turns them into words per tensor with that tensor's word width.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from math import lcm

TENSORS: tuple[str, ...] = ("W", "I", "O")
"""Data spaces, Timeloop's Weights / Inputs / Outputs."""

DIMS: tuple[str, ...] = ("N", "G", "K", "C", "P", "Q", "R", "S")


@dataclass(frozen=True)
class TensorCost:
    """What one word of one tensor costs at one level (fJ per access)."""

    word_bits: int
    read_energy: int
    write_energy: int
    update_energy: int


@dataclass(frozen=True)
class Partition:
    """A sub-buffer of a level that holds only `tensors` (Eyeriss' filter/ifmap/psum spads)."""

    name: str
    tensors: frozenset[str]
    capacity_bits: int


@dataclass(frozen=True)
class Level:
    """One storage level. `capacity_bits=None` means unbounded (DRAM).

    `keeps` are the tensors the level may hold (others bypass it). A level
    with `storage=False` holds nothing and only sequences loops / fans out.
    When `partitions` is non-empty, each tensor's tile must fit the partition
    that names it; otherwise all kept tiles share `capacity_bits`.
    `double_buffered` halves the usable capacity. Bandwidths are words per
    cycle per instance (None: unlimited). `area` is µm² per instance (None:
    not given).
    """

    name: str
    capacity_bits: int | None
    tensors: dict[str, TensorCost]
    keeps: frozenset[str]
    storage: bool = True
    partitions: tuple[Partition, ...] = ()
    double_buffered: bool = False
    read_bandwidth: float | None = None
    write_bandwidth: float | None = None
    area: float | None = None

    def usable_bits(self, tensor: str) -> int | None:
        """Bits available to `tensor`'s tile at this level: its partition's (or the level's) capacity, or
        when double-buffered one half of it, cut to a whole number of words of every tensor sharing it,
        so the second half starts on a word of each (a 6-byte partition of 16-bit words holds one word
        per half, not one and a half)."""
        cap, pool = self.capacity_bits, tuple(self.tensors)
        for part in self.partitions:
            if tensor in part.tensors:
                cap, pool = part.capacity_bits, tuple(part.tensors)
        if cap is None or not self.double_buffered:
            return cap
        word = lcm(*(self.tensors[t].word_bits for t in pool if t in self.tensors))
        return cap // 2 // word * word


@dataclass(frozen=True)
class Fanout:
    """A spatial fanout of X*Y children below level `parent`.

    `multicast`: one read at the parent may feed several children with the
    same word. `reduction`: partial sums from several children are merged in
    the array before reaching the parent. `hop_energy` is fJ per word per
    child delivery. `x_dims` / `y_dims` restrict which dims may be unrolled
    on each axis (None: any).
    """

    name: str
    parent: str
    x: int
    y: int
    multicast: bool = True
    reduction: bool = True
    hop_energy: int = 0
    x_dims: frozenset[str] | None = None
    y_dims: frozenset[str] | None = None


@dataclass(frozen=True)
class Compute:
    """The MAC units below the innermost level: per PE, per cycle; `area` in µm² per MAC unit."""

    macs_per_pe: int = 1
    mac_energy: int = 0
    area: float | None = None


PSUM_WRITES = ("write", "update")


@dataclass(frozen=True)
class Accounting:
    """Where accelmap's energy accounting and Timeloop's differ, the choice (docs/timeloop.md).

    The defaults are accelmap's; `TIMELOOP_ACCOUNTING` is Timeloop's.
    `drain_reads`: writing an output tile back to the level above reads it
    out of its level (priced as reads, counted against read bandwidth);
    False: the drain is free, as Timeloop forwards the last update.
    `psum_writes`: what a partial sum's first write and an overwrite cost:
    "write" (the level's write energy) or "update" (its update energy minus
    its read energy, Timeloop's `update` action, at least 0).
    `halo_past_irrelevant`: an input tile slides (fills only the words new
    to it) when its sliding-window loop advances, also after loops
    irrelevant to the input inside it have run; False: only when the sliding
    loop is the innermost loop above the level, as Timeloop finds the reuse.
    """

    drain_reads: bool = True
    psum_writes: str = "write"
    halo_past_irrelevant: bool = True


TIMELOOP_ACCOUNTING = Accounting(drain_reads=False, psum_writes="update", halo_past_irrelevant=False)


@dataclass(frozen=True)
class LevelConstraint:
    """Dataflow constraints at one temporal level.

    `factors`: dims whose temporal factor at this level is fixed (0 means
    "the whole remaining bound"); `max_factors` / `min_factors`: bounds on
    it. `permutation`: dims ordered outer to inner that must appear in this
    relative order; `innermost_loops`: dims whose loops are the level's
    innermost, in this order (outer to inner), every other loop outside them
    (Timeloop's partial permutation). `keep` / `bypass`: forced.
    """

    level: str
    factors: dict[str, int] = field(default_factory=dict)
    max_factors: dict[str, int] = field(default_factory=dict)
    min_factors: dict[str, int] = field(default_factory=dict)
    permutation: tuple[str, ...] = ()
    innermost_loops: tuple[str, ...] = ()
    keep: frozenset[str] = frozenset()
    bypass: frozenset[str] = frozenset()


@dataclass(frozen=True)
class FanoutConstraint:
    """Dataflow constraints at one fanout, per axis: fixed spatial factors (0: the whole remaining
    bound) and bounds on a dim's spatial factor."""

    fanout: str
    x_factors: dict[str, int] = field(default_factory=dict)
    y_factors: dict[str, int] = field(default_factory=dict)
    x_max_factors: dict[str, int] = field(default_factory=dict)
    y_max_factors: dict[str, int] = field(default_factory=dict)
    x_min_factors: dict[str, int] = field(default_factory=dict)
    y_min_factors: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Arch:
    """A target accelerator: `levels[0]` is DRAM, `levels[-1]` feeds the MACs."""

    name: str
    levels: tuple[Level, ...]
    fanouts: tuple[Fanout, ...]
    compute: Compute
    clock_mhz: float = 1000.0
    level_constraints: tuple[LevelConstraint, ...] = ()
    fanout_constraints: tuple[FanoutConstraint, ...] = ()
    description: str = ""
    accounting: Accounting = Accounting()

    def level_index(self, name: str) -> int:
        """Position of the level called `name` (0 = DRAM)."""
        for i, level in enumerate(self.levels):
            if level.name == name:
                return i
        raise KeyError(name)

    def fanout_below(self, level_index: int) -> Fanout | None:
        """The fanout between level `level_index` and the next one down, if any."""
        name = self.levels[level_index].name
        for fanout in self.fanouts:
            if fanout.parent == name:
                return fanout
        return None

    def instances(self, level_index: int) -> int:
        """How many copies of level `level_index` exist (product of fanouts above it)."""
        count = 1
        for i in range(level_index):
            fanout = self.fanout_below(i)
            if fanout is not None:
                count *= fanout.x * fanout.y
        return count

    @property
    def num_pes(self) -> int:
        """Number of MAC units' PEs: all fanouts multiplied."""
        count = 1
        for fanout in self.fanouts:
            count *= fanout.x * fanout.y
        return count

    @property
    def peak_macs_per_cycle(self) -> int:
        """MACs the whole array can do in one cycle."""
        return self.num_pes * self.compute.macs_per_pe

    @property
    def area(self) -> float | None:
        """µm² of every instance of every level and MAC unit; None when an on-chip storage level or the
        compute gives no area (DRAM and buffer-less levels count only when they give one)."""
        parts = [(level.area, self.instances(i), i > 0 and level.storage) for i, level in enumerate(self.levels)]
        parts.append((self.compute.area, self.peak_macs_per_cycle, True))
        if any(area is None and needed for area, _, needed in parts):
            return None
        return sum(area * count for area, count, _ in parts if area is not None)
