"""accelmap's mapper against `timeloop-mapper` on a Timeloop design, both scored by `timeloop-model`.

For each unique layer of each model: accelmap maps it on the design imported
with `accelmap arch import` (arch, ERT, ART, constraints; Timeloop's
accounting, so both tools minimise the same energy) through the compile
path (`map_graph`: default time limit, one worker process per core, no
cache); its mapping is written as Timeloop files and scored by
`timeloop-model` on the design's own files. `timeloop-mapper` maps the same
problem on the same files with the design's constraints (random-pruned,
energy, `--tl-runs` runs of `--threads` threads and `--victory`), the best
run's energy is kept; its time is per run (what a user waits for one run).
With `--free` accelmap also maps without the constraints (its whole
mapspace), compared with the same constrained timeloop-mapper best.

    python benchmarks/bench_timeloop_mapper.py --models resnet18 --designs eyeriss_ispass [--free]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from accelmap import api
from accelmap.interop.timeloop import import_timeloop_design, mapping_to_timeloop, problem_to_timeloop
from accelmap.interop.timeloop.peer import (TimeloopFailed, find_timeloop, mapper_inputs, run_mapper_until,
                                           run_timeloop)
from accelmap.errors import MappingError
from accelmap.ir.workload import Workload
from accelmap.mapper.network import SolveSettings, map_graph
from accelmap.signals import describe_exit

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "timeloop" / "fixtures"


def design_files(design: Path) -> list[str]:
    """The design's architecture, ERT and (when it has one) ART, as Timeloop's tools take them."""
    return [name for name in ("arch.yaml", "ERT.yaml", "ART.yaml") if (design / name).is_file()]


@dataclass(frozen=True)
class Row:
    """One layer: accelmap's mapping and timeloop-mapper's best, both in timeloop-model's pJ."""

    layer: str
    status: str
    gap: float
    accelmap_pj: float
    accelmap_s: float
    timeloop_pj: float | None    # None when no timeloop-mapper run left a mapping (`timeloop_failed` says why)
    timeloop_s: float            # per run
    timeloop_distinct: int       # distinct energies among the runs
    timeloop_stopped: int        # runs interrupted at --tl-timeout (their best mapping so far counted)
    free_status: str = ""        # accelmap without the design's constraints (--free)
    free_gap: float = 0.0
    free_pj: float = 0.0
    free_by_model: bool = False  # timeloop-model cannot take the free mapping: accelmap's model scored it
    timeloop_failed: str = ""    # how a timeloop-mapper run failed (its exit), when one did


def timeloop_best(workload: Workload, design: Path, timeloop: Path, folder: Path, runs: int, threads: int,
                  victory: int, timeout: float) -> tuple[float | None, float, int, int, str]:
    """(best pJ over `runs` timeloop-mapper runs, wall seconds per run, distinct results, runs stopped, why a
    run failed) on the design's own files; a run still searching after `timeout` seconds is interrupted as a
    user would (Ctrl-C) and its best mapping so far is scored. A run that fails (Timeloop's error, or killed:
    on simba_like VGG-16's first fc the kernel's out-of-memory killer ended it at 23.6 GB) counts no mapping;
    the best is None when no run left one."""
    files = design_files(design)
    inputs = mapper_inputs(design, folder, problem_to_timeloop(workload), victory=victory, threads=threads,
                           metrics=("energy",))
    found, seconds, stopped, failure = [], 0.0, 0, ""
    for _ in range(runs):
        start = time.perf_counter()
        try:
            _, interrupted = run_mapper_until(timeloop, folder, inputs, timeout)
        except TimeloopFailed as err:
            failure = _failure(err.returncode)
            continue
        finally:
            seconds += time.perf_counter() - start
        stopped += interrupted
        # Score the mapping it wrote with timeloop-model, as accelmap's is scored.
        shutil.copy(folder / "timeloop-mapper.map.yaml", folder / "mapping.yaml")
        stats = run_timeloop("model", timeloop, folder, [*files, "problem.yaml", "mapping.yaml"])
        found.append(stats.energy_pj)
    return (min(found) if found else None), seconds / runs, len(set(found)), stopped, failure


def _failure(returncode: int | None) -> str:
    """How a failed run ended (`peer.TimeloopFailed.returncode`: None when it did not stop when interrupted)."""
    return "did not stop when interrupted" if returncode is None else describe_exit(returncode)


