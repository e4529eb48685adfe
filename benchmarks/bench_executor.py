"""Execute a compiled full-size ResNet-50 (batch 1) and time it against the reference interpreter.

Mappings are random valid ones (the CP-SAT mapper is not wired in here):
per unique layer, `--samples` draws from the mapspace, keeping the one with
the shortest command stream. Prints per-phase times, the stream size, the
executor / interpreter time ratio and the largest relative output error.

    python benchmarks/bench_executor.py --preset simba --samples 200 --repeat 3
"""
from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import onnx

from accelmap import zoo
from accelmap.arch.load import load_arch
from accelmap.backend import LayerStatus, build_schedule, emit, execute
from accelmap.backend.outdir.commands import stream_length
from accelmap.frontend import load_model
from accelmap.ir import run_graph
from accelmap.mapper.mapspace import Mapspace

T = TypeVar("T")


def best_of(repeat: int, run: Callable[[], T]) -> tuple[T, float]:
    """The result of `run` and its fastest wall time over `repeat` runs (the machine may be shared)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return result, min(times)


def main() -> None:
    """Compile ResNet-50 with random valid mappings, then time the executor and the interpreter."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", default="resnet50")
    parser.add_argument("--preset", default="simba")
    parser.add_argument("--samples", type=int, default=200, help="random mappings drawn per unique layer")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each; the fastest is shown")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{args.network}.onnx"
        onnx.save(zoo.build(args.network), path)
        graph = load_model(path)
        arch = load_arch(args.preset)
        print(f"{args.network} on {args.preset}: {len(graph.layers())} mapped layers "
              f"({len(graph.unique_workloads())} unique), {len(graph.host_ops())} host ops, "
              f"{graph.macs / 1e9:.2f} GMACs")

        start = time.perf_counter()
        rng = random.Random(args.seed)
        chosen = {}
        for signature, nodes in graph.unique_workloads().items():
            workload = nodes[0].workload
            space = Mapspace(workload, arch)
            chosen[signature] = min((space.sample(rng) for _ in range(args.samples)),
                                    key=lambda m, wl=workload: stream_length(wl, m, arch))
        mappings = {node.name: chosen[node.workload.signature()] for node in graph.layers()}
        records = sum(stream_length(node.workload, mappings[node.name], arch) for node in graph.layers())
        sampled = time.perf_counter() - start

        start = time.perf_counter()
        schedule = build_schedule(graph, arch, mappings, {n: LayerStatus("RANDOM") for n in mappings},
                                  model_path=path)
        out = emit(schedule, Path(tmp) / "out")
        emitted = time.perf_counter() - start
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())

        feeds = {name: np.random.default_rng(args.seed).standard_normal(graph.tensors[name].shape)
                 .astype(np.float32) for name in graph.inputs}
        want, interpreted = best_of(args.repeat, lambda: run_graph(graph, feeds))
        got, executed = best_of(args.repeat, lambda: execute(out, feeds))

    error = max(float(np.linalg.norm(got.outputs[k] - want[k]) / np.linalg.norm(want[k])) for k in want)
    print(f"mapping (random, best of {args.samples} by stream length): {sampled:8.1f} s")
    print(f"build + emit ({records} records, {size / 1e6:.1f} MB):      {emitted:8.1f} s")
    print(f"interpreter (ir.run_graph), best of {args.repeat}:      {interpreted:8.2f} s")
    print(f"executor (OUTDIR, simulated memories), best of {args.repeat}: {executed:8.2f} s  "
          f"({executed / interpreted:.0f}x the interpreter, {records / executed:,.0f} records/s)")
    print(f"max relative output error vs the interpreter: {error:.1e}")


if __name__ == "__main__":
    main()
