"""The deep executor: run one mapped layer through every level of the hierarchy, word by word.

The normal executor only moves words between DRAM and the outermost on-chip
keeper. `simulate_layer` walks the whole nest instead: every temporal loop of
every level in order, every spatial loop as an explicit instance index, and
keeps a simulated buffer (tile coordinates + the words themselves) for each
instance of each level that keeps a tensor. At each step:

1. every kept tile whose coordinate box changed ends its residency; an output
   tile is written back to its parent (innermost level first), its partial
   sums merged across reducing fanouts;
2. the new tiles are filled from the nearest keeping parent (outermost level
   first). A tile changes when a loop index relevant to its tensor changes
   (docs/cost-model.md's rule, even if two window loops bring the box back
   to the same rows). When that change is an advance of the innermost
   relevant loop and it slides the input window, the overlap stays (only the
   new rows / columns are fetched); any other change fetches the whole tile. An output tile seen before by that instance is
   read back; a new one starts at zero. Children that differ only in spatial
   loops irrelevant to the tensor, across multicast fanouts, share one
   parent read per word (no spatial halo sharing, as in the cost model);
3. every leaf (one per PE / lane) does its MAC from the words its innermost
   buffers hold, and updates its innermost output keeper.

Outputs are computed from the buffers' contents with real arithmetic, so a
wrong tile shows as a wrong output, and the counts are made from the words
actually moved. docs/deep-executor.md has the rules and what they are checked
against.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from math import prod

import numpy as np

from accelmap.arch.spec import Arch
from accelmap.backend.run.executor import padded_workload
from accelmap.backend.outdir.nest import NestLoop, inside, nest_loops, tensor_box
from accelmap.ir.workload import DIMS, TENSORS, Workload
from accelmap.mapper.counts import Counts
from accelmap.mapper.mapping import Mapping

Box = tuple[tuple[int, int], ...]
WINDOW_DIMS = frozenset("PQRS")
"""Dims whose loops slide the input window (docs/cost-model.md, sliding windows)."""
Coord = tuple[int, ...]
Inst = tuple[int, ...]
FIELDS = Counts.FIELDS


@dataclass(frozen=True)
class LevelCounts(Counts):
    """The six `Counts` of one tensor at one level, totals over instances and, in `per_instance`, per instance.

    `per_instance[inst]` lists the six counts in `Counts.FIELDS` order;
    `inst` is the tuple of indices of the spatial loops above the level.
    """

    instances: int
    per_instance: dict[Inst, tuple[int, int, int, int, int, int]]


@dataclass(frozen=True)
class FanoutCounts:
    """What crossed one fanout: words on its children's side per tensor, and what multicast / reduction saved.

    `multicast[t]` = words children received minus words sent down into the
    fanout (shared by multicast); `reductions` = output words children sent
    up minus words leaving the fanout (merged by spatial reduction).
    """

    name: str
    deliveries: dict[str, int]
    multicast: dict[str, int]
    reductions: int


@dataclass(frozen=True)
class DeepResult:
    """One layer run through every level: its output (canonical O) and every count."""

    outputs: np.ndarray
    levels: tuple[str, ...]
    counts: tuple[dict[str, LevelCounts], ...]
    fanouts: tuple[FanoutCounts, ...]
    macs: int


@dataclass
class _Buffer:
    """One instance's copy of a tile: its coordinate box and its words."""

    box: Box | None
    data: dict[Coord, float]


def _coords(box: Box):
    return product(*(range(a, b) for a, b in box))


def _slide_overlap(old: Box | None, new: Box) -> set[Coord]:
    """Coordinates a buffer keeps when its tile changes from `old` to `new`.

    Only a forward move along one axis (a sliding window) keeps the overlap;
    any other change refills the whole tile.
    """
    if old is None:
        return set()
    moved = [a for a, (o, n) in enumerate(zip(old, new)) if o != n]
    if len(moved) != 1:
        return set()
    a = moved[0]
    (o0, o1), (n0, n1) = old[a], new[a]
    if n0 <= o0 or n1 - n0 != o1 - o0 or n0 >= o1:
        return set()
    return set(_coords(new[:a] + ((n0, o1),) + new[a + 1:]))