def timeloop_score(workload: Workload, arch, mapping, design: Path, timeloop: Path, folder: Path) -> float:
    """timeloop-model's pJ for accelmap's mapping on the design's own files."""
    files = design_files(design)
    for name in files:
        shutil.copy(design / name, folder / name)
    (folder / "problem.yaml").write_text(problem_to_timeloop(workload, mapping))
    (folder / "mapping.yaml").write_text(mapping_to_timeloop(workload, arch, mapping, one_stage=True))
    return run_timeloop("model", timeloop, folder, [*files, "problem.yaml", "mapping.yaml"]).energy_pj


def _score(workload: Workload, arch, result, design: Path, timeloop: Path, folder: Path) -> tuple[float, bool]:
    """(pJ, scored by accelmap's model): timeloop-model's score, or, for a free mapping with one dim on both mesh
    axes (which one Timeloop entry cannot say), accelmap's model in Timeloop's accounting (within 0.1% of
    timeloop-model where both apply, docs/timeloop.md)."""
    try:
        return timeloop_score(workload, arch, result.mapping, design, timeloop, folder), False
    except MappingError:
        return result.cost.energy / 1000, True


def compile_on(graph, design: Path, constrained: bool, time_limit: float):
    """accelmap's compile path on the imported design (Timeloop's accounting): (arch, results, wall s)."""
    constraints = (design / "constraints.yaml",) if constrained else ()
    art = design / "ART.yaml" if (design / "ART.yaml").is_file() else None
    arch = import_timeloop_design(design / "arch.yaml", design / "ERT.yaml", art_yaml_path=art,
                                  constraints=constraints, timeloop_accounting=True).arch
    start = time.perf_counter()
    net = map_graph(graph, arch, SolveSettings("energy", time_limit=time_limit), use_cache=False)
    return arch, net.results, time.perf_counter() - start


def run(model: str, design: Path, timeloop: Path, scratch: Path,
        args: argparse.Namespace) -> tuple[list[Row], dict[str, float]]:
    """Rows for every unique layer of `model` on `design`, and accelmap's compile wall time per mapspace."""
    graph = api.load_model(model)
    chosen = {n: nodes for n, nodes in enumerate(graph.unique_workloads().values())
              if args.layers is None or n in args.layers}
    # with --layers, only those layers are compiled (the compile walls are theirs)
    subgraph = replace(graph, nodes=[node for nodes in chosen.values() for node in nodes])
    spaces = {"constrained": True, **({"free": False} if args.free else {})}
    compiled = {space: compile_on(subgraph, design, constrained, args.time_limit)
                for space, constrained in spaces.items()}
    rows = []
    for n, nodes in chosen.items():
        workload, name = nodes[0].workload, nodes[0].name
        folder = scratch / design.name / model / str(n)
        scored = {}
        for space, (arch, results, _) in compiled.items():
            (folder / space).mkdir(parents=True, exist_ok=True)
            result = results[name]
            scored[space] = (result, *_score(workload, arch, result, design, timeloop, folder / space))
        (folder / "timeloop").mkdir(parents=True, exist_ok=True)
        theirs, seconds, distinct, stopped, failed = timeloop_best(workload, design, timeloop, folder / "timeloop",
                                                                   args.tl_runs, args.threads, args.victory,
                                                                   args.tl_timeout)
        mine, pj, _ = scored["constrained"]
        free = scored.get("free")
        rows.append(Row(name, mine.status, mine.gap, pj, mine.wall_time, theirs, seconds, distinct, stopped,
                        *((free[0].status, free[0].gap, free[1], free[2]) if free else ()),
                        timeloop_failed=failed))
        print(_line(rows[-1]), flush=True)
    return rows, {space: wall for space, (_, _, wall) in compiled.items()}


def _status(status: str, gap: float) -> str:
    return status if status == "OPTIMAL" else f"{status} ({gap:.0%})"


def _walls(walls: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.1f} s" for k, v in walls.items())


def _line(r: Row) -> str:
    mark = "*" if r.free_by_model else ""
    theirs = f"{r.timeloop_pj / 1e6:,.2f}" if r.timeloop_pj is not None else f"failed ({r.timeloop_failed})"
    free = (f" {_status(r.free_status, r.free_gap)} | {r.free_pj / 1e6:,.2f}{mark} | "
            f"{_ratio(r.free_pj, r.timeloop_pj)} |" if r.free_status else "")
    return (f"| {r.layer} | {_status(r.status, r.gap)} | {r.accelmap_pj / 1e6:,.2f} | {theirs} | "
            f"{_ratio(r.accelmap_pj, r.timeloop_pj)} | {r.accelmap_s:.1f} | {r.timeloop_s:.1f}"
            f"{' (stopped)' * bool(r.timeloop_stopped)} | {r.timeloop_distinct} |"
            + free)


