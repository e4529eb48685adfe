"""Property: for random small layers x random valid mappings x every preset, every dataflow example
(and a variant without multicast or spatial reduction), the executor running the loop program gives
the interpreter's outputs exactly, the words it moves equal the cost model's counts, and the stream
the program expands to equals the reference stream (the format-1 command stream, kept in
`reference_stream`) record by record."""
from __future__ import annotations

import json
import random
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from accelmap.arch.load import load_arch
from accelmap.arch.spec import TIMELOOP_ACCOUNTING, Arch
from accelmap.backend import LayerStatus, build_schedule, emit, execute
from accelmap.backend.run.deep import simulate_layer
from accelmap.backend.run.deep_check import count_mismatches as deep_mismatches
from accelmap.backend.run.expand import stream_records
from accelmap.backend.run.executor import _pad, padded_workload
from accelmap.ir import run_graph
from accelmap.ir.kernels import conv_nest
from accelmap.mapper.mapspace import Mapspace
from accelmap.mapper.model import evaluate

from .helpers import conv_graph, count_mismatches, matmul_graph
from .reference_runner import StreamRunner
from .reference_stream import layer_commands, stream_length

PRESETS = ["eyeriss", "simba", "gemmini", "tpu_v1", "edge_npu"]
DATAFLOW_DIR = Path(__file__).parents[2] / "accelmap" / "arch" / "presets" / "dataflows"
DATAFLOWS = sorted(f"dataflows/{p.stem}" for p in DATAFLOW_DIR.glob("*.yaml"))
PLAIN = "edge_npu without multicast or reduction"
"""A variant no preset covers: every child fetches its own words and writes its own partial sums."""
MAX_RECORDS = 4000
"""Streams longer than this are resampled (a few times) to keep the test fast."""


@st.composite
def conv_layers(draw: st.DrawFn) -> dict:
    """A Conv: odd sizes, strides, dilations, padding, groups, depthwise, optional bias + relu."""
    depthwise = draw(st.booleans())
    groups = draw(st.integers(2, 4)) if depthwise else draw(st.integers(1, 2))
    r, s = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pads = tuple(draw(st.integers(0, 1)) for _ in range(4))
    h = draw(st.integers(max(1, dilation[0] * (r - 1) + 1 - pads[0] - pads[2]), 7))
    w = draw(st.integers(max(1, dilation[1] * (s - 1) + 1 - pads[1] - pads[3]), 7))
    return {"kind": "conv", "n": draw(st.integers(1, 2)), "groups": groups,
            "k": draw(st.integers(1, 2)) if depthwise else draw(st.integers(1, 5)),
            "c": 1 if depthwise else draw(st.integers(1, 3)), "h": h, "w": w, "r": r, "s": s,
            "stride": stride, "dilation": dilation, "pads": pads, "bias": draw(st.booleans())}


@st.composite
def matmul_layers(draw: st.DrawFn) -> dict:
    """A MatMul: plain with weights, batched with shared weights (N), batched activations (G)."""
    m, kr, nc = draw(st.integers(1, 6)), draw(st.integers(1, 7)), draw(st.integers(1, 6))
    form = draw(st.sampled_from(["plain", "shared", "batched"]))
    batch = draw(st.integers(2, 3))
    if form == "plain":
        return {"kind": "matmul", "a": (m, kr), "b": (kr, nc), "weight": True}
    if form == "shared":
        return {"kind": "matmul", "a": (batch, m, kr), "b": (kr, nc), "weight": True}
    return {"kind": "matmul", "a": (batch, m, kr), "b": (batch, kr, nc), "weight": False}


def build(spec: dict, seed: int):
    """The graph and integer feeds a drawn spec describes."""
    rng = np.random.default_rng(seed)
    if spec["kind"] == "matmul":
        return matmul_graph(rng, spec["a"], spec["b"], spec["weight"])
    args = {k: v for k, v in spec.items() if k != "kind"}
    return conv_graph(rng, **args)


def arch_named(name: str) -> Arch:
    """A preset, or the PLAIN variant of edge_npu."""
    if name.startswith("dataflows/"):
        return load_arch(DATAFLOW_DIR / f"{name.removeprefix('dataflows/')}.yaml")
    if name != PLAIN:
        return load_arch(name)
    base = load_arch("edge_npu")
    return replace(base, fanouts=tuple(replace(f, multicast=False, reduction=False) for f in base.fanouts))


def sample(workload, arch, seed: int, padding: bool):
    """A random valid mapping from the mapspace, resampled while its stream is too long to run quickly."""
    rng = random.Random(seed)
    try:
        space = Mapspace(workload, arch, allow_padding=padding)
        candidates = [space.sample(rng) for _ in range(4)]
    except ValueError:
        reject()
    return min(candidates, key=lambda m: (stream_length(workload, m, arch) > MAX_RECORDS,
                                          candidates.index(m)))


