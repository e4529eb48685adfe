"""Archs nobody wrote (`random_archs`), end to end: the arch read back from its own YAML (as every OUTDIR
check does), the lower bounds and CP-SAT against exhaustive enumeration for every objective, and both
executors against the interpreter and the model's counts on random mappings."""
from __future__ import annotations

import random
import tempfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from accelmap.arch import build_arch
from accelmap.arch.dump import arch_to_yaml
from accelmap.backend import LayerStatus, build_schedule, emit, execute
from accelmap.backend.run.deep import simulate_layer
from accelmap.backend.run.deep_check import count_mismatches as deep_mismatches
from accelmap.ir import run_graph
from accelmap.mapper.bounds import lower_bounds
from accelmap.mapper.mapspace import Mapspace
from accelmap.mapper.model import evaluate
from backend.helpers import conv_graph, count_mismatches, matmul_graph
from mapper_cpsat.cases import exhaustive_optima, random_workload
from mapper_cpsat.test_optimality import check_all_objectives

from .random_archs import random_arch

MAX_SIZE = 5_000
"""Largest mapspace enumerated per case (a fraction of a second)."""


def cases(seed: int, count: int, max_size: int = MAX_SIZE):
    """`count` (arch, workload) pairs with a non-empty mapspace of at most `max_size` mappings."""
    rng, found = random.Random(seed), []
    while len(found) < count:
        arch, workload = random_arch(rng, f"random{len(found)}"), random_workload(rng)
        if 0 < Mapspace(workload, arch).size() <= max_size:
            found.append((arch, workload))
    return found


def test_random_archs_read_back_equal_from_their_yaml():
    # Without a description too: the OUTDIR loader rebuilds the arch from this YAML and refused every
    # arch file without one as "edited".
    rng = random.Random(0)
    for index in range(300):
        arch = random_arch(rng, f"random{index}")
        assert build_arch(yaml.safe_load(arch_to_yaml(arch)), arch.name) == arch, arch_to_yaml(arch)


@pytest.mark.parametrize("arch, workload", cases(seed=1, count=40))
def test_lower_bounds_hold_at_the_exhaustive_optimum(arch, workload):
    _, best = exhaustive_optima(workload, arch)
    bounds = lower_bounds(workload, arch, padding=False)
    assert bounds.energy <= best["energy"][0] and bounds.cycles <= best["latency"][0], arch_to_yaml(arch)


@pytest.mark.parametrize("arch, workload", cases(seed=2, count=6))
def test_cpsat_equals_exhaustive_on_random_archs(arch, workload):
    check_all_objectives(workload, arch)


@pytest.mark.slow
@pytest.mark.parametrize("arch, workload", cases(seed=3, count=40, max_size=60_000))
def test_cpsat_equals_exhaustive_on_random_archs_larger(arch, workload):
    check_all_objectives(workload, arch)


def random_layer(rng: random.Random):
    """A small Conv (odd sizes, strides, dilations, padding, groups, bias) or MatMul graph, and its feeds."""
    ints = np.random.default_rng(rng.randrange(2**31))
    if rng.random() < 0.25:
        m, kr, nc, batch = rng.randint(1, 6), rng.randint(1, 7), rng.randint(1, 6), rng.randint(2, 3)
        form = rng.choice(["plain", "shared", "batched"])
        if form == "plain":
            return matmul_graph(ints, (m, kr), (kr, nc), True)
        return matmul_graph(ints, (batch, m, kr), (kr, nc) if form == "shared" else (batch, kr, nc),
                            form == "shared")
    depthwise = rng.random() < 0.3
    r, s = rng.randint(1, 3), rng.randint(1, 3)
    stride, dilation = (rng.randint(1, 2), rng.randint(1, 2)), (rng.randint(1, 2), rng.randint(1, 2))
    pads = tuple(rng.randint(0, 1) for _ in range(4))
    h = rng.randint(max(1, dilation[0] * (r - 1) + 1 - pads[0] - pads[2]), 7)
    w = rng.randint(max(1, dilation[1] * (s - 1) + 1 - pads[1] - pads[3]), 7)
    return conv_graph(ints, n=rng.randint(1, 2), groups=rng.randint(2, 4) if depthwise else rng.randint(1, 2),
                      k=rng.randint(1, 2) if depthwise else rng.randint(1, 5), c=1 if depthwise else rng.randint(1, 3),
                      h=h, w=w, r=r, s=s, stride=stride, dilation=dilation, pads=pads, bias=rng.random() < 0.5)


