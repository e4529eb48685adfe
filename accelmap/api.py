"""The library API: typed functions over the frontend, zoo, arch and mapper.

Functions return dataclasses and raise `AccelmapError` subclasses; they never
print or exit (only `cli.py` does).
"""
from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import onnx

from accelmap import __version__, zoo
from accelmap.arch.spec import Arch
from accelmap.errors import ModelError, UsageError
from accelmap.frontend import load_model as _load_graph
from accelmap.ir.graph import Graph
from accelmap.ir.workload import Workload

MIN_TIME_LIMIT, MAX_TIME_LIMIT = 0.01, 1e6
"""Seconds per layer: below 0.01 CP-SAT cannot even load a model; 1e6 is eleven days."""

MAX_INPUT_ELEMENTS = 2**31
"""Elements of one model input (8 GB of float32); shapes beyond it are a typo, not a workload."""

if TYPE_CHECKING:
    from accelmap.backend import ExecResult, Schedule, Validation
    from accelmap.mapper.network import Progress
    from accelmap.mapper.solve import MapResult
    from accelmap.sweep import SweepProgress, SweepResult, SweepSpec


def resolve_model(source: str | Path | onnx.ModelProto) -> str | Path | onnx.ModelProto:
    """A path stays a path; a bundled network's name becomes its ONNX model."""
    if isinstance(source, (str, Path)) and not Path(source).exists() and str(source) in zoo.names():
        return zoo.build(str(source))
    if isinstance(source, (str, Path)) and not Path(source).exists():
        raise ModelError(f"{source}: no such file, and not a bundled network "
                         f"(bundled: {', '.join(zoo.names())})")
    return source


def load_model(source: str | Path | onnx.ModelProto, input_shapes: dict[str, tuple[int, ...]] | None = None,
               initializers_as_inputs: bool = False) -> Graph:
    """Lower an ONNX file, a ModelProto or a bundled network's name into a Graph (initializers an IR-3
    file also lists as inputs are constants unless `initializers_as_inputs`)."""
    check_input_shapes(input_shapes or {})
    return _load_graph(resolve_model(source), input_shapes, initializers_as_inputs)


def load_arch(source: str | Path) -> Arch:
    """Load a preset by name or an arch YAML file."""
    from accelmap.arch import load_arch as load

    return load(source)


@dataclass(frozen=True)
class LayerSummary:
    """One row of `inspect`: a mapped layer or a host op."""

    name: str
    kind: str
    dims: str
    macs: int
    weight_words: int
    post_ops: tuple[str, ...]
    signature: str


@dataclass(frozen=True)
class ModelSummary:
    """What `inspect` reports: per-node rows and totals."""

    name: str
    layers: tuple[LayerSummary, ...]
    host_ops: tuple[LayerSummary, ...]
    macs: int
    parameters: int
    unique_workloads: int
    op_counts: dict[str, int]


def summarize(graph: Graph) -> ModelSummary:
    """Per-layer and total figures of a lowered model."""
    layers = []
    for node in graph.layers():
        wl = node.workload
        weights = 0 if wl.weights_from_activations else wl.tensor_words("W")
        layers.append(LayerSummary(node.name, f"{node.op}:{wl.kind}", wl.describe(), wl.macs, weights,
                                   tuple(str(p) for p in node.post_ops), wl.signature()))
    hosts = []
    for node in graph.host_ops():
        shape = graph.tensors[node.outputs[0]].shape if node.outputs[0] in graph.tensors else ()
        hosts.append(LayerSummary(node.name, node.op, "x".join(map(str, shape)), 0, 0, (), ""))
    counts: dict[str, int] = {}
    for node in graph.nodes:
        counts[node.op] = counts.get(node.op, 0) + 1
    return ModelSummary(graph.name, tuple(layers), tuple(hosts), graph.macs, graph.parameters,
                        len(graph.unique_workloads()), counts)