def normalised(record: dict, arch: Arch) -> dict:
    """A record as the expansion writes it: fanouts by name; `separate` only for O (where it means something)."""
    record = json.loads(json.dumps(record))
    if record["op"] == "LAYER":
        for t, port in record["tensors"].items():
            for loop in port["instance_loops"]:
                loop["fanout"] = arch.fanouts[loop["fanout"]].name
            if t != "O":
                port.pop("separate")
        for loop in record["compute_loops"]:
            loop["fanout"] = arch.fanouts[loop["fanout"]].name
    return record


def expanded(record: dict) -> dict:
    """A record of the expansion with `separate` kept for O only."""
    if record["op"] == "LAYER":
        record = json.loads(json.dumps(record))
        for t in "WI":
            record["tensors"][t].pop("separate")
    return record


@pytest.mark.parametrize("preset", PRESETS + DATAFLOWS + [PLAIN])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=st.one_of(conv_layers(), matmul_layers()), seed=st.integers(0, 2**31), padding=st.booleans())
def test_executor_equals_interpreter_and_model(preset: str, spec: dict, seed: int, padding: bool) -> None:
    arch = arch_named(preset)
    graph, feeds = build(spec, seed)
    (node,) = graph.layers()
    mapping = sample(node.workload, arch, seed, padding)
    schedule = build_schedule(graph, arch, {node.name: mapping}, {node.name: LayerStatus("RANDOM")})
    plan = schedule.layer(node.name)
    with tempfile.TemporaryDirectory() as tmp:
        out = emit(schedule, Path(tmp) / "out")
        result = execute(out, feeds)
        got = [expanded(r) for r in stream_records(out, node.name)]
    want_records = [normalised(r, arch) for r in layer_commands(node.name, node.workload, mapping, arch, plan.buffers)]
    assert got == want_records
    # the expanded program, run tile by tile through the reference simulator, computes the layer too
    wl, layout = node.workload, node.layout
    padded = padded_workload(wl, mapping.bounds(wl.dims))
    x, w = feeds[node.inputs[0]], (graph.constants | feeds)[node.inputs[1]]
    dram = {"I": _pad(layout.to_input(x, wl), padded.tensor_shape("I"), x.dtype),
            "W": _pad(layout.to_weights(w, wl), padded.tensor_shape("W"), x.dtype),
            "O": np.zeros(padded.tensor_shape("O"), x.dtype)}
    reference = StreamRunner(plan, arch, dram).run(iter(got))
    np.testing.assert_array_equal(dram["O"], conv_nest(dram["I"], dram["W"], padded))
    cost = evaluate(node.workload, arch, mapping)
    assert all(reference[t].reads == cost.traffic[0][t].reads for t in "WIO")
    assert {t: c.reads for t, c in reference.items()} == {t: c.dram.reads for t, c in result.layers[node.name].tensors.items()}
    want = run_graph(graph, feeds)
    assert result.outputs["y"].dtype == want["y"].dtype
    np.testing.assert_array_equal(result.outputs["y"], want["y"])
    mismatches = count_mismatches(evaluate(node.workload, arch, mapping), result.layers[node.name], arch)
    assert not mismatches, f"{mapping.describe([lv.name for lv in arch.levels])}: {mismatches}"


def test_timeloop_halo_rule_is_what_both_executors_count():
    """Under Timeloop's accounting an input tile slides only when its sliding loop is the innermost loop
    above it: mappings where that changes the model's fills run through the OUTDIR executor and the
    deep executor, and both count exactly what the model predicts."""
    arch = replace(load_arch("eyeriss"), accounting=TIMELOOP_ACCOUNTING)
    halo = replace(arch, accounting=replace(TIMELOOP_ACCOUNTING, halo_past_irrelevant=True))
    graph, feeds = conv_graph(np.random.default_rng(5), n=1, groups=1, c=2, h=9, w=6, k=4, r=3, s=3,
                              stride=(1, 1), dilation=(1, 1), pads=(0, 0, 0, 0))
    (node,) = graph.layers()
    workload, rng, checked = node.workload, random.Random(11), 0
    for _ in range(2000):
        mapping = Mapspace(workload, arch).sample(rng)
        predicted = evaluate(workload, arch, mapping)
        if predicted.energy == evaluate(workload, halo, mapping).energy or \
                stream_length(workload, mapping, arch) > MAX_RECORDS:
            continue
        schedule = build_schedule(graph, arch, {node.name: mapping}, {node.name: LayerStatus("RANDOM")})
        with tempfile.TemporaryDirectory() as tmp:
            result = execute(emit(schedule, Path(tmp) / "out"), feeds)
        np.testing.assert_array_equal(result.outputs["y"], run_graph(graph, feeds)["y"])
        assert not count_mismatches(predicted, result.layers[node.name], arch), mapping.describe()
        ints = np.random.default_rng(checked)
        deep = simulate_layer(workload, arch, mapping, ints.integers(-3, 4, workload.tensor_shape("I")).astype(float),
                              ints.integers(-3, 4, workload.tensor_shape("W")).astype(float))
        assert deep_mismatches(deep, predicted) == [], mapping.describe()
        checked += 1
        if checked == 3:
            break
    assert checked == 3