class _Sim:
    """The simulation state of one layer; `run` walks the nest."""

    def __init__(self, workload: Workload, arch: Arch, mapping: Mapping, i_canon: np.ndarray,
                 w_canon: np.ndarray):
        self.wl = padded_workload(workload, mapping.bounds(workload.dims))
        self.real = workload
        self.arch = arch
        loops = nest_loops(mapping, arch)
        self.temporal = [lp for lp in loops if not lp.spatial]
        self.spatial: list[NestLoop] = [lp for lp in loops if lp.spatial]
        levels = len(arch.levels)
        self.levels = levels
        self.ns = [sum(1 for lp in self.spatial if lp.level < i) for i in range(levels + 1)]
        self.nt = [sum(1 for lp in self.temporal if lp.level < i) for i in range(levels + 1)]
        self.extent = [inside(loops, i) for i in range(levels + 1)]
        self.fanout_level = [arch.level_index(f.parent) for f in arch.fanouts]
        self.relevant = {t: workload.relevant(t) for t in TENSORS}
        self.keepers = {t: [0] + [i for i in range(1, levels) if t in mapping.keep[i]] for t in TENSORS}
        self.reuse_loop = {(i, t): max((p for p in range(self.nt[i]) if self.temporal[p].dim in self.relevant[t]),
                                       default=None) for t in TENSORS for i in self.keepers[t]}
        self.buffers: dict[tuple[int, str], dict[Inst, _Buffer]] = {}
        self.seen: dict[tuple[int, str], dict[Inst, set[Box]]] = {}
        self.written: dict[tuple[int, Inst], set[Coord]] = {}
        self.handed: dict[tuple[int, Inst], set[Coord]] = {}
        self.counts = {(i, t): {} for t in TENSORS for i in self.keepers[t]}
        nfan = len(arch.fanouts)
        self.deliveries = [{t: 0 for t in TENSORS} for _ in range(nfan)]
        self.multicast = [{t: 0 for t in TENSORS} for _ in range(nfan)]
        self.reductions = [0] * nfan
        self.macs = 0
        self._load_dram(i_canon, w_canon)

    # ---- setup -------------------------------------------------------------------------------
    def _load_dram(self, i_canon: np.ndarray, w_canon: np.ndarray) -> None:
        """DRAM holds the canonical tensors, zero-padded to the mapping's padded bounds."""
        for t, array in (("I", i_canon), ("W", w_canon), ("O", None)):
            shape = self.wl.tensor_shape(t)
            full = np.zeros(shape, dtype=np.float64)
            if array is not None:
                want = self.real.tensor_shape(t)
                if tuple(array.shape) != want:
                    raise ValueError(f"canonical {t} has shape {tuple(array.shape)}, the layer needs {want}")
                full[tuple(slice(0, n) for n in want)] = array
            data = {c: float(full[c]) for c in np.ndindex(*shape)}
            self.buffers[(0, t)] = {(): _Buffer(tuple((0, n) for n in shape), data)}

    def _count(self, level: int, t: str, inst: Inst, field: str, n: int) -> None:
        row = self.counts[(level, t)].setdefault(inst, [0] * len(FIELDS))
        row[FIELDS.index(field)] += n

    def _box(self, level: int, t: str, idx: tuple[int, ...], inst: Inst) -> Box:
        base = {d: 0 for d in DIMS}
        for lp, k in zip(self.temporal[:self.nt[level]], idx):
            base[lp.dim] += k * lp.stride
        for lp, k in zip(self.spatial, inst):
            base[lp.dim] += k * lp.stride
        return tuple(tensor_box(self.wl, t, base, self.extent[level]))

    def _instances(self, level: int):
        return product(*(range(lp.factor) for lp in self.spatial[:self.ns[level]]))

    def _parent(self, t: str, level: int) -> int:
        keepers = self.keepers[t]
        return keepers[keepers.index(level) - 1] if level in keepers else keepers[-1]

    # ---- moving words across fanouts ---------------------------------------------------------
    def _cross(self, t: str, up: bool, top: int, bottom: int, items: list[tuple[Inst, Coord]]) -> set:
        """Carry `items` (instance of `bottom`, coordinate) between level `bottom` and level `top`.

        Counts the deliveries at each fanout on the way; returns the distinct
        (masked instance, coordinate) keys seen at `top`, where children that
        differ only in spatial loops irrelevant to `t` on multicast (down) or
        reducing (up) fanouts are one.
        """
        path = range(self.ns[top], self.ns[bottom])
        eligible = [p for p in path if self.spatial[p].dim not in self.relevant[t]
                    and self._merges(self.spatial[p].fanout, up)]

        def distinct(mask: set[int]) -> set:
            return {(tuple(0 if p in mask else k for p, k in enumerate(inst)), c) for inst, c in items}

        for j, lv in enumerate(self.fanout_level):
            if not top <= lv < bottom:
                continue
            below = distinct({p for p in eligible if self.spatial[p].level > lv})
            after = distinct({p for p in eligible if self.spatial[p].level >= lv})
            self.deliveries[j][t] += len(below)
            if up:
                self.reductions[j] += len(below) - len(after)
            else:
                self.multicast[j][t] += len(below) - len(after)
        return distinct(set(eligible))

    def _merges(self, fanout: int, up: bool) -> bool:
        f = self.arch.fanouts[fanout]
        return f.reduction if up else f.multicast

    def _send_up(self, top: int, bottom: int, items: list[tuple[Inst, Coord, float]]) -> None:
        """Output partial sums from level `bottom` (or the MACs) into keeper `top`: add, count writes."""
        keys = self._cross("O", True, top, bottom, [(inst, c) for inst, c, _ in items])
        parent = self.buffers[(top, "O")]
        for inst, c, value in items:
            parent[inst[:self.ns[top]]].data[c] += value
        for inst, c in sorted(keys):
            pinst = inst[:self.ns[top]]
            if c not in parent[pinst].data:
                raise AssertionError(f"O word {c} reached level {top} instance {pinst}, which does not hold it")
            written = self.written.setdefault((top, pinst), set())
            handed = self.handed.setdefault((top, pinst), set())
            self._count(top, "O", pinst, "updates", 1)
            if c in handed:
                handed.discard(c)
                self._count(top, "O", pinst, "overwrites", 1)
            else:
                self._count(top, "O", pinst, "rmw" if c in written else "first_writes", 1)
            written.add(c)

    def _serve(self, t: str, top: int, bottom: int, items: list[tuple[Inst, Coord]]) -> None:
        """Count the parent reads that serve `items` (instance of `bottom`, coordinate) from keeper `top`."""
        for inst, c in self._cross(t, False, top, bottom, items):
            self._count(top, t, inst[:self.ns[top]], "reads", 1)

    # ---- the walk ----------------------------------------------------------------------------
    def run(self) -> None:
        """Walk every temporal step: write-backs (innermost first), fills (outermost first), MACs."""
        prev: tuple[int, ...] | None = None
        for idx in product(*(range(lp.factor) for lp in self.temporal)):
            changed = 0 if prev is None else next(p for p, (a, b) in enumerate(zip(prev, idx)) if a != b)
            boxes, slides = {}, {}
            for t in TENSORS:
                for i in self.keepers[t][1:]:
                    pos = self.reuse_loop[(i, t)]
                    if prev is None or (pos is not None and changed <= pos):
                        boxes[(i, t)] = {inst: self._box(i, t, idx, inst) for inst in self._instances(i)}
                        slides[(i, t)] = (prev is not None and t == "I" and changed == pos
                                          and self.temporal[pos].dim in WINDOW_DIMS
                                          and (self.arch.accounting.halo_past_irrelevant or pos == self.nt[i] - 1))
            for i in reversed(self.keepers["O"][1:]):
                if (i, "O") in boxes:
                    held = self.buffers.get((i, "O"), {})
                    self._write_back(i, [inst for inst, box in boxes[(i, "O")].items()
                                         if inst in held and held[inst].box not in (None, box)])
            for i in range(1, self.levels):
                for t in TENSORS:
                    if (i, t) in boxes:
                        self._fill(i, t, boxes[(i, t)], slides[(i, t)])
            self._compute(idx)
            prev = idx
        for i in reversed(self.keepers["O"][1:]):
            self._write_back(i, list(self.buffers[(i, "O")]))

    def _write_back(self, level: int, insts: list[Inst]) -> None:
        """End the residency of the O tiles of `insts` at `level`: send every word to the parent."""
        if not insts:
            return
        items = []
        for inst in insts:
            buf = self.buffers[(level, "O")][inst]
            items += [(inst, c, v) for c, v in buf.data.items()]
            self._count(level, "O", inst, "reads", len(buf.data))
            buf.box, buf.data = None, {}
        self._send_up(self._parent("O", level), level, items)

    def _fill(self, level: int, t: str, boxes: dict[Inst, Box], slide: bool) -> None:
        """Give every instance of `level` its new tile of `t`, fetching from the parent.

        The tile changed because a relevant loop index changed (docs/cost-model.md's
        rule), even where the new box equals the old one; only when `slide` (the
        innermost relevant loop, a window loop, advanced) does the overlap stay.
        """
        bufs = self.buffers.setdefault((level, t), {})
        parent_level = self._parent(t, level)
        parent = self.buffers[(parent_level, t)]
        items: list[tuple[Inst, Coord]] = []
        moved: set[tuple[Inst, Coord]] = set()
        for inst, box in boxes.items():
            buf = bufs.setdefault(inst, _Buffer(None, {}))
            keep = _slide_overlap(buf.box, box) if slide else set()
            data = {c: buf.data[c] for c in keep}
            source = parent[inst[:self.ns[parent_level]]]
            if t == "O":
                seen = self.seen.setdefault((level, t), {}).setdefault(inst, set())
                fetch = box in seen
                seen.add(box)
                leader = all(k == 0 for p, k in enumerate(inst) if p >= self.ns[parent_level]
                             and self.spatial[p].dim not in self.relevant["O"])
                for c in _coords(box):
                    value = source.data[c] if fetch else 0.0
                    data[c] = value if leader else 0.0
                    if fetch:
                        items.append((inst, c))
                        if leader:
                            moved.add((inst[:self.ns[parent_level]], c))
            else:
                for c in _coords(box):
                    if c not in data:
                        data[c] = source.data[c]
                        items.append((inst, c))
            buf.box, buf.data = box, data
            self._count(level, t, inst, "fills", len(data) - len(keep) if t != "O" or fetch else 0)
        for pinst, c in moved:
            parent[pinst].data[c] = 0.0
            self.handed.setdefault((parent_level, pinst), set()).add(c)
        self._serve(t, parent_level, level, items)

    def _compute(self, idx: tuple[int, ...]) -> None:
        """Every leaf does one MAC from its innermost W and I buffers into its innermost O keeper."""
        base = {d: 0 for d in DIMS}
        for lp, k in zip(self.temporal, idx):
            base[lp.dim] += k * lp.stride
        (sh, sw), (dh, dw) = self.wl.stride, self.wl.dilation
        kw, ki, ko = (self.keepers[t][-1] for t in TENSORS)
        leaves = self.levels
        w_items, i_items, o_items = [], [], []
        for inst in product(*(range(lp.factor) for lp in self.spatial)):
            at = dict(base)
            for lp, k in zip(self.spatial, inst):
                at[lp.dim] += k * lp.stride
            n, g, k_, c, p, q, r, s = (at[d] for d in DIMS)
            wc, ic, oc = (g, k_, c, r, s), (n, g, c, p * sh + r * dh, q * sw + s * dw), (n, g, k_, p, q)
            w = self._operand(kw, "W", inst, wc)
            x = self._operand(ki, "I", inst, ic)
            w_items.append((inst, wc))
            i_items.append((inst, ic))
            o_items.append((inst, oc, w * x))
        self.macs += len(o_items)
        self._serve("W", kw, leaves, w_items)
        self._serve("I", ki, leaves, i_items)
        self._send_up(ko, leaves, o_items)

    def _operand(self, level: int, t: str, inst: Inst, c: Coord) -> float:
        buf = self.buffers[(level, t)][inst[:self.ns[level]]]
        if c not in buf.data:
            raise AssertionError(f"MAC at leaf {inst} needs {t}{c}, not in level {level}'s tile {buf.box}")
        return buf.data[c]

    # ---- results -----------------------------------------------------------------------------
    def result(self) -> DeepResult:
        out = np.zeros(self.wl.tensor_shape("O"))
        for c, v in self.buffers[(0, "O")][()].data.items():
            out[c] = v
        real = self.real.tensor_shape("O")
        counts = []
        for i in range(self.levels):
            row = {}
            for t in TENSORS:
                if i not in self.keepers[t]:
                    continue
                per = {inst: tuple(v) for inst, v in self.counts[(i, t)].items()}
                for inst in self._instances(i):
                    per.setdefault(inst, (0,) * len(FIELDS))
                totals = [sum(v[f] for v in per.values()) for f in range(len(FIELDS))]
                row[t] = LevelCounts(*totals, instances=prod(lp.factor for lp in self.spatial[:self.ns[i]]),
                                     per_instance=per)
            counts.append(row)
        fanouts = tuple(FanoutCounts(f.name, self.deliveries[j], self.multicast[j], self.reductions[j])
                        for j, f in enumerate(self.arch.fanouts))
        return DeepResult(out[tuple(slice(0, n) for n in real)], tuple(lv.name for lv in self.arch.levels),
                          tuple(counts), fanouts, self.macs)


def simulate_layer(workload: Workload, arch: Arch, mapping: Mapping, i_canon: np.ndarray,
                   w_canon: np.ndarray) -> DeepResult:
    """Run `mapping` of `workload` on `arch` through every level on the canonical input and weights.

    `i_canon` is the (padded) input [N,G,C,H,W], `w_canon` the weights
    [G,K,C,R,S]; the result holds the canonical output [N,G,K,P,Q] computed
    from the innermost buffers and every level's and fanout's word counts.
    Meant for small layers: it visits every MAC and every word moved.
    """
    sim = _Sim(workload, arch, mapping, i_canon, w_canon)
    sim.run()
    return sim.result()