@dataclass(frozen=True)
class CompiledModel:
    """A model mapped onto an arch: per mapped layer its solver result."""

    graph: Graph
    arch: Arch
    objective: str
    results: dict[str, "MapResult"]
    model_path: Path | None
    unique_workloads: int
    cache_hits: int
    wall_time: float
    warnings: tuple[str, ...] = ()

    @property
    def all_proved(self) -> bool:
        """True when every layer's mapping is proved optimal."""
        return all(r.status == "OPTIMAL" for r in self.results.values())

    def schedule(self) -> "Schedule":
        """The backend's Schedule of this compilation (checked, buffers planned, costs predicted)."""
        from accelmap.backend import LayerStatus, build_schedule

        statuses = {name: LayerStatus(r.status, r.gap, r.canonical) for name, r in self.results.items()}
        return build_schedule(self.graph, self.arch, {n: r.mapping for n, r in self.results.items()},
                              statuses, self.model_path)

    def save(self, out_dir: str | Path, force: bool = False) -> Path:
        """Write OUTDIR atomically (all files or none); an existing OUTDIR is replaced only with `force`."""
        return save_schedule(self.schedule(), out_dir, force)


def save_schedule(schedule: "Schedule", out_dir: str | Path, force: bool = False) -> Path:
    """Write a Schedule as OUTDIR atomically; an existing OUTDIR is replaced only with `force`."""
    from accelmap.backend import emit

    return emit(schedule, out_dir, force=force)


def _model_file(source: str | Path | onnx.ModelProto, use_cache: bool) -> Path | None:
    """The ONNX file a compilation is validated against: the given file, or a bundled network saved once
    (in the cache directory, or with the cache off or unwritable in the temporary directory)."""
    if isinstance(source, onnx.ModelProto):
        return None
    if Path(source).exists():
        return Path(source)
    from accelmap.mapper.cache import default_cache_dir

    name = f"{source}-{__version__}.onnx"
    places = [default_cache_dir() / "zoo"] if use_cache else []
    places.append(Path(tempfile.gettempdir()) / f"accelmap-{os.getuid() if hasattr(os, 'getuid') else 'user'}")
    for place in places:
        try:
            return _saved(partial(zoo.build, str(source)), place / name)
        except OSError:
            continue
    return None


def _saved(build: Callable[[], onnx.ModelProto], target: Path) -> Path:
    """`target`, built and written (through a temporary file renamed into place) unless it is already there."""
    if target.is_file():
        return target
    model = build()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(model.SerializeToString())
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)
    return target


def check_time_limit(seconds: float, option: str = "time_limit") -> None:
    """Raise UsageError unless `seconds` is a finite time a solve can use (MIN_TIME_LIMIT .. MAX_TIME_LIMIT)."""
    if not (isinstance(seconds, (int, float)) and math.isfinite(seconds)
            and MIN_TIME_LIMIT <= seconds <= MAX_TIME_LIMIT):
        raise UsageError(f"{option} {seconds!r}: expected seconds per layer from {MIN_TIME_LIMIT:g} "
                         f"to {MAX_TIME_LIMIT:g}")


def max_jobs() -> int:
    """The most worker processes `jobs` may ask for: 4 per core (more would only share the same cores)."""
    return 4 * (os.cpu_count() or 1)


def check_jobs(jobs: int | None, option: str = "jobs") -> None:
    """Raise UsageError unless `jobs` is None (one per core) or a whole number from 1 to `max_jobs()`."""
    if jobs is not None and not (isinstance(jobs, int) and not isinstance(jobs, bool) and 1 <= jobs <= max_jobs()):
        raise UsageError(f"{option} {jobs!r}: expected a whole number of worker processes from 1 to {max_jobs()} "
                         f"(4 per core on this machine's {os.cpu_count() or 1})")


def check_input_shapes(shapes: dict[str, tuple[int, ...]], option: str = "input_shapes") -> None:
    """Raise UsageError for an input shape with a size below 1 or more elements than MAX_INPUT_ELEMENTS."""
    for name, dims in shapes.items():
        text = f"{name}={'x'.join(map(str, dims))}"
        if not name or not dims or any(not isinstance(d, int) or d < 1 for d in dims):
            raise UsageError(f"{option} {text!r}: expected NAME=DIMS with positive sizes, such as input=1x3x224x224")
        if math.prod(dims) > MAX_INPUT_ELEMENTS:
            raise UsageError(f"{option} {text!r}: {math.prod(dims):.3g} elements; accelmap maps inputs of at most "
                             f"{MAX_INPUT_ELEMENTS:,} elements")


def check_cache_dir(path: str | Path, option: str = "cache_dir") -> None:
    """Raise UsageError when `path`, or a directory above it, is a file: a cache directory cannot live there."""
    for place in (Path(path), *Path(path).parents):
        if os.path.lexists(place):
            if not place.is_dir():
                raise UsageError(f"{option} {path}: {place} is a file, not a directory; give a directory")
            return