@pytest.mark.parametrize("seed", range(40))
def test_executors_on_random_archs_match_the_interpreter_and_the_model(seed):
    rng = random.Random(seed)
    while True:
        arch = random_arch(rng, f"random{seed}")
        graph, feeds = random_layer(rng)
        (node,) = graph.layers()
        space = Mapspace(node.workload, arch, allow_padding=rng.random() < 0.3)
        if space.size():
            break
    mapping = space.sample(rng)
    where = f"{mapping.describe([lv.name for lv in arch.levels])} on\n{arch_to_yaml(arch)}"
    schedule = build_schedule(graph, arch, {node.name: mapping}, {node.name: LayerStatus("RANDOM")})
    with tempfile.TemporaryDirectory() as tmp:
        result = execute(emit(schedule, Path(tmp) / "out"), feeds)
    np.testing.assert_array_equal(result.outputs["y"], run_graph(graph, feeds)["y"])
    cost = evaluate(node.workload, arch, mapping)
    assert not count_mismatches(cost, result.layers[node.name], arch), where
    if not mapping.padded:
        workload, ints = node.workload, np.random.default_rng(seed)
        deep = simulate_layer(workload, arch, mapping, ints.integers(-3, 4, workload.tensor_shape("I")).astype(float),
                              ints.integers(-3, 4, workload.tensor_shape("W")).astype(float))
        assert deep_mismatches(deep, cost) == [], where


def test_a_double_buffered_half_of_an_odd_number_of_words_holds_whole_words():
    # Found by the executor test above: a 6-byte double-buffered partition of 16-bit words was offered
    # 24 bits a half, and the layout then put the second copy at bit 24, off a word.
    doc = {"levels": [{"name": "DRAM", "word-bits": 16, "read_energy": 100.0, "write_energy": 100.0},
                      {"name": "L1", "word-bits": 16, "read_energy": 1.0, "write_energy": 1.0, "double_buffered": True,
                       "partitions": [{"name": "L1_I", "tensors": ["I"], "capacity": "6B"},
                                      {"name": "L1_W", "tensors": ["W"], "capacity": "8B"},
                                      {"name": "L1_O", "tensors": ["O"], "capacity": "8B"}]}],
           "compute": {"mac_energy": 1.0}}
    arch = build_arch(doc, "odd_halves")
    assert [arch.levels[1].usable_bits(t) for t in "IWO"] == [16, 32, 32]
    graph, feeds = conv_graph(np.random.default_rng(0), n=1, groups=1, k=2, c=1, h=4, w=3, r=1, s=1,
                              stride=(1, 1), dilation=(1, 1), pads=(0, 0, 0, 0))
    (node,) = graph.layers()
    mappings = [m for m in Mapspace(node.workload, arch).enumerate() if "I" in m.keep[1]]
    assert mappings
    schedule = build_schedule(graph, arch, {node.name: mappings[0]}, {node.name: LayerStatus("RANDOM")})
    (entry,) = [e for e in schedule.layer(node.name).buffers if e.tensor == "I"]
    assert [(h.start_bit, h.stop_bit) for h in entry.halves] == [(0, 16), (16, 32)]
    with tempfile.TemporaryDirectory() as tmp:
        result = execute(emit(schedule, Path(tmp) / "out"), feeds)
    np.testing.assert_array_equal(result.outputs["y"], run_graph(graph, feeds)["y"])
