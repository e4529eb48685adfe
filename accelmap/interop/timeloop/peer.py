"""Timeloop itself as a peer: run `timeloop-model` / `timeloop-mapper` on files and read their stats.

accelmap never needs Timeloop; benchmarks and tests use this to compare
with it when the binaries are at hand (`find_timeloop`). A stats file's
energy is the sum of every `Energy (total)` line (each level and data
space, the MACs, networks, reductions, address generation), in pJ; its
cycles the summary's `Cycles`.
"""
from __future__ import annotations

import re
import shutil
import signal
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from accelmap.arch.spec import TIMELOOP_ACCOUNTING, Accounting
from accelmap.interop.timeloop.arch import import_timeloop_design
from accelmap.interop.timeloop.evaluate import evaluate_timeloop
from accelmap.interop.timeloop.problem import problem_to_timeloop
from accelmap.ir.workload import Workload

_ENERGY = re.compile(r"Energy \(total\)\s*:\s*([0-9.eE+-]+) pJ")
_CYCLES = re.compile(r"^Cycles: (\d+)$", re.MULTILINE)
_COMPUTES = re.compile(r"^Computes = (\d+)$", re.MULTILINE)


class TimeloopFailed(RuntimeError):
    """A Timeloop tool ended without its stats: `returncode` is its exit (negative: the signal that killed it;
    None: it did not stop when interrupted), the message its last output lines."""

    def __init__(self, message: str, returncode: int | None):
        super().__init__(message)
        self.returncode = returncode


@dataclass(frozen=True)
class TimeloopStats:
    """What a Timeloop stats file says about one mapping: pJ, cycles and MACs."""

    energy_pj: float
    cycles: int
    macs: int


def read_stats(text: str) -> TimeloopStats:
    """Energy (pJ), cycles and computes of a `*.stats.txt` Timeloop wrote."""
    cycles, computes = _CYCLES.search(text), _COMPUTES.search(text)
    if cycles is None or computes is None:
        raise ValueError("not a Timeloop stats file: no 'Cycles:' or 'Computes =' summary line")
    return TimeloopStats(sum(float(e) for e in _ENERGY.findall(text)), int(cycles.group(1)), int(computes.group(1)))


def find_timeloop(folder: str | Path) -> Path | None:
    """`folder` when it holds runnable `timeloop-model` and `timeloop-mapper` wrappers, else None."""
    folder = Path(folder)
    tools = [folder / "timeloop-model", folder / "timeloop-mapper"]
    if not all(tool.is_file() for tool in tools):
        return None
    try:
        done = subprocess.run([str(tools[0])], capture_output=True, timeout=30, check=False)
    except OSError:
        return None
    return None if done.returncode == 127 or b"error while loading shared libraries" in done.stderr else folder


def run_timeloop(tool: str, timeloop: Path, folder: Path, files: list[str], timeout: float = 600) -> TimeloopStats:
    """Run `tool` ("model" or "mapper") from `timeloop` on `files` inside `folder`; its stats.

    Raises `TimeloopFailed` with Timeloop's last output lines when it fails.
    """
    done = subprocess.run([str(timeloop / f"timeloop-{tool}"), *files], cwd=folder, capture_output=True,
                          text=True, timeout=timeout, check=False)
    return _stats(tool, folder, done.returncode, done.stdout + done.stderr)


