"""OUTDIR size, time to write it, and `validate` time of a whole network, per arch; and the MatMul with a
prime reduction of 1,000,003.

For each arch: compile the network (mappings from the solver, cached), then time writing OUTDIR (the
`save` alone), measure OUTDIR's size without weights.npz and the largest loop program, time
`accelmap.api.validate` (the executor, the count check and onnxruntime) and the reference interpreter
on the same input, and print one row each. Arches are presets or arch YAML files (an imported Timeloop
design, say).

    python benchmarks/bench_outdir.py --archs eyeriss,simba,gemmini,tpu_v1,edge_npu --time-limit 20
    python benchmarks/bench_outdir.py --archs /work/shared-designs/eyeriss_ispass/eyeriss_ispass.yaml
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import accelmap.api as am
from accelmap.backend.run.inputs import model_inputs
from accelmap.ir import run_graph


def outdir_bytes(out: Path) -> tuple[int, int]:
    """Bytes of OUTDIR without weights.npz, and of its largest loop program."""
    files = [p for p in out.rglob("*") if p.is_file() and p.name != "weights.npz"]
    programs = [p.stat().st_size for p in files if p.name.endswith(".program.json")]
    return sum(p.stat().st_size for p in files), max(programs, default=0)


def prime_matmul(path: Path, reduction: int = 1_000_003) -> Path:
    """y [1,1] = x [1, reduction] @ w [reduction, 1]: a reduction no tile divides."""
    w = np.random.default_rng(0).integers(-3, 4, (reduction, 1)).astype(np.float32)
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="dot")], "prime_matmul",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, (1, reduction))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, (1, 1))],
                              [numpy_helper.from_array(w, "w")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def row(model: str | Path, arch: str, time_limit: float, tmp: Path, validate: bool) -> list[str]:
    """Compile, write, measure and validate one (model, arch)."""
    start = time.perf_counter()
    compiled = am.compile_model(model, arch, time_limit=time_limit)
    compile_s = time.perf_counter() - start
    out = tmp / f"{Path(str(arch)).stem}-{Path(str(model)).stem}"
    start = time.perf_counter()
    compiled.save(out, force=True)
    write_s = time.perf_counter() - start
    size, largest = outdir_bytes(out)
    cells = [Path(str(model)).stem, Path(str(arch)).stem, f"{compile_s:.1f}", f"{write_s:.2f}",
             f"{size / 1e6:.2f}", f"{largest / 1e3:.1f}"]
    if not validate:
        return cells + ["-", "-", "-", "-"]
    start = time.perf_counter()
    verdict = am.validate(out)
    validate_s = time.perf_counter() - start
    schedule = am.load_compiled(out)
    feeds = model_inputs(schedule, None, 0)
    start = time.perf_counter()
    run_graph(schedule.graph, feeds)
    interpret_s = time.perf_counter() - start
    status = "PASS" if verdict.passed else f"FAIL ({len(verdict.count_mismatches)} counts)"
    return cells + [f"{validate_s:.1f}", f"{interpret_s:.1f}", f"{validate_s / interpret_s:.1f}", status]


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--archs", default="eyeriss,simba,gemmini,tpu_v1,edge_npu")
    parser.add_argument("--time-limit", type=float, default=20.0, help="seconds per unique layer (cached)")
    parser.add_argument("--no-validate", action="store_true")
    parser.add_argument("--prime-matmul-arch", default="eyeriss", help="arch of the 1,000,003 MatMul row ('' skips)")
    args = parser.parse_args()
    header = ["model", "arch", "compile s", "write s", "OUTDIR MB (no weights)", "largest program kB",
              "validate s", "interpreter s", "validate / interpreter", "validate"]
    print(" | ".join(header))
    with tempfile.TemporaryDirectory() as tmp:
        for arch in args.archs.split(","):
            print(" | ".join(row(args.model, arch, args.time_limit, Path(tmp), not args.no_validate)), flush=True)
        if args.prime_matmul_arch:
            model = prime_matmul(Path(tmp) / "prime_matmul.onnx")
            print(" | ".join(row(model, args.prime_matmul_arch, args.time_limit, Path(tmp), not args.no_validate)),
                  flush=True)


if __name__ == "__main__":
    main()
