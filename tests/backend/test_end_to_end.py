"""Width-reduced zoo networks, random valid mappings per layer, two presets each: emit, execute, and
match onnxruntime on the outputs and the schedule's predicted traffic on every layer."""
from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from accelmap import zoo
from accelmap.arch.load import load_arch
from accelmap.backend import LayerStatus, build_schedule, emit, execute
from accelmap.frontend import load_model
from accelmap.mapper.mapspace import Mapspace

from .reference_stream import stream_length

SAMPLES = 50
"""Random valid mappings drawn per layer; the one with the shortest command stream runs (keeps CI fast)."""


def network(name: str, path: Path) -> Path:
    """The bundled network saved to `path`; the CNN at 64x64 input (its global pool makes that valid)."""
    model = zoo.build(name)
    if name.startswith("resnet"):
        dims = model.graph.input[0].type.tensor_type.shape.dim
        dims[2].dim_value, dims[3].dim_value = 64, 64
        del model.graph.value_info[:]
    onnx.save(model, path)
    return path


def feeds_for(model: onnx.ModelProto, seed: int) -> dict[str, np.ndarray]:
    """Random inputs: floats, or token ids below the smallest vocabulary-like table."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for value in model.graph.input:
        shape = tuple(d.dim_value for d in value.type.tensor_type.shape.dim)
        if value.type.tensor_type.elem_type == onnx.TensorProto.INT64:
            feeds[value.name] = rng.integers(0, 16, size=shape, dtype=np.int64)
        else:
            feeds[value.name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


@pytest.mark.parametrize(("name", "preset"), [("resnet18_w8", "simba"), ("resnet18_w8", "tpu_v1"),
                                              ("bert_tiny", "eyeriss"), ("bert_tiny", "gemmini")])
def test_network_matches_onnxruntime_and_model(name: str, preset: str, tmp_path: Path) -> None:
    path = network(name, tmp_path / f"{name}.onnx")
    graph = load_model(path)
    arch = load_arch(preset)
    rng = random.Random(0)
    spaces: dict[str, Mapspace] = {}
    mappings = {}
    for node in graph.layers():
        space = spaces.setdefault(node.workload.signature(), Mapspace(node.workload, arch))
        mappings[node.name] = min((space.sample(rng) for _ in range(SAMPLES)),
                                  key=lambda m, wl=node.workload: stream_length(wl, m, arch))
    schedule = build_schedule(graph, arch, mappings, {n: LayerStatus("RANDOM") for n in mappings}, model_path=path)
    out = emit(schedule, tmp_path / "out")

    model = onnx.load(path)
    feeds = feeds_for(model, seed=1)
    result = execute(out, feeds)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in model.graph.output]
    for got_name, want in zip(names, session.run(names, feeds)):
        got = result.outputs[got_name]
        assert got.shape == want.shape
        assert np.linalg.norm(got - want) <= 1e-5 * np.linalg.norm(want)

    predicted = {entry["name"]: entry["cost"] for entry in json.loads((out / "schedule.json").read_text())["layers"]}
    levels = [level.name for level in arch.levels]
    assert set(result.layers) == set(predicted) == set(mappings)
    for layer, counts in result.layers.items():
        traffic = predicted[layer]["traffic"]
        for tensor, got in counts.tensors.items():
            assert got.dram.reads == traffic[0][tensor]["reads"], (layer, tensor)
            if got.level in levels:
                assert got.keeper.fills == traffic[levels.index(got.level)][tensor]["fills"], (layer, tensor)
        dram_o, got_o = traffic[0]["O"], counts.tensors["O"].dram
        assert (got_o.updates, got_o.first_writes, got_o.overwrites, got_o.rmw) == \
            (dram_o["updates"], dram_o["first_writes"], dram_o["overwrites"], dram_o["rmw"]), layer