def _ratio(pj: float, theirs: float | None) -> str:
    return f"{pj / theirs:.3f}" if theirs is not None else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeloop", default=str(REPO.parent / "shared" / "peers" / "timeloop"))
    parser.add_argument("--designs", default="eyeriss_ispass", help="fixture names under tests/timeloop/fixtures "
                        "or design folders (arch.yaml, ERT.yaml, ART.yaml, constraints.yaml, mapper.yaml)")
    parser.add_argument("--models", default="resnet18,vgg16")
    parser.add_argument("--layers", default=None, help="comma-separated unique-layer indices (default all); "
                        "accelmap compiles only those, so its compile wall is theirs")
    parser.add_argument("--time-limit", type=float, default=30.0, help="accelmap's seconds per layer (default 30, "
                        "as compile)")
    parser.add_argument("--tl-runs", type=int, default=3, help="timeloop-mapper runs per layer (best kept)")
    parser.add_argument("--threads", type=int, default=2, help="timeloop-mapper threads")
    parser.add_argument("--victory", type=int, default=1000, help="timeloop-mapper victory-condition")
    parser.add_argument("--tl-timeout", type=float, default=600.0,
                        help="seconds before a timeloop-mapper run is interrupted (Ctrl-C); its best mapping so far "
                        "counts, marked 'stopped'")
    parser.add_argument("--free", action="store_true", help="also accelmap without the design's constraints")
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
                print(f"\n{model} on {design.name} (accelmap {args.time_limit:g} s per layer, with the design's "
                      f"constraints{' and without' if args.free else ''}; timeloop-mapper best of {args.tl_runs}, "
                      f"{args.threads} threads, victory {args.victory}, with the constraints)")
                free_head = " accelmap free | free uJ | free / TL |" if args.free else ""
                print("| layer | accelmap | accelmap uJ | timeloop-mapper uJ | ratio | accelmap s | "
                      "timeloop-mapper s per run | distinct TL results |" + free_head)
                print("|---|---|---|---|---|---|---|---|" + "---|---|---|" * args.free)
                rows, walls = run(model, design, timeloop, scratch, args)
                stopped = sum(r.timeloop_stopped > 0 for r in rows)
                if stopped:
                    print(f"timeloop-mapper was interrupted at {args.tl_timeout:g} s on {stopped} layer(s) "
                          "('stopped'): its best mapping by then is counted")
                failed = [r.layer for r in rows if r.timeloop_pj is None]
                if failed:
                    print(f"timeloop-mapper left no mapping on {', '.join(failed)}: left out of the totals")
                rows = [r for r in rows if r.timeloop_pj is not None]
                if not rows:
                    print(f"compile walls: {_walls(walls)}")
                    continue
                mine, theirs = sum(r.accelmap_pj for r in rows), sum(r.timeloop_pj for r in rows)
                tl_s = sum(r.timeloop_s for r in rows)
                proved = sum(r.status == "OPTIMAL" for r in rows)
                free = ""
                if args.free:
                    ours = sum(r.free_pj for r in rows)
                    free = (f" {sum(r.free_status == 'OPTIMAL' for r in rows)}/{len(rows)} proved | "
                            f"{ours / 1e6:,.2f} | {ours / theirs:.3f} |")
                print(f"| total ({proved}/{len(rows)} proved) | | {mine / 1e6:,.2f} | {theirs / 1e6:,.2f} | "
                      f"{mine / theirs:.3f} | {walls['constrained']:.1f} (compile wall) | {tl_s:.1f} | |" + free)
                print(f"layers where accelmap is worse: {sum(r.accelmap_pj > r.timeloop_pj * 1.0001 for r in rows)}; "
                      f"one timeloop-mapper run per layer / accelmap compile wall: "
                      f"{tl_s / walls['constrained']:.1f}x; compile walls: {_walls(walls)}")
                if any(r.free_by_model for r in rows):
                    print("* scored by accelmap's model (Timeloop's accounting): the free mapping puts one dim on "
                          "both axes of a fanout, which a Timeloop mapping cannot express")
    return 0


if __name__ == "__main__":
    sys.exit(main())
