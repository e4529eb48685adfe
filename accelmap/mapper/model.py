"""The analytical cost model: docs/cost-model.md, exactly, and nothing else.

`evaluate` is the single definition of what a mapping costs. Its core is
`_traffic` (fills, reads, updates per level per tensor, deliveries per
fanout) and `_price`, the one function that turns traffic into integer fJ
and cycles. A new effect adds a traffic term, never a parallel stats struct.
All arithmetic is on plain Python ints: the solver, the executor's counters
and this module must agree to the word and to the fJ.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from math import prod

from accelmap.arch.spec import Accounting, Arch, TensorCost
from accelmap.errors import MappingError
from accelmap.mapper.counts import Counts
from accelmap.ir.workload import DIMS, TENSORS, Workload
from accelmap.mapper.mapping import Mapping
from accelmap.mapper.validity import DIM_INDEX, capacity_problems, tiles, words

_P, _Q, _R, _S = (DIM_INDEX[d] for d in "PQRS")
_WINDOW = {_P: (_P, 0), _R: (_P, 1), _Q: (_Q, 0), _S: (_Q, 1)}
"""Sliding-window dims: dim -> (the H (P) or W (Q) axis of I it moves, 0 = stride, 1 = dilation)."""
OBJECTIVES = ("energy", "latency", "edp")


@dataclass(frozen=True)
class Traffic(Counts):
    """The six `Counts` of one tensor at one level, summed over the level's `instances`, and more.

    `tile_words` is per instance; `drains` are the reads (O only) that write
    the level's tiles back to its parent.
    """

    tile_words: int
    instances: int
    drains: int = 0

    def per_instance(self) -> Traffic:
        """The same counts for one instance (every count divides evenly)."""
        n = self.instances
        return Traffic(self.fills // n, self.reads // n, self.updates // n, self.first_writes // n,
                       self.overwrites // n, self.rmw // n, self.tile_words, 1, self.drains // n)


@dataclass(frozen=True)
class FanoutTraffic:
    """What crosses one fanout: multicast and reduction factors, words delivered per tensor.

    `multicast[t]` children share each word of `t` read above (1 without
    multicast); `reduction` children's partial sums merge into one word.
    `deliveries[t]` counts every word of `t` received by, or sent up from,
    one child (before reduction); `hop_energy` is paid per delivery.
    """

    name: str
    used: int
    multicast: dict[str, int]
    reduction: int
    deliveries: dict[str, int]


@dataclass(frozen=True)
class Cost:
    """Everything the model says about one mapping; energies in integer fJ.

    `traffic[i]` maps each tensor level i keeps to its `Traffic`;
    `fanouts[j]` belongs to `arch.fanouts[j]`. `macs` counts padded
    iterations, `real_macs` the workload's; `utilisation` uses the real ones.
    """

    levels: tuple[str, ...]
    traffic: tuple[dict[str, Traffic], ...]
    fanouts: tuple[FanoutTraffic, ...]
    level_energy: tuple[dict[str, int], ...]
    fanout_energy: tuple[int, ...]
    compute_energy: int
    energy: int
    compute_cycles: int
    level_cycles: tuple[int, ...]
    cycles: int
    macs: int
    real_macs: int
    utilisation: float


@dataclass(frozen=True)
class HostOpCost:
    """A host op's DRAM streaming: energy (fJ) and cycles."""

    energy: int
    cycles: int


@dataclass(frozen=True)
class _Context:
    """Per (workload, arch) constants, computed once so `evaluate` only walks the mapping."""

    relevant: dict[str, tuple[bool, ...]]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    bounds: tuple[int, ...]
    fanout_at: tuple[int | None, ...]
    fanout_parent: tuple[int, ...]
    multicast: tuple[bool, ...]
    reduction: tuple[bool, ...]
    bandwidth: tuple[tuple[Fraction | None, Fraction | None], ...]


_CONTEXTS: dict[tuple[Workload, int], tuple[Arch, _Context]] = {}


