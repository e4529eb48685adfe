"""A small three-layer CNN (Conv, Relu, MaxPool, Conv, Flatten, Gemm) compiled with random valid mappings."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from accelmap.arch.load import load_arch
from accelmap.backend import LayerStatus, Schedule, build_schedule, emit
from accelmap.frontend import load_model
from accelmap.ir import Graph
from accelmap.mapper.mapspace import Mapspace


def small_cnn() -> onnx.ModelProto:
    """x [1,3,9,9] -> Conv 3x3 pad 1 + bias -> Relu -> MaxPool 2x2 -> Conv 3x3 -> Flatten -> Gemm -> y [1,5]."""
    rng = np.random.default_rng(7)
    weights = {"w1": rng.standard_normal((6, 3, 3, 3)).astype(np.float32),
               "b1": rng.standard_normal(6).astype(np.float32),
               "w2": rng.standard_normal((4, 6, 3, 3)).astype(np.float32),
               "w3": rng.standard_normal((5, 16)).astype(np.float32),
               "b3": rng.standard_normal(5).astype(np.float32)}
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="stem/conv", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"], name="stem/relu"),
             helper.make_node("MaxPool", ["r1"], ["p1"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Conv", ["p1", "w2"], ["c2"], name="block/conv"),
             helper.make_node("Flatten", ["c2"], ["f"], name="flatten"),
             helper.make_node("Gemm", ["f", "w3", "b3"], ["y"], name="head/fc", transB=1)]
    graph = helper.make_graph(nodes, "small_cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, (1, 3, 9, 9))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(value, name) for name, value in weights.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def random_mappings(graph: Graph, preset: str, seed: int = 0) -> dict:
    """One uniformly random valid mapping per mapped layer."""
    arch = load_arch(preset)
    rng = random.Random(seed)
    return {node.name: Mapspace(node.workload, arch).sample(rng) for node in graph.layers()}


@pytest.fixture(scope="session")
def cnn_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small CNN saved as an ONNX file."""
    path = tmp_path_factory.mktemp("model") / "small_cnn.onnx"
    onnx.save(small_cnn(), path)
    return path


@pytest.fixture(scope="session")
def cnn_schedule(cnn_file: Path) -> Schedule:
    """The small CNN scheduled on edge_npu with random valid mappings."""
    graph = load_model(cnn_file)
    mappings = random_mappings(graph, "edge_npu")
    return build_schedule(graph, load_arch("edge_npu"), mappings, {n: LayerStatus("RANDOM") for n in mappings},
                          model_path=cnn_file)


@pytest.fixture(scope="session")
def cnn_outdir(cnn_schedule: Schedule, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pristine OUTDIR of the small CNN (copy it before corrupting it)."""
    return emit(cnn_schedule, tmp_path_factory.mktemp("pristine") / "out")