def check_output(out_dir: str | Path, force: bool, protect: tuple[str | Path, ...] = ()) -> Path:
    """Raise OutputError unless a compile may write OUTDIR `out_dir` (see `backend.outdir.place`), before
    any work starts; `protect` are paths a --force replacement must not delete (model file, cache)."""
    from accelmap.backend.outdir.place import check_target

    return check_target(out_dir, force, protect)


def compile_model(model: str | Path | onnx.ModelProto, arch: str | Path | Arch, objective: str = "energy", *,
                  jobs: int | None = None, time_limit: float = 30.0, allow_padding: bool = False,
                  tie_break: bool = True, input_shapes: dict[str, tuple[int, ...]] | None = None,
                  use_cache: bool = True, cache_dir: Path | None = None,
                  progress: "Callable[[Progress], None] | None" = None) -> CompiledModel:
    """Lower `model`, map every layer on `arch` (unique workloads once, in parallel, cached)."""
    from accelmap.mapper.network import SolveSettings, map_graph

    check_time_limit(time_limit)
    check_jobs(jobs)
    if use_cache and cache_dir is not None:
        check_cache_dir(cache_dir)
    graph = load_model(model, input_shapes)
    target = arch if isinstance(arch, Arch) else load_arch(arch)
    settings = SolveSettings(objective, time_limit, allow_padding, tie_break)
    net = map_graph(graph, target, settings, jobs=jobs, cache_dir=cache_dir, use_cache=use_cache,
                    progress=progress)
    return CompiledModel(graph, target, objective, net.results, _model_file(model, use_cache), net.unique,
                         net.cache_hits, net.wall_time, net.warnings)


def map_workload(workload: Workload, arch: str | Path | Arch, objective: str = "energy", *,
                 time_limit: float = 30.0, workers: int = 2, tie_break: bool = True) -> "MapResult":
    """Find the best mapping of one workload on `arch` with CP-SAT (status says if it is proved)."""
    from accelmap.mapper.solve import map_workload as solve

    target = arch if isinstance(arch, Arch) else load_arch(arch)
    return solve(workload, target, objective, time_limit=time_limit, workers=workers, tie_break=tie_break)


def load_compiled(out_dir: str | Path) -> "Schedule":
    """Read and check an OUTDIR (schema, version, weights, mappings, buffers)."""
    from accelmap.backend import load_schedule

    return load_schedule(out_dir)


def execute(out_dir: str | Path, feeds: dict) -> "ExecResult":
    """Run an OUTDIR tile by tile in simulated buffers; outputs and counted traffic."""
    from accelmap.backend import execute as run

    return run(out_dir, feeds)


def validate(out_dir: str | Path, inputs: str | Path | dict | None = None, seed: int = 0,
             model: str | Path | None = None) -> "Validation":
    """Execute OUTDIR and compare every output with onnxruntime on the original model."""
    from accelmap.backend import validate as check

    return check(out_dir, inputs, seed=seed, model=model)


def sweep(spec: "str | Path | SweepSpec", out_dir: str | Path | None = None, *, scheduler: str | None = None,
          workers: int | None = None, in_process: bool = False, time_limit: float | None = None,
          use_cache: bool = True, cache_dir: Path | None = None,
          progress: "Callable[[SweepProgress], None] | None" = None) -> "SweepResult":
    """Map every model on every design of a sweep spec; the table, Pareto fronts, and SWEEPDIR if `out_dir`.

    Runs on Dask: an embedded LocalCluster of `workers` processes (default:
    one per core), or the cluster of the scheduler at `scheduler`
    ('tcp://HOST:PORT'; then `workers` is how many to wait for);
    `in_process` solves one task after another here instead. Finished tasks
    are kept (result cache, SWEEPDIR/tasks/), so a stopped sweep resumes.
    """
    from dataclasses import replace

    from accelmap.sweep import load_spec, run_sweep

    checked = spec if not isinstance(spec, (str, Path)) else load_spec(spec)
    if time_limit is not None:
        checked = replace(checked, search=replace(checked.search, time_limit=time_limit))
    return run_sweep(checked, load_model, Path(out_dir) if out_dir is not None else None, scheduler=scheduler,
                     workers=workers, in_process=in_process, use_cache=use_cache, cache_dir=cache_dir,
                     progress=progress)