def _context(workload: Workload, arch: Arch) -> _Context:
    """The cached `_Context`; keyed by the arch's identity (Arch holds dicts, so it is unhashable)."""
    key = (workload, id(arch))
    hit = _CONTEXTS.get(key)
    if hit is not None and hit[0] is arch:
        return hit[1]
    fanout_at: list[int | None] = [None] * len(arch.levels)
    for j, fanout in enumerate(arch.fanouts):
        fanout_at[arch.level_index(fanout.parent)] = j
    ctx = _Context(
        relevant={t: tuple(d in workload.relevant(t) for d in DIMS) for t in TENSORS},
        stride=workload.stride, dilation=workload.dilation,
        bounds=tuple(b for _, b in workload.bounds), fanout_at=tuple(fanout_at),
        fanout_parent=tuple(arch.level_index(f.parent) for f in arch.fanouts),
        multicast=tuple(f.multicast for f in arch.fanouts),
        reduction=tuple(f.reduction for f in arch.fanouts),
        bandwidth=tuple((exact_bandwidth(lv.read_bandwidth), exact_bandwidth(lv.write_bandwidth))
                        for lv in arch.levels))
    if len(_CONTEXTS) > 256:
        _CONTEXTS.clear()
    _CONTEXTS[key] = (arch, ctx)
    return ctx


def exact_bandwidth(bandwidth: float | None) -> Fraction | None:
    """A bandwidth as an exact fraction, so cycle counts are integer arithmetic."""
    return None if bandwidth is None else Fraction(bandwidth).limit_denominator(1 << 20)


@dataclass(frozen=True)
class _Flow:
    """What `_traffic` hands to `_price`: counts only, no energies."""

    traffic: tuple[dict[str, Traffic], ...]
    fanouts: tuple[FanoutTraffic, ...]
    instances: list[int]
    macs: int
    temporal_iterations: int


