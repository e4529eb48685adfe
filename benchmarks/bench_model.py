"""How fast the cost model scores mappings, on ResNet-50 layers, against a naive loop-by-loop baseline.

Run: `python benchmarks/bench_model.py`. For each layer and preset it prints
the exact mapspace size (and how long counting took), uniform samples drawn
per second, and µs per `evaluate` / `check_mapping`. The baseline walks every
iteration of the temporal loops above each keeper and counts tile changes
(the fills of docs/cost-model.md by brute force); it is timed on a small
layer, where it is feasible, and its fills must equal the model's.
"""
from __future__ import annotations

import random
import time
from itertools import product
from math import prod

from accelmap.arch.load import load_arch
from accelmap.arch.spec import Arch
from accelmap.ir.workload import Workload, make_workload
from accelmap.mapper.mapping import Mapping
from accelmap.mapper.mapspace import Mapspace
from accelmap.mapper.model import evaluate
from accelmap.mapper.validity import check_mapping

LAYERS = {
    "conv1 7x7/2 224": make_workload(k=64, c=3, p=112, q=112, r=7, s=7, stride=(2, 2)),
    "conv3_x 3x3 28": make_workload(k=128, c=128, p=28, q=28, r=3, s=3),
    "conv4_x 1x1 14": make_workload(k=1024, c=256, p=14, q=14),
    "fc 2048x1000": make_workload(k=1000, c=2048, kind="matmul"),
}
ARCHS = ("eyeriss", "simba")
SAMPLES = 300


def timed(fn, repeat: int) -> float:
    """Seconds per call of `fn`, best of three rounds of `repeat` calls."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - start) / repeat)
    return best


def naive_fills(workload: Workload, arch: Arch, mapping: Mapping) -> dict[tuple[int, str], int]:
    """Fills per (level, tensor) by walking every iteration of the loops above each keeper."""
    bounds = mapping.bounds(workload.dims)
    out = {}
    for i in range(1, len(arch.levels)):
        inside = dict.fromkeys(bounds, 1)
        for lv in range(i, len(arch.levels)):
            for loop in _spatial_below(arch, mapping, lv):
                inside[loop.dim] *= loop.factor
            for loop in mapping.temporal[lv]:
                inside[loop.dim] *= loop.factor
        above = [loop for lv in range(i) for loop in mapping.temporal[lv]]
        step, seen = [], dict(inside)           # a loop's step: its dim's factors inside it, spatial too
        for lv in range(i - 1, -1, -1):
            for loop in _spatial_below(arch, mapping, lv):
                seen[loop.dim] *= loop.factor
            for loop in reversed(mapping.temporal[lv]):
                step.insert(0, seen[loop.dim])
                seen[loop.dim] *= loop.factor
        instances = prod(loop.factor for lv in range(i) for loop in _spatial_below(arch, mapping, lv))
        for t in sorted(mapping.keep[i]):
            relevant = workload.relevant(t)
            size = workload.tile_words(t, inside)
            fills, previous, written = 0, None, set()
            for index in product(*(range(loop.factor) for loop in above)):
                key = tuple(x for x, loop in zip(index, above) if loop.dim in relevant)
                if key == (previous[1] if previous else None):
                    continue
                if t == "O":
                    fills += size if key in written else 0
                    written.add(key)
                elif t == "I" and previous is not None:
                    fills += _new_input_words(workload, inside, above, step, previous[0], index, size)
                else:
                    fills += size
                previous = (index, key)
            out[i, t] = fills * instances
    return out


def _spatial_below(arch: Arch, mapping: Mapping, level: int) -> tuple:
    """The spatial loops of the fanout below `level` (none without a fanout)."""
    fanout = arch.fanout_below(level)
    return () if fanout is None else mapping.spatial[arch.fanouts.index(fanout)].loops


def _new_input_words(workload, inside, above, step, before, after, size) -> int:
    """Whole tile, unless only one P/Q/R/S loop advanced by one: then the rows or columns new to the box."""
    changed = [n for n, (a, b) in enumerate(zip(before, after)) if a != b]
    if len(changed) != 1 or after[changed[0]] != before[changed[0]] + 1 or above[changed[0]].dim not in "PQRS":
        return size
    n = changed[0]
    dim = above[n].dim
    (sh, sw), (dh, dw) = workload.stride, workload.dilation
    rows = sh * (inside["P"] - 1) + dh * (inside["R"] - 1) + 1
    cols = sw * (inside["Q"] - 1) + dw * (inside["S"] - 1) + 1
    extent, move = {"P": (rows, sh), "R": (rows, dh), "Q": (cols, sw), "S": (cols, dw)}[dim]
    return size // extent * min(extent, move * step[n])


def main() -> None:
    """Print the table and the baseline comparison."""
    print("| arch | layer | MACs | mapspace size | count s | samples/s | evaluate µs | evals/s | check µs |")
    print("|---|---|---|---|---|---|---|---|---|")
    for arch_name in ARCHS:
        arch = load_arch(arch_name)
        for name, workload in LAYERS.items():
            space = Mapspace(workload, arch)
            start = time.perf_counter()
            size = space.size()
            counted = time.perf_counter() - start
            rng = random.Random(0)
            start = time.perf_counter()
            mappings = [space.sample(rng) for _ in range(SAMPLES)]
            sampling = SAMPLES / (time.perf_counter() - start)
            cycle = iter(mappings * 1000)
            per_eval = timed(lambda: evaluate(workload, arch, next(cycle)), SAMPLES)
            per_check = timed(lambda: check_mapping(workload, arch, next(cycle)), SAMPLES)
            print(f"| {arch_name} | {name} | {workload.macs:.3g} | {size:.3e} | {counted:.1f} | "
                  f"{sampling:,.0f} | {per_eval * 1e6:.0f} | {1 / per_eval:,.0f} | {per_check * 1e6:.0f} |")
    small = make_workload(k=8, c=4, p=8, q=8, r=3, s=3)
    arch = load_arch("eyeriss")
    mappings = [Mapspace(small, arch).sample(random.Random(seed)) for seed in range(20)]
    for m in mappings:
        cost = evaluate(small, arch, m)
        naive = naive_fills(small, arch, m)
        assert all(cost.traffic[i][t].fills == fills for (i, t), fills in naive.items()), m.describe()
    naive_s = sum(timed(lambda m=m: naive_fills(small, arch, m), 1) for m in mappings) / len(mappings)
    model_s = sum(timed(lambda m=m: evaluate(small, arch, m), 100) for m in mappings) / len(mappings)
    print(f"\nbaseline, {small.describe()} on eyeriss, 20 sampled mappings (fills agree on all):")
    print(f"  naive loop-by-loop fills: {naive_s * 1e6:,.0f} µs per mapping")
    print(f"  model (all counts, energy, cycles): {model_s * 1e6:,.0f} µs per mapping "
          f"({naive_s / model_s:,.0f}x faster)")


if __name__ == "__main__":
    main()
