"""Benchmark whole-network mapping: cold cache, then warm, in one run (`map_graph`, the compile path).

Per network: unique workloads, layers, wall time cold (empty cache) and warm
(the same cache again), how many unique workloads were proved OPTIMAL and how
many carry the canonical tie-break, and the warm run's cache hits. The
baseline in the same process is the warm run (the ratio cold / warm).

    python benchmarks/bench_network.py --models resnet50,bert_base --arch eyeriss --jobs 2
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, TextIO

from accelmap.api import load_model
from accelmap.arch import load_arch
from accelmap.mapper.network import Progress, SolveSettings, map_graph


def _progress(stream: TextIO) -> Callable[[Progress], None]:
    """A progress callback that rewrites one status line on `stream`."""
    def report(p: Progress) -> None:
        stream.write(f"\r  {p.done}/{p.total} {p.layer[:40]:40s} {p.status:8s} {p.elapsed:7.1f} s")
        stream.flush()
    return report


def main() -> None:
    """Map each network cold then warm; print one table row per network."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="resnet50,bert_base", help="comma-separated zoo names")
    parser.add_argument("--arch", default="eyeriss", help="preset (default eyeriss)")
    parser.add_argument("--objective", default="energy", help="energy, latency or edp")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per unique layer (default 60)")
    parser.add_argument("--no-tie-break", action="store_true", help="skip the canonical tie-break")
    parser.add_argument("--padding", action="store_true", help="also search padded bounds")
    args = parser.parse_args()
    arch = load_arch(args.arch)
    settings = SolveSettings(args.objective, args.time_limit, allow_padding=args.padding,
                             tie_break=not args.no_tie_break)
    rows = []
    for name in args.models.split(","):
        graph = load_model(name)
        with tempfile.TemporaryDirectory() as cache:
            print(f"{name}: cold", file=sys.stderr)
            start = time.perf_counter()
            cold = map_graph(graph, arch, settings, jobs=args.jobs, cache_dir=Path(cache),
                             progress=_progress(sys.stderr))
            cold_s = time.perf_counter() - start
            print(f"\n{name}: warm", file=sys.stderr)
            start = time.perf_counter()
            warm = map_graph(graph, arch, settings, jobs=args.jobs, cache_dir=Path(cache))
            warm_s = time.perf_counter() - start
        unique = {id(r): r for r in cold.results.values()}.values()
        proved = sum(r.status == "OPTIMAL" for r in unique)
        canonical = sum(r.canonical for r in unique)
        slowest = max(r.wall_time for r in unique)
        same = all(warm.results[n].mapping == r.mapping for n, r in cold.results.items())
        padded = sum(bool(r.mapping.padded) for r in unique)
        rows.append((name, cold.unique, len(cold.results), cold_s, warm_s, proved, canonical, padded,
                     warm.cache_hits, slowest, same))
    print(f"\n{args.arch}, {args.objective}, {args.jobs} jobs, {args.time_limit:g} s per layer, "
          f"tie-break {'off' if args.no_tie_break else 'on'}, padding {'on' if args.padding else 'off'}")
    print("| network | unique / layers | cold s | warm s | cold / warm | proved | canonical | padded | warm hits "
          "| slowest layer s | warm == cold |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, unique, layers, cold_s, warm_s, proved, canonical, padded, hits, slowest, same in rows:
        print(f"| {name} | {unique} / {layers} | {cold_s:.1f} | {warm_s:.2f} | {cold_s / warm_s:.0f}x | "
              f"{proved}/{unique} | {canonical}/{unique} | {padded} | {hits} | {slowest:.1f} | {same} |")


if __name__ == "__main__":
    main()
