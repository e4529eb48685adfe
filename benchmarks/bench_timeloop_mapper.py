"""accelmap's mapper against `timeloop-mapper` on a Timeloop design, both scored by `timeloop-model`.

For each unique layer of each model: accelmap maps it on the design imported
with `accelmap arch import` (arch, ERT, ART, constraints; Timeloop's
accounting, so both tools minimise the same energy) through the compile
path (`map_graph`: default time limit, one worker process per core, no
cache); its mapping is written as Timeloop files and scored by
`timeloop-model` on the design's own files. `timeloop-mapper` maps the same
problem on the same files with the design's constraints (random-pruned,
energy, `--tl-runs` runs of `--threads` threads and `--victory`), the best
run's energy is kept; its time is per run (what a user waits for one run). With `--free` accelmap maps without the constraints
(its whole mapspace) and is compared with timeloop-mapper's constrained best.

    python benchmarks/bench_timeloop_mapper.py --models resnet18 --designs eyeriss_ispass [--free]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from accelmap import api
from accelmap.interop.timeloop import import_timeloop_design, mapping_to_timeloop, problem_to_timeloop
from accelmap.interop.timeloop.peer import find_timeloop, run_timeloop
from accelmap.ir.workload import Workload
from accelmap.mapper.network import SolveSettings, map_graph

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "timeloop" / "fixtures"
DESIGN_FILES = ("arch.yaml", "ERT.yaml", "ART.yaml")


@dataclass(frozen=True)
class Row:
    """One layer: accelmap's mapping and timeloop-mapper's best, both in timeloop-model's pJ."""

    layer: str
    status: str
    gap: float
    accelmap_pj: float
    accelmap_s: float
    timeloop_pj: float
    timeloop_s: float            # per run
    timeloop_distinct: int       # distinct energies among the runs


def timeloop_best(workload: Workload, design: Path, timeloop: Path, folder: Path, runs: int, threads: int,
                  victory: int) -> tuple[float, float, int]:
    """(best pJ over `runs` timeloop-mapper runs, wall seconds per run, distinct results) on the design's
    own files."""
    for name in (*DESIGN_FILES, "constraints.yaml"):
        shutil.copy(design / name, folder / name)
    mapper = yaml.safe_load((design / "mapper.yaml").read_text())
    mapper["mapper"].update({"victory-condition": victory, "num-threads": threads,
                             "optimization_metrics": ["energy"]})
    (folder / "mapper.yaml").write_text(yaml.safe_dump(mapper))
    (folder / "problem.yaml").write_text(problem_to_timeloop(workload))
    found, seconds = [], 0.0
    for _ in range(runs):
        start = time.perf_counter()
        run_timeloop("mapper", timeloop, folder, ["arch.yaml", "ERT.yaml", "ART.yaml", "constraints.yaml",
                                                  "problem.yaml", "mapper.yaml"])
        seconds += time.perf_counter() - start
        # Score the mapping it wrote with timeloop-model, as accelmap's is scored.
        shutil.copy(folder / "timeloop-mapper.map.yaml", folder / "mapping.yaml")
        stats = run_timeloop("model", timeloop, folder, ["arch.yaml", "ERT.yaml", "ART.yaml", "problem.yaml",
                                                         "mapping.yaml"])
        found.append(stats.energy_pj)
    return min(found), seconds / runs, len(set(found))


def timeloop_score(workload: Workload, arch, mapping, design: Path, timeloop: Path, folder: Path) -> float:
    """timeloop-model's pJ for accelmap's mapping on the design's own files."""
    for name in DESIGN_FILES:
        shutil.copy(design / name, folder / name)
    (folder / "problem.yaml").write_text(problem_to_timeloop(workload, mapping))
    (folder / "mapping.yaml").write_text(mapping_to_timeloop(workload, arch, mapping))
    return run_timeloop("model", timeloop, folder, ["arch.yaml", "ERT.yaml", "ART.yaml", "problem.yaml",
                                                    "mapping.yaml"]).energy_pj


