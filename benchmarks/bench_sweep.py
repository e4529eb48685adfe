"""Benchmark a design sweep: the embedded Dask cluster against one process, each from an empty cache.

Runs the spec (default: examples/eyeriss_sweep.yaml, 48 Eyeriss-like designs
x ResNet-18, energy) twice: on the embedded LocalCluster (one worker process
per core, one CP-SAT worker per task) and in this process (tasks one after
another, CP-SAT using every core). Prints layer solves before deduplication,
tasks and distinct tasks, tasks solved, the share proved, wall times, the
Pareto designs, and whether the two tables agree on every row proved in both.

    python benchmarks/bench_sweep.py --time-limit 5 -o bench-sweep
    python benchmarks/bench_sweep.py --time-limit 5 --random 8      # 8 of the 48 designs
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

from accelmap import api
from accelmap.sweep import SweepProgress, SweepResult, SweepSpec, load_spec
from accelmap.sweep.spec import Sample

ROOT = Path(__file__).resolve().parent.parent


def _progress(label: str) -> Callable[[SweepProgress], None]:
    def report(p: SweepProgress) -> None:
        sys.stderr.write(f"\r  {label}: {p.done}/{p.total} tasks, {p.proved} proved, {p.elapsed:7.1f} s")
        sys.stderr.flush()
    return report


def _run(spec: SweepSpec, out: Path, **where) -> tuple[SweepResult, float]:
    """One cold sweep (its own empty cache); the result and its wall time."""
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        result = api.sweep(spec, out, cache_dir=Path(cache),
                           progress=_progress(out.name), **where)
        wall = time.perf_counter() - start
    sys.stderr.write("\n")
    return result, wall


def main() -> None:
    """Sweep on the embedded cluster, then in one process; print the comparison and the Pareto designs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(ROOT / "examples" / "eyeriss_sweep.yaml"), help="sweep spec YAML")
    parser.add_argument("--time-limit", type=float, default=None, help="seconds per task (default: the spec's)")
    parser.add_argument("--workers", type=int, default=None, help="embedded cluster workers (default: cores)")
    parser.add_argument("--random", type=int, default=None, metavar="N",
                        help="run N designs drawn at random (seed 0) instead of the spec's sample")
    parser.add_argument("--skip-serial", action="store_true", help="only the embedded cluster run")
    parser.add_argument("-o", "--output", default="bench-sweep", help="directory for both SWEEPDIRs")
    args = parser.parse_args()
    out = Path(args.output)
    spec = load_spec(args.spec)
    if args.time_limit is not None:
        spec = replace(spec, search=replace(spec.search, time_limit=args.time_limit))
    if args.random is not None:
        spec = replace(spec, sample=Sample("random", args.random, 0))
    runs = {"cluster": _run(spec, out / "cluster", workers=args.workers)}
    if not args.skip_serial:
        runs["one-process"] = _run(spec, out / "one-process", in_process=True)
    cluster = runs["cluster"][0]
    layers = sum(len(job.layer_keys) for job in cluster.jobs)
    print(f"spec {spec.source}: {len(cluster.designs)} designs x {', '.join(cluster.spec.models)} x "
          f"{', '.join(cluster.spec.objectives)}; {cluster.spec.search.time_limit:g} s per task")
    print(f"layer solves without deduplication: {layers}; tasks (design, unique workload, objective): "
          f"{cluster.tasks_before_dedup}; distinct tasks: {cluster.tasks}")
    print()
    print("| run | workers | wall s | tasks solved | proved | rows fully proved | Pareto designs |")
    print("|---|---|---|---|---|---|---|")
    for name, (result, wall) in runs.items():
        full = sum(r.proved == 1.0 for r in result.rows)
        front = sorted({r.design for r in result.rows if r.pareto})
        print(f"| {name} | {result.workers} | {wall:.1f} | {result.solved} / {result.tasks} | "
              f"{result.proved} ({100 * result.proved / result.tasks:.1f}%) | {full} / {len(result.rows)} | "
              f"{len(front)} |")
    if "one-process" in runs:
        serial = runs["one-process"][0]
        same = [a == b for a, b in zip(cluster.rows, serial.rows) if a.proved == b.proved == 1.0]
        print(f"\nrows proved in both runs: {len(same)}, equal: {sum(same)}")
    axes = [axis.name for axis in cluster.spec.axes]
    print(f"\nPareto designs (cluster run):\n\n| design | {' | '.join(axes)} | model | objective | energy uJ | cycles | "
          "on-chip KiB | proved | front |")
    print("|---|" + "---|" * (len(axes) + 7))
    for row in (r for r in cluster.rows if r.pareto):
        print(f"| {row.design} | {' | '.join(row.labels)} | {row.model} | {row.objective} | {row.energy_uj:.2f} | "
              f"{row.cycles:,} | "
              f"{row.onchip_kib:.1f} | {100 * row.proved:.0f}% | {', '.join(row.pareto)} |")


if __name__ == "__main__":
    main()
