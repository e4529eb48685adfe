"""Time of lowering a model (`accelmap inspect`'s work), and of its shape inference with and without the weights.

Per bundled network: the ONNX model's size, the time `api.load_model` takes
to lower it from its ModelProto (best of `--repeat`), and one
shape inference pass both ways on the same model: ONNX's
`infer_shapes(model, data_prop=True)` on the whole model (what each pass cost
before 2026-12-06: the loader runs two or more), and `frontend.shapes.inferred`
(the large weights declared by type and shape only); the last column is
their ratio.

    python benchmarks/bench_load.py [--models resnet50,mobilenetv2,vgg16,bert_base] [--repeat 3]
"""
from __future__ import annotations

import argparse
import time

from onnx import shape_inference

from accelmap import api, zoo
from accelmap.frontend.shapes import inferred


def best_of(repeat: int, work) -> float:
    """Least wall seconds of `repeat` calls of `work()`."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="resnet50,mobilenetv2,vgg16,bert_base")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("| model | ONNX MB | lower s | shape inference, whole model s | without the weights ms | ratio |")
    print("|---|---|---|---|---|---|")
    for name in args.models.split(","):
        model = zoo.build(name)
        size = model.ByteSize() / 1e6
        lower = best_of(args.repeat, lambda: api.load_model(model))
        whole = best_of(args.repeat, lambda: shape_inference.infer_shapes(model, data_prop=True))
        light = best_of(args.repeat, lambda: inferred(model))
        print(f"| {name} | {size:,.1f} | {lower:.2f} | {whole:.2f} | {light * 1e3:.1f} | {whole / light:.0f}x |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