def run(model: str, design: Path, timeloop: Path, scratch: Path, args: argparse.Namespace) -> tuple[list[Row], float]:
    """Rows for every unique layer of `model` on `design`, and accelmap's whole-network wall time."""
    constraints = () if args.free else (design / "constraints.yaml",)
    arch = import_timeloop_design(design / "arch.yaml", design / "ERT.yaml", art_yaml_path=design / "ART.yaml",
                                  constraints=constraints, timeloop_accounting=True).arch
    graph = api.load_model(model)
    start = time.perf_counter()
    net = map_graph(graph, arch, SolveSettings("energy", time_limit=args.time_limit), use_cache=False)
    wall = time.perf_counter() - start
    rows = []
    for n, nodes in enumerate(graph.unique_workloads().values()):
        if args.layers is not None and n not in args.layers:
            continue
        workload, result = nodes[0].workload, net.results[nodes[0].name]
        folder = scratch / design.name / model / str(n)
        (folder / "accelmap").mkdir(parents=True, exist_ok=True)
        (folder / "timeloop").mkdir(parents=True, exist_ok=True)
        mine = timeloop_score(workload, arch, result.mapping, design, timeloop, folder / "accelmap")
        theirs, seconds, distinct = timeloop_best(workload, design, timeloop, folder / "timeloop", args.tl_runs,
                                        args.threads, args.victory)
        rows.append(Row(nodes[0].name, result.status, result.gap, mine, result.wall_time, theirs, seconds, distinct))
        print(_line(rows[-1]), flush=True)
    return rows, wall


def _line(r: Row) -> str:
    return (f"| {r.layer} | {r.status}{'' if r.status == 'OPTIMAL' else f' ({r.gap:.0%})'} | "
            f"{r.accelmap_pj / 1e6:,.2f} | {r.timeloop_pj / 1e6:,.2f} | {r.accelmap_pj / r.timeloop_pj:.3f} | "
            f"{r.accelmap_s:.1f} | {r.timeloop_s:.1f} | {r.timeloop_distinct} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeloop", default=str(REPO.parent / "shared" / "peers" / "timeloop"))
    parser.add_argument("--designs", default="eyeriss_ispass", help="fixture names under tests/timeloop/fixtures "
                        "or design folders (arch.yaml, ERT.yaml, ART.yaml, constraints.yaml, mapper.yaml)")
    parser.add_argument("--models", default="resnet18,vgg16")
    parser.add_argument("--layers", default=None, help="comma-separated unique-layer indices (default all)")
    parser.add_argument("--time-limit", type=float, default=30.0, help="accelmap's seconds per layer (default 30, "
                        "as compile)")
    parser.add_argument("--tl-runs", type=int, default=3, help="timeloop-mapper runs per layer (best kept)")
    parser.add_argument("--threads", type=int, default=2, help="timeloop-mapper threads")
    parser.add_argument("--victory", type=int, default=1000, help="timeloop-mapper victory-condition")
    parser.add_argument("--free", action="store_true", help="accelmap without the design's constraints")
    parser.add_argument("--keep", default=None, help="leave the Timeloop files in DIR")
    args = parser.parse_args()
    args.layers = None if args.layers is None else {int(x) for x in args.layers.split(",")}
    timeloop = find_timeloop(args.timeloop)
    if timeloop is None:
        print(f"no runnable Timeloop in {args.timeloop} (run its setup.sh)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(args.keep or tmp)
        for name in args.designs.split(","):
            design = Path(name) if Path(name).is_dir() else FIXTURES / name
            for model in args.models.split(","):
                mode = "free mapspace" if args.free else "with its constraints"
                print(f"\n{model} on {design.name} (accelmap {mode}, {args.time_limit:g} s per layer; "
                      f"timeloop-mapper best of {args.tl_runs}, {args.threads} threads, victory {args.victory})")
                print("| layer | accelmap | accelmap uJ | timeloop-mapper uJ | ratio | accelmap s | "
                      "timeloop-mapper s per run | distinct TL results |")
                print("|---|---|---|---|---|---|---|---|")
                rows, wall = run(model, design, timeloop, scratch, args)
                mine, theirs = sum(r.accelmap_pj for r in rows), sum(r.timeloop_pj for r in rows)
                tl_s = sum(r.timeloop_s for r in rows)
                proved = sum(r.status == "OPTIMAL" for r in rows)
                print(f"| total ({proved}/{len(rows)} proved) | | {mine / 1e6:,.2f} | {theirs / 1e6:,.2f} | "
                      f"{mine / theirs:.3f} | {wall:.1f} (compile wall) | {tl_s:.1f} | |")
                print(f"layers where accelmap is worse: {sum(r.accelmap_pj > r.timeloop_pj * 1.0001 for r in rows)}; "
                      f"one timeloop-mapper run per layer / accelmap compile wall: {tl_s / wall:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