def _traffic(ctx: _Context, arch: Arch, mapping: Mapping) -> _Flow:
    """Fills, reads, updates, first writes per level and tensor; deliveries per fanout (the spec's core)."""
    levels = len(arch.levels)
    tile, spatial = tiles(mapping, arch)
    macs = prod(tile[0])
    instances = [1] * levels
    for i in range(1, levels):
        instances[i] = instances[i - 1] * prod(spatial[i - 1])
    above: list[tuple[int, int, int]] = []        # (dim, factor, level) of every temporal loop, nest order
    first_below = []                              # the loops strictly above level i are above[:first_below[i]]
    for i, loops in enumerate(mapping.temporal):
        first_below.append(len(above))
        above.extend((DIM_INDEX[lp.dim], lp.factor, i) for lp in loops)
    merge = _spatial_factor(ctx, spatial, "O", ctx.reduction)   # per level: reduction of the fanout below
    deliveries = {t: [0] * levels for t in TENSORS}

    def send(t: str, volume: int, top: int, bottom: int, shrink: list[int]) -> int:
        """Carry `volume` words from the children side of level `bottom` (levels = the MACs) up to `top`."""
        for lv in range(bottom - 1, top - 1, -1):
            if ctx.fanout_at[lv] is not None:
                deliveries[t][lv] += volume
                volume //= shrink[lv]
        return volume

    share: dict[str, list[int]] = {}
    fills = {t: [0] * levels for t in TENSORS}
    reads = {t: [0] * levels for t in TENSORS}
    updates = {t: [0] * levels for t in TENSORS}
    first_writes = {t: [0] * levels for t in TENSORS}
    overwrites = {t: [0] * levels for t in TENSORS}       # O only; W and I stay 0
    drains = [0] * levels                                 # O's write-backs to the parent
    handed = _spatial_factor(ctx, spatial, "O", (True,) * len(arch.fanouts))   # O-irrelevant fanout factors
    for t in TENSORS:
        rel = ctx.relevant[t]
        share[t] = _spatial_factor(ctx, spatial, t, ctx.multicast)  # per level: multicast of the fanout below
        parent = 0
        for i in range(1, levels):
            if t not in mapping.keep[i]:
                continue
            size = words(t, tile[i], ctx.stride, ctx.dilation)
            starts, jstar = _innermost_relevant(above[:first_below[i]], rel)
            advances = 1 if jstar is None else jstar[1]
            if t == "O":
                distinct = prod(f for d, f, _ in above[:first_below[i]] if rel[d])
                fill = (starts * advances - distinct) * size
                writeback = starts * advances * size * instances[i]
                reads[t][i] += writeback
                drains[i] = writeback
                first_writes[t][i] = distinct * size * instances[i]
                updates[t][parent] += send(t, writeback, parent, i, merge)
                overwrites[t][parent] += fill * instances[i] // prod(handed[parent:i])
            elif t == "I" and jstar is not None and jstar[0] in _WINDOW and (
                    arch.accounting.halo_past_irrelevant or rel[above[first_below[i] - 1][0]]):
                fill = starts * (size + (advances - 1) * _window_words(ctx, tile[i], tile[jstar[2]], jstar))
            else:
                fill = starts * advances * size
            fills[t][i] = fill * instances[i]
            reads[t][parent] += send(t, fills[t][i], parent, i, share[t])
            parent = i
        if t == "O":
            updates[t][parent] += send(t, macs, parent, levels, merge)
            first_writes[t][0] = words("O", tile[0], ctx.stride, ctx.dilation)
        else:
            reads[t][parent] += send(t, macs, parent, levels, share[t])
    traffic = tuple(
        {t: Traffic(tile_words=words(t, tile[i], ctx.stride, ctx.dilation), instances=instances[i],
                    fills=fills[t][i], reads=reads[t][i], updates=updates[t][i],
                    first_writes=first_writes[t][i], overwrites=overwrites[t][i],
                    rmw=updates[t][i] - first_writes[t][i] - overwrites[t][i], drains=drains[i] if t == "O" else 0)
         for t in TENSORS if i == 0 or t in mapping.keep[i]}
        for i in range(levels))
    fanouts = tuple(
        FanoutTraffic(name=fanout.name, used=prod(spatial[lv]), multicast={t: share[t][lv] for t in TENSORS},
                      reduction=merge[lv], deliveries={t: deliveries[t][lv] for t in TENSORS})
        for fanout, lv in zip(arch.fanouts, ctx.fanout_parent))
    return _Flow(traffic, fanouts, instances, macs, macs // prod(prod(row) for row in spatial))


def _spatial_factor(ctx: _Context, spatial: list[list[int]], tensor: str, enabled: tuple[bool, ...]) -> list[int]:
    """Per level, the product of the spatial factors irrelevant to `tensor` of the fanout below it.

    That is the multicast factor (`enabled` = fanouts' multicast flags) or,
    for O, the reduction factor (`enabled` = reduction flags); 1 where off.
    """
    rel = ctx.relevant[tensor]
    return [1 if j is None or not enabled[j] else prod(f for d, f in enumerate(row) if not rel[d])
            for j, row in zip(ctx.fanout_at, spatial)]


def _innermost_relevant(loops: list[tuple[int, int, int]], rel: tuple[bool, ...]):
    """(starts, j*): j* the innermost loop relevant to the tensor, starts the product of the loops outside it."""
    for pos in range(len(loops) - 1, -1, -1):
        if rel[loops[pos][0]]:
            return prod(f for _, f, _ in loops[:pos]), loops[pos]
    return 1, None


def _window_words(ctx: _Context, here: list[int], outer: list[int], jstar: tuple[int, int, int]) -> int:
    """Input words new to the tile `here` when the sliding-window loop `jstar` advances once.

    The window moves by stride (P/Q) or dilation (R/S) times the product of
    that dim's factors inside `jstar` (`outer` is the tile of jstar's level).
    """
    dim, factor, _ = jstar
    axis, kind = _WINDOW[dim]
    extent = (ctx.stride[0] * (here[_P] - 1) + ctx.dilation[0] * (here[_R] - 1) + 1 if axis == _P
              else ctx.stride[1] * (here[_Q] - 1) + ctx.dilation[1] * (here[_S] - 1) + 1)
    step = (ctx.dilation if kind else ctx.stride)[0 if axis == _P else 1]
    shift = step * (outer[dim] // factor)
    return words("I", here, ctx.stride, ctx.dilation) // extent * min(extent, shift)


def _price(ctx: _Context, arch: Arch, flow: _Flow) -> Cost:
    """Turn traffic into energy (integer fJ per level, tensor, fanout, compute) and cycles."""
    level_energy: list[dict[str, int]] = []
    level_cycles: list[int] = []
    for i, level in enumerate(arch.levels):
        energy = {}
        read_words = write_words = 0
        for t, tr in flow.traffic[i].items():
            cost = level.tensors[t]
            priced_reads = tr.reads if arch.accounting.drain_reads else tr.reads - tr.drains
            energy[t] = (priced_reads * cost.read_energy + tr.fills * cost.write_energy
                         + (tr.first_writes + tr.overwrites) * psum_write_energy(cost, arch.accounting)
                         + tr.rmw * cost.update_energy)
            read_words += priced_reads + tr.rmw
            write_words += tr.fills + tr.updates
        level_energy.append(energy)
        read_bw, write_bw = ctx.bandwidth[i]
        level_cycles.append(max(ceil_div(read_words // flow.instances[i], read_bw),
                                ceil_div(write_words // flow.instances[i], write_bw)))
    fanout_energy = [fanout.hop_energy * sum(ft.deliveries.values())
                     for fanout, ft in zip(arch.fanouts, flow.fanouts)]
    macs = flow.macs
    compute_energy = macs * arch.compute.mac_energy
    compute_cycles = -(-flow.temporal_iterations // arch.compute.macs_per_pe)
    cycles = max(compute_cycles, *level_cycles)
    real = prod(ctx.bounds)
    energy = compute_energy + sum(fanout_energy) + sum(sum(e.values()) for e in level_energy)
    return Cost(levels=tuple(lv.name for lv in arch.levels), traffic=flow.traffic,
                fanouts=flow.fanouts, level_energy=tuple(level_energy),
                fanout_energy=tuple(fanout_energy), compute_energy=compute_energy, energy=energy,
                compute_cycles=compute_cycles, level_cycles=tuple(level_cycles), cycles=cycles,
                macs=macs, real_macs=real, utilisation=real / (cycles * arch.peak_macs_per_cycle))


def psum_write_energy(cost: TensorCost, accounting: Accounting) -> int:
    """fJ of a partial sum's first write or an overwrite: the write energy, or under Timeloop's
    accounting its `update` action (the update energy less the read of a read-modify-write)."""
    if accounting.psum_writes == "write":
        return cost.write_energy
    return max(0, cost.update_energy - cost.read_energy)


def ceil_div(count: int, bandwidth: Fraction | None) -> int:
    """ceil(count / bandwidth) in integers; 0 for unlimited bandwidth."""
    if bandwidth is None:
        return 0
    return -(-count * bandwidth.denominator // bandwidth.numerator)


def evaluate(workload: Workload, arch: Arch, mapping: Mapping) -> Cost:
    """The cost of `mapping` of `workload` on `arch`, by docs/cost-model.md.

    Pure; assumes a structurally valid mapping (see `validity.check_mapping`);
    capacity is not checked here (`check_fits` does that, cheaply, first).
    """
    ctx = _context(workload, arch)
    return _price(ctx, arch, _traffic(ctx, arch, mapping))


def score(cost: Cost, objective: str) -> int:
    """The integer a search minimises: "energy" (fJ), "latency" (cycles) or "edp" (fJ x cycles)."""
    if objective == "energy":
        return cost.energy
    if objective == "latency":
        return cost.cycles
    if objective == "edp":
        return cost.energy * cost.cycles
    raise ValueError(f"unknown objective {objective!r}; objectives are {', '.join(OBJECTIVES)}")


@lru_cache(maxsize=1024)
def touched_input_words(workload: Workload) -> int:
    """Distinct input words the layer reads: rows and columns skipped by a stride are not counted."""
    dims = workload.dims
    (sh, sw), (dh, dw) = workload.stride, workload.dilation
    rows = len({sh * p + dh * r for p in range(dims["P"]) for r in range(dims["R"])})
    cols = len({sw * q + dw * s for q in range(dims["Q"]) for s in range(dims["S"])})
    return dims["N"] * dims["G"] * dims["C"] * rows * cols


def check_fits(workload: Workload, arch: Arch, mapping: Mapping) -> None:
    """Raise `MappingError` naming level, tensor, need and have when a kept tile does not fit."""
    problems = capacity_problems(workload, arch, mapping)
    if problems:
        raise MappingError(problems)


def host_op_cost(in_words: int, out_words: int, arch: Arch) -> HostOpCost:
    """A host op (pool, softmax, norm, element-wise) streams its inputs from and outputs to DRAM.

    Activations in DRAM are priced as tensor I: `in_words` reads and
    `out_words` writes at DRAM's I energies; cycles are the DRAM bandwidth's.
    """
    dram = arch.levels[0]
    cost = dram.tensors["I"]
    energy = in_words * cost.read_energy + out_words * cost.write_energy
    cycles = max(ceil_div(in_words, exact_bandwidth(dram.read_bandwidth)),
                 ceil_div(out_words, exact_bandwidth(dram.write_bandwidth)))
    return HostOpCost(energy=energy, cycles=cycles)