def run_mapper_until(timeloop: Path, folder: Path, files: list[str], seconds: float,
                     grace: float = 120) -> tuple[TimeloopStats, bool]:
    """Run `timeloop-mapper` on `files` inside `folder`, interrupted after `seconds` as a user would stop it
    (Ctrl-C: its threads finish their evaluations, it writes the best mapping found so far); (its stats,
    whether it was interrupted). Raises `TimeloopFailed` when it fails or does not stop within `grace` seconds."""
    (folder / "timeloop-mapper.stats.txt").unlink(missing_ok=True)
    run = subprocess.Popen([str(timeloop / "timeloop-mapper"), *files], cwd=folder, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = run.communicate(timeout=seconds)
        stopped = False
    except subprocess.TimeoutExpired:
        run.send_signal(signal.SIGINT)
        stopped = True
        try:
            output, _ = run.communicate(timeout=grace)
        except subprocess.TimeoutExpired:
            run.kill()
            run.communicate()
            raise TimeloopFailed(f"timeloop-mapper in {folder} did not stop within {grace:g} s of an interrupt", None)
    return _stats("mapper", folder, run.returncode, output), stopped


def _stats(tool: str, folder: Path, returncode: int, output: str) -> TimeloopStats:
    """The stats file a finished `timeloop-{tool}` wrote in `folder`, or `TimeloopFailed` with its last lines."""
    stats = folder / f"timeloop-{tool}.stats.txt"
    if returncode != 0 or not stats.is_file():
        tail = "\n".join(output.strip().splitlines()[-5:])
        raise TimeloopFailed(f"timeloop-{tool} in {folder} exited {returncode}: {tail}", returncode)
    return read_stats(stats.read_text())


ACCOUNTINGS = {"accelmap": None, "drains free": Accounting(drain_reads=False, psum_writes="update"),
               "timeloop": TIMELOOP_ACCOUNTING}
"""The accountings a comparison prices the mapping in: as imported (accelmap's, partial-sum writes at
Timeloop's `update`), with drains free, and Timeloop's."""


@dataclass(frozen=True)
class Agreement:
    """One layer mapped by `timeloop-mapper`, scored by `timeloop-model` and by accelmap's model."""

    timeloop: TimeloopStats
    energy_pj: dict[str, float]        # accounting (ACCOUNTINGS) -> accelmap's pJ
    cycles: dict[str, int]

    def energy_diff(self, accounting: str) -> float:
        """accelmap's energy over Timeloop's, minus 1."""
        return self.energy_pj[accounting] / self.timeloop.energy_pj - 1


def mapper_inputs(design: Path, folder: Path, problem: str, *, victory: int, threads: int,
                  metrics: tuple[str, ...] = ()) -> list[str]:
    """Set up a `timeloop-mapper` run in `folder`: the design's arch, ERT, ART and constraints (those it has),
    its mapper YAML with `victory`, `threads` (and `metrics` to optimise, when given), and `problem`'s text;
    the files to pass, in order (the problem and the mapper settings last)."""
    names = [f"{name}.yaml" for name in ("arch", "ERT", "ART", "constraints") if (design / f"{name}.yaml").is_file()]
    for name in names:
        shutil.copy(design / name, folder / name)
    mapper = yaml.safe_load((design / "mapper.yaml").read_text())
    mapper["mapper"].update({"victory-condition": victory, "num-threads": threads,
                             **({"optimization_metrics": list(metrics)} if metrics else {})})
    (folder / "mapper.yaml").write_text(yaml.safe_dump(mapper))
    (folder / "problem.yaml").write_text(problem)
    return [*names, "problem.yaml", "mapper.yaml"]


def map_and_compare(workload: Workload, design: Path, timeloop: Path, folder: Path, *, victory: int = 50,
                    threads: int = 1, problem: Path | None = None) -> Agreement:
    """Map `workload` with `timeloop-mapper` on the design in `design` (arch, ERT, constraints and mapper
    YAML, an ART when it has one, as `tests/timeloop/fixtures/eyeriss_ispass/`), score the mapping it found
    with `timeloop-model` and with accelmap in each of `ACCOUNTINGS`; files are left in `folder`.

    `problem`: Timeloop's problem file for `workload`, for designs whose constraints name the dims of
    another shape (a conv1d's K); by default accelmap writes the CNN layer."""
    files = mapper_inputs(design, folder, problem.read_text() if problem else problem_to_timeloop(workload),
                          victory=victory, threads=threads)
    inputs = files[:-2]
    run_timeloop("mapper", timeloop, folder, files)
    shutil.copy(folder / "timeloop-mapper.map.yaml", folder / "mapping.yaml")  # the model skips *.map.yaml inputs
    stats = run_timeloop("model", timeloop, folder, [n for n in inputs if n != "constraints.yaml"]
                         + ["problem.yaml", "mapping.yaml"])
    constraints = (folder / "constraints.yaml",) if "constraints.yaml" in inputs else ()
    imported = import_timeloop_design(folder / "arch.yaml", folder / "ERT.yaml", constraints=constraints).arch
    energy, cycles = {}, {}
    for name, accounting in ACCOUNTINGS.items():
        result = evaluate_timeloop(replace(imported, accounting=accounting or imported.accounting), workload,
                                   folder / "mapping.yaml")
        energy[name], cycles[name] = result.energy_pj, result.cycles
    return Agreement(stats, energy, cycles)
