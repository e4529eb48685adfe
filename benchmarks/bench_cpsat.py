"""Benchmark the CP-SAT mapper on every unique layer of bundled networks.

Per layer: status, solve time, exact mapspace size, score, the proved bound,
the model's analytic lower bound and the score's ratio to it, and (with
--random) the best of uniform random sampling given the same time and 10x
the time, in the same run. Prints a table and totals.

    python benchmarks/bench_cpsat.py --models resnet50 --archs eyeriss --objectives energy
    python benchmarks/bench_cpsat.py --models resnet50,mobilenetv2,bert_base --archs eyeriss,gemmini \\
        --objectives energy,latency,edp --time-limit 60 --random 1,10 --json results.json
    python benchmarks/bench_cpsat.py --models resnet18 --archs design.yaml --objectives energy \\
        --time-limit 30 --workers 1 --no-count --random 1     # as `accelmap compile` maps each layer
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, asdict
from math import exp, log

from accelmap.api import load_model
from accelmap.arch import load_arch
from accelmap.arch.spec import Arch
from accelmap.errors import InfeasibleLayer, MappingError
from accelmap.ir.workload import Workload
from accelmap.mapper.mapspace import Mapspace
from accelmap.mapper.bounds import lower_bounds
from accelmap.mapper.model import check_fits, evaluate
from accelmap.mapper.search_random import RandomSearch
from accelmap.mapper.solve import map_workload


@dataclass
class Row:
    """One (network, arch, objective, layer) measurement."""

    model: str
    arch: str
    objective: str
    layer: str
    count: int
    dims: str
    status: str
    seconds: float
    mapspace: int | None
    score: int | None
    bound: int | None
    analytic: int
    ratio: float | None
    random: dict[str, tuple[int | None, int]]     # multiplier -> (best score, samples)
    note: str = ""


def analytic_bound(workload: Workload, arch: Arch, objective: str) -> int:
    """The model's lower bound (`bounds.lower_bounds`) over the unpadded mappings this benchmark searches,
    for the objective."""
    b = lower_bounds(workload, arch, padding=False)
    return {"energy": b.energy, "latency": b.cycles, "edp": b.energy * b.cycles}[objective]


def random_best(workload: Workload, arch: Arch, objective: str, seconds: float, seed: int) -> tuple[int | None, int]:
    """Best score of uniform random valid mappings within `seconds` (counting the mapspace is included)."""
    start = time.perf_counter()
    space = Mapspace(workload, arch)
    if space.size() == 0:
        return None, 0
    search = RandomSearch(space, objective, seed)
    tried = 0
    while tried == 0 or time.perf_counter() - start < seconds:
        mapping = search.propose()
        tried += 1
        try:
            check_fits(workload, arch, mapping)
        except MappingError:
            continue
        search.report(evaluate(workload, arch, mapping))
    return (search.best[0] if search.best else None), tried


def run(models: list[str], archs: list[str], objectives: list[str], time_limit: float, workers: int,
        multipliers: list[float], layers: list[int] | None, out=sys.stdout, tie_break: bool = False,
        count: bool = True) -> list[Row]:
    """Solve every selected layer; print one line per layer as it finishes."""
    rows = []
    for model in models:
        groups = list(load_model(model).unique_workloads().values())
        for arch_name in archs:
            arch = load_arch(arch_name)
            for objective in objectives:
                print(f"\n== {model} on {arch_name}, {objective} (time limit {time_limit:g} s per layer) ==",
                      file=out, flush=True)
                print(_header(multipliers), file=out, flush=True)
                for index, nodes in enumerate(groups):
                    if layers is not None and index not in layers:
                        continue
                    row = _one(model, arch, objective, index, nodes, time_limit, workers, multipliers, tie_break,
                               count)
                    rows.append(row)
                    print(_line(row, multipliers), file=out, flush=True)
    return rows


def _one(model: str, arch: Arch, objective: str, index: int, nodes, time_limit: float, workers: int,
         multipliers: list[float], tie_break: bool, count: bool) -> Row:
    workload = nodes[0].workload
    analytic = analytic_bound(workload, arch, objective)
    start = time.perf_counter()
    try:
        result = map_workload(workload, arch, objective, time_limit=time_limit, workers=workers,
                              tie_break=tie_break, count=count)
    except InfeasibleLayer as err:
        return Row(model, arch.name, objective, f"#{index} {nodes[0].name}", len(nodes), workload.describe(),
                   "INFEASIBLE", time.perf_counter() - start, None, None, None, analytic, None, {}, str(err))
    seconds = time.perf_counter() - start
    rand = {f"{m:g}x": random_best(workload, arch, objective, m * seconds, seed=index) for m in multipliers}
    return Row(model, arch.name, objective, f"#{index} {nodes[0].name}", len(nodes), workload.describe(),
               result.status, seconds, result.mapspace_size, result.objective, result.bound, analytic,
               result.objective / analytic if analytic else None, rand, result.note)


def _header(multipliers: list[float]) -> str:
    rand = "".join(f" {'rand ' + format(m, 'g') + 'x':>11}" for m in multipliers)
    return (f"{'layer':<34} {'n':>2} {'status':<9} {'time s':>7} {'mapspace':>9} {'score':>11} "
            f"{'proved bd':>11} {'score/LB':>8}{rand}")


def _line(row: Row, multipliers: list[float]) -> str:
    def num(x):
        return "-" if x is None else f"{x:.4g}" if isinstance(x, float) else f"{x:.4g}"
    rand = ""
    for m in multipliers:
        best, _ = row.random.get(f"{m:g}x", (None, 0))
        rand += f" {(f'{best / row.score:.3f}x' if best and row.score else '-'):>11}"
    return (f"{row.layer[:34]:<34} {row.count:>2} {row.status:<9} {row.seconds:>7.1f} {num(row.mapspace):>9} "
            f"{num(row.score):>11} {num(row.bound):>11} {num(row.ratio):>8}{rand}")


def totals(rows: list[Row], multipliers: list[float], out=sys.stdout) -> None:
    """Per (model, arch, objective): layers proved, solve time, network totals and random's geometric-mean ratio."""
    keys = sorted({(r.model, r.arch, r.objective) for r in rows})
    print("\n== totals ==", file=out)
    for key in keys:
        group = [r for r in rows if (r.model, r.arch, r.objective) == key]
        proved = sum(r.status == "OPTIMAL" for r in group)
        seconds = sum(r.seconds for r in group)
        total = sum(r.score * r.count for r in group if r.score is not None)
        analytic = sum(r.analytic * r.count for r in group)
        line = (f"{key[0]} / {key[1]} / {key[2]}: {proved}/{len(group)} layers OPTIMAL, solve time {seconds:.1f} s "
                f"(max {max(r.seconds for r in group):.1f} s), network score {total:.4g} "
                f"(sum over all layers), {total / analytic:.3f}x the analytic lower bound")
        for m in multipliers:
            ratios = [r.random[f"{m:g}x"][0] / r.score for r in group
                      if r.score and r.random.get(f"{m:g}x", (None, 0))[0]]
            if ratios:
                gm = exp(sum(log(x) for x in ratios) / len(ratios))
                line += f"; random {m:g}x time: geo-mean {gm:.3f}x CP-SAT, worst {max(ratios):.3f}x"
        print(line, file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="resnet50,mobilenetv2,bert_base", help="comma-separated zoo names")
    parser.add_argument("--archs", default="eyeriss,gemmini", help="comma-separated presets")
    parser.add_argument("--objectives", default="energy,latency,edp", help="energy, latency, edp")
    parser.add_argument("--time-limit", type=float, default=60.0, help="CP-SAT seconds per layer (default 60)")
    parser.add_argument("--workers", type=int, default=2, help="CP-SAT workers (default 2)")
    parser.add_argument("--layers", default=None, help="comma-separated unique-layer indices (default all)")
    parser.add_argument("--random", default="", help="random-sampling time multipliers, e.g. 1,10 (default none)")
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    parser.add_argument("--no-count", action="store_true",
                        help="do not count the mapspace nor start from uniform samples: the compile path's "
                             "start (walks and local search where `solve._start_pays`)")
    parser.add_argument("--tie-break", action="store_true",
                        help="also run the canonical tie-break (off: the time column is the proof alone)")
    args = parser.parse_args(argv)
    multipliers = [float(x) for x in args.random.split(",") if x]
    layers = None if args.layers is None else [int(x) for x in args.layers.split(",")]
    rows = run(args.models.split(","), args.archs.split(","), args.objectives.split(","), args.time_limit,
               args.workers, multipliers, layers, tie_break=args.tie_break, count=not args.no_count)
    totals(rows, multipliers)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump([asdict(r) for r in rows], fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
