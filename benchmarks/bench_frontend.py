"""Benchmark the ONNX frontend on the models people have: what lowers, what maps, and how close the compiled
schedule's outputs are to the expected ones.

Models: the nine ONNX Model Zoo graphs the `onnx` package ships (IR 3, opset
9; reference: their own expected output `output_0.pb`, on the input onnx's
test runner feeds them), the eight torch-exported decoder blocks of
tests/frontend_models/fixtures (a prefill of 6 tokens, LLaMA with 5 cached;
reference: onnxruntime), and the bundled ResNet-50 and BERT-base (reference:
onnxruntime on `validate`'s seeded inputs). Each is lowered (mapped layers,
host ops, share of MACs mapped), compiled on one preset, executed from its
OUTDIR, and compared with its reference: the largest absolute error and the
error's norm relative to the reference's norm (`accelmap validate`'s
measure, which passes at 1e-4). The last column is `accelmap validate`'s
verdict (outputs against onnxruntime and every counted word against
schedule.json), for the Zoo graphs also the error against output_0.pb
within 1e-4.

    python benchmarks/bench_frontend.py --arch tpu_v1 --time-limit 2
    python benchmarks/bench_frontend.py --only light_squeezenet,gpt2_dynamo_opset23 --lower-only
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import onnx

from accelmap import api
from accelmap.backend.run.validate import OutputCheck, compare_output
from accelmap.frontend.coverage import coverage

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.frontend_models import decoders, light  # noqa: E402  (the fixtures' owners)


@dataclass(frozen=True)
class Case:
    """One model: how to load it, its input shapes, and how to check a compiled OUTDIR against its reference."""

    name: str
    source: str
    model: str | Path | onnx.ModelProto
    input_shapes: dict[str, tuple[int, ...]] | None
    reference: str
    check: Callable[[Path], tuple[OutputCheck, ...]]


def light_case(name: str) -> Case:
    """A Model Zoo graph, checked against its own expected output."""
    path = light.path(name)
    feeds = light.data_input(onnx.load(str(path)))

    def check(out: Path) -> tuple[OutputCheck, ...]:
        verdict = api.validate(out, feeds)  # onnxruntime and the counts: what `accelmap validate` checks
        (output,) = api.execute(out, feeds).outputs.values()
        expected = compare_output("output", output, light.expected_output(name))
        return (replace(expected, passed=expected.passed and verdict.passed),)

    return Case(f"light_{name}", "ONNX Model Zoo (onnx test data), IR 3, opset 9", path, None, "output_0.pb", check)


def light_varied_case(name: str, folder: Path) -> Case:
    """A Model Zoo graph with its constant weights varied channel to channel (written to `folder`), checked
    against onnxruntime: the shipped weights are one constant, so the expected outputs are uniform."""
    path = folder / f"light_{name}_varied.onnx"
    onnx.save(light.with_varied_weights(onnx.load(str(light.path(name)))), str(path))
    feeds = light.data_input(onnx.load(str(light.path(name))))
    return Case(path.stem, "the same, weights varied (seed 0)", path, None, "onnxruntime",
                lambda out: api.validate(out, feeds).outputs)


def decoder_case(name: str, exporter: str, opset: int) -> Case:
    """A torch-exported decoder block at prefill, checked against onnxruntime."""
    feeds = decoders.decoder_feeds(name, *decoders.PREFILL, seed=1)
    path = decoders.fixture(name, exporter, opset)
    return Case(path.stem, f"torch.onnx {exporter}, opset {opset}", path, decoders.shapes_of(feeds), "onnxruntime",
                lambda out: api.validate(out, feeds).outputs)


def bundled_case(name: str) -> Case:
    """A bundled network, checked against onnxruntime on validate's seeded inputs."""
    return Case(name, "bundled (accelmap zoo)", name, None, "onnxruntime (seeded inputs)",
                lambda out: api.validate(out).outputs)


def all_cases(folder: Path) -> list[Case]:
    """The nine zoo graphs as shipped and with varied weights, the eight decoder fixtures, ResNet-50 and
    BERT-base."""
    return ([light_case(n) for n in light.MODELS] + [light_varied_case(n, folder) for n in light.MODELS]
            + [decoder_case(n, e, o) for n in decoders.NAMES for e, o in decoders.EXPORTS]
            + [bundled_case("resnet50"), bundled_case("bert_base")])


def host_summary(host_ops: dict[str, int], kinds: int = 3) -> str:
    """'N (a A, b B, c C, ...)': the host op count and its most frequent kinds."""
    shown = ", ".join(f"{n} {op}" for op, n in list(host_ops.items())[:kinds])
    more = ", ..." if len(host_ops) > kinds else ""
    return f"{sum(host_ops.values())} ({shown}{more})" if host_ops else "0"


def run(case: Case, args: argparse.Namespace, cache: Path) -> str:
    """Lower, and unless --lower-only compile, execute and compare; one table row."""
    graph = api.load_model(case.model, case.input_shapes)
    lowered = coverage(graph)
    row = (f"| {case.name} | {case.source} | {len(graph.layers())} | {host_summary(lowered.host_ops)} | "
           f"{100 * lowered.mapped_share:.1f}% of {lowered.mapped_macs + lowered.host_macs:,} |")
    if args.lower_only:
        return row
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        start = time.perf_counter()
        compiled = api.compile_model(case.model, args.arch, time_limit=args.time_limit, jobs=args.jobs,
                                     input_shapes=case.input_shapes, cache_dir=cache)
        compiled.save(out)
        compile_s = time.perf_counter() - start
        start = time.perf_counter()
        checks = case.check(out)
        check_s = time.perf_counter() - start
    worst = max(checks, key=lambda c: c.rel_error)
    proved = sum(r.status == "OPTIMAL" for r in compiled.results.values())
    return (f"{row} {proved}/{len(compiled.results)} | {compile_s:.1f} | {check_s:.1f} | {case.reference} | "
            f"{max(c.max_abs_error for c in checks):.2e} | {worst.rel_error:.2e} | "
            f"{'PASS' if all(c.passed for c in checks) else 'FAIL'} |")


def table(cases: list[Case], args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Print the table's rows for `cases` (those --only names)."""
    if args.only:
        wanted = set(args.only.split(","))
        cases = [c for c in cases if c.name in wanted]
        if missing := wanted - {c.name for c in cases}:
            parser.error(f"--only: no model {', '.join(sorted(missing))}")
    header = "| model | source | mapped layers | host ops | MACs mapped |"
    if not args.lower_only:
        print(f"compiled on {args.arch}, {args.time_limit:g} s per unique layer, {args.jobs} jobs; errors are the "
              "executed OUTDIR against the reference (max abs, and norm of the error / norm of the reference)\n")
        header += " proved | compile s | execute s | reference | max abs err | rel err | validate |"
    print(header)
    print("|---" * header.count(" | ") + "|---|")
    with tempfile.TemporaryDirectory() as cache:
        for case in cases:
            print(f"{case.name} ...", file=sys.stderr, flush=True)
            print(run(case, args, Path(cache)), flush=True)


def main() -> None:
    """Print one row per model."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="tpu_v1", help="preset to compile on (default tpu_v1)")
    parser.add_argument("--time-limit", type=float, default=2.0, help="seconds per unique layer (default 2)")
    parser.add_argument("--jobs", type=int, default=2, help="solver processes (default 2)")
    parser.add_argument("--only", default=None, help="comma-separated model names from the table")
    parser.add_argument("--lower-only", action="store_true", help="lower and count only: no compile, no check")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        table(all_cases(Path(folder)), args, parser)


if __name__ == "__main__":
    main()
