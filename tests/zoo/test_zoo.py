"""The bundled networks: valid ONNX, runnable, deterministic, and the shapes and MACs of the real ones."""
from __future__ import annotations

import math
import time
from collections import Counter

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto

from accelmap import zoo

REDUCED = ["bert_tiny", "mobilenetv2_w4", "resnet18_w8", "resnet50_w8", "vgg16_w8"]


def run(model: onnx.ModelProto, seed: int = 0) -> np.ndarray:
    """Run a model in onnxruntime on a random input (token ids for int64 inputs); return its output."""
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (feed,) = session.get_inputs()
    rng = np.random.default_rng(seed)
    if feed.type == "tensor(int64)":
        x = rng.integers(0, 1000, size=feed.shape, dtype=np.int64)
    else:
        x = rng.standard_normal(feed.shape, dtype=np.float32)
    (output,) = session.run(None, {feed.name: x})
    return output


def shapes(model: onnx.ModelProto) -> dict[str, list[int]]:
    """Every tensor's shape by name, from ONNX shape inference on the graph itself.

    Float weights are emptied first (inference reads their dims, not their
    values), which keeps inference fast on the full-size networks.
    """
    skeleton = onnx.ModelProto()
    skeleton.CopyFrom(model)
    for weight in skeleton.graph.initializer:
        if weight.data_type == TensorProto.FLOAT:
            weight.ClearField("raw_data")
    graph = onnx.shape_inference.infer_shapes(skeleton, strict_mode=True).graph
    found = {info.name: [dim.dim_value for dim in info.type.tensor_type.shape.dim]
             for info in [*graph.input, *graph.value_info, *graph.output]}
    found.update({weight.name: list(weight.dims) for weight in graph.initializer})
    return found


def macs(model: onnx.ModelProto) -> int:
    """Multiply-accumulates of every Conv, Gemm and MatMul, counted from inferred shapes."""
    shape = shapes(model)
    total = 0
    for node in model.graph.node:
        out = shape[node.output[0]]
        if node.op_type == "Conv":
            _, c_per_group, r, s = shape[node.input[1]]
            total += math.prod(out) * c_per_group * r * s
        elif node.op_type in ("Gemm", "MatMul"):
            total += math.prod(out) * shape[node.input[0]][-1]
    return total


def op_counts(model: onnx.ModelProto) -> Counter[str]:
    """How many nodes of each op type the graph has."""
    return Counter(node.op_type for node in model.graph.node)


def attribute(node: onnx.NodeProto, name: str) -> object:
    """The value of a node's attribute."""
    return next(onnx.helper.get_attribute_value(a) for a in node.attribute if a.name == name)


def declared_shape(info: onnx.ValueInfoProto) -> tuple[int, ...]:
    """The static shape a graph input or output declares."""
    return tuple(dim.dim_value for dim in info.type.tensor_type.shape.dim)


@pytest.mark.parametrize("name", REDUCED)
def test_reduced_network_checks_and_runs_fast_with_finite_output(name: str) -> None:
    model = zoo.build(name)
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version == 17 and model.ir_version == 8
    start = time.perf_counter()
    output = run(model)
    assert time.perf_counter() - start < 1.0
    assert output.shape == declared_shape(model.graph.output[0])
    assert np.isfinite(output).all()
    assert 0.1 < output.std() < 100.0  # He-style weights keep activations O(1)


def test_reduced_networks_keep_their_declared_sizes() -> None:
    assert declared_shape(zoo.build("vgg16_w8").graph.input[0]) == (1, 3, 64, 64)
    assert run(zoo.build("bert_tiny")).shape == (1, 16, 64)
    for name in ("resnet18_w8", "resnet50_w8", "mobilenetv2_w4"):
        assert declared_shape(zoo.build(name).graph.input[0]) == (1, 3, 224, 224)


@pytest.mark.parametrize("name", ["resnet50_w8", "bert_tiny"])
def test_builds_are_byte_identical(name: str) -> None:
    assert zoo.build(name).SerializeToString() == zoo.build(name).SerializeToString()


def test_node_names_are_readable_and_unique() -> None:
    model = zoo.build("resnet50_w8")
    names = [node.name for node in model.graph.node]
    assert len(set(names)) == len(names)
    assert "/layer1/0/conv1/Conv" in names and "/layer4/0/downsample/0/Conv" in names
    assert "layer1.0.conv1.weight" in {weight.name for weight in model.graph.initializer}


def test_names_describe_and_errors() -> None:
    assert zoo.names() == sorted(zoo.names())
    full_size = {"resnet18", "resnet50", "mobilenetv2", "vgg16", "bert", "bert_base"}
    assert set(zoo.names()) == set(REDUCED) | full_size
    for name in zoo.names():
        line = zoo.describe(name)
        assert line and "\n" not in line
    assert zoo.describe("resnet50").startswith("ResNet-50 v1.5")
    with pytest.raises(ValueError, match="unknown network 'resnet51'; bundled: bert, bert_base"):
        zoo.build("resnet51")
    with pytest.raises(ValueError, match="unknown network"):
        zoo.describe("nope")
    with pytest.raises(ValueError, match="does not take seq; it takes: no parameters"):
        zoo.build("resnet18_w8", seq=3)
    with pytest.raises(ValueError, match="seq must be in 1..512"):
        zoo.build("bert_tiny", seq=513)


def test_resnet50_has_53_convs_one_gemm_and_4_1_gmacs() -> None:
    model = zoo.build("resnet50")
    onnx.checker.check_model(model)
    ops = op_counts(model)
    assert (ops["Conv"], ops["Gemm"], ops["BatchNormalization"]) == (53, 1, 53)
    assert all(len(node.input) == 2 for node in model.graph.node if node.op_type == "Conv")  # no bias
    assert 4.0e9 <= macs(model) <= 4.2e9
    shape = shapes(model)
    fc = next(node for node in model.graph.node if node.op_type == "Gemm")
    assert shape[fc.input[1]] == [1000, 2048]
    # v1.5: the stride sits on the 3x3 conv, not the first 1x1.
    strides = {node.name: attribute(node, "strides") for node in model.graph.node if node.op_type == "Conv"}
    assert strides["/layer2/0/conv1/Conv"] == [1, 1] and strides["/layer2/0/conv2/Conv"] == [2, 2]


def test_resnet18_has_20_convs_and_1_8_gmacs() -> None:
    model = zoo.build("resnet18")
    ops = op_counts(model)
    assert (ops["Conv"], ops["Gemm"], ops["Add"]) == (20, 1, 8)
    assert 1.80e9 <= macs(model) <= 1.83e9


def test_mobilenetv2_has_depthwise_convs_relu6_and_0_3_gmacs() -> None:
    model = zoo.build("mobilenetv2")
    onnx.checker.check_model(model)
    shape = shapes(model)
    convs = [node for node in model.graph.node if node.op_type == "Conv"]
    group = {node.name: attribute(node, "group") for node in convs}
    depthwise = [node for node in convs if group[node.name] > 1]
    assert len(depthwise) == 17
    for node in depthwise:  # one filter per channel: group == C_in == C_out, weight [C, 1, 3, 3]
        channels, per_group, r, s = shape[node.input[1]]
        assert (group[node.name], per_group, r, s) == (channels, 1, 3, 3)
    ops = op_counts(model)
    assert (len(convs), ops["Clip"], ops["Add"], ops["Gemm"]) == (52, 35, 10, 1)
    clip = next(node for node in model.graph.node if node.op_type == "Clip")
    bounds = {weight.name: onnx.numpy_helper.to_array(weight) for weight in model.graph.initializer}
    assert (bounds[clip.input[1]], bounds[clip.input[2]]) == (0.0, 6.0)
    assert shape[convs[-1].output[0]] == [1, 1280, 7, 7]
    assert 0.29e9 <= macs(model) <= 0.31e9


def test_vgg16_w8_structure() -> None:
    ops = op_counts(zoo.build("vgg16_w8"))
    assert (ops["Conv"], ops["Relu"], ops["MaxPool"], ops["Gemm"], ops["Dropout"]) == (13, 15, 5, 3, 2)


@pytest.mark.slow
def test_vgg16_full_size_has_15_5_gmacs() -> None:
    model = zoo.build("vgg16")
    onnx.checker.check_model(model)
    shape = shapes(model)
    gemm_weights = [shape[node.input[1]] for node in model.graph.node if node.op_type == "Gemm"]
    assert gemm_weights == [[4096, 25088], [4096, 4096], [1000, 4096]]
    assert 15.4e9 <= macs(model) <= 15.6e9


def test_bert_base_structure() -> None:
    model = zoo.build("bert_base")
    assert declared_shape(model.graph.input[0]) == (1, 128)
    assert model.graph.input[0].type.tensor_type.elem_type == TensorProto.INT64
    weights = {weight.name for weight in model.graph.initializer}
    matmuls = [node for node in model.graph.node if node.op_type == "MatMul"]
    linear = [node for node in matmuls if node.input[1] in weights]
    assert (len(linear), len(matmuls) - len(linear)) == (12 * 6, 12 * 2)  # Q K V O FFN1 FFN2; QK^T, PV
    ops = op_counts(model)
    assert (ops["Softmax"], ops["Erf"], ops["LayerNormalization"], ops["Gather"]) == (12, 12, 25, 2)
    shape = shapes(model)
    assert shape["output"] == [1, 128, 768]
    scores = next(node for node in matmuls if node.name.endswith("scores/MatMul"))
    assert shape[scores.output[0]] == [1, 12, 128, 128]
    # 12 layers of 4 * 768^2 + 2 * 768 * 3072 per token, plus QK^T and PV: about 11.2 GMACs at seq 128.
    assert macs(model) == 12 * 128 * (4 * 768 * 768 + 2 * 768 * 3072 + 2 * 128 * 768)


def test_bert_parameters_change_length_and_depth() -> None:
    model = zoo.build("bert_tiny", seq=8, layers=3)
    assert op_counts(model)["Softmax"] == 3
    output = run(model)
    assert output.shape == (1, 8, 64) and np.isfinite(output).all()
    # Post-norm: every token leaves the last LayerNorm with mean ~0 over the hidden axis.
    assert np.abs(output.mean(axis=-1)).max() < 0.2


def test_a_bundled_network_is_saved_once_and_not_rebuilt(tmp_path, monkeypatch):
    """The file a compile of a bundled network is validated against: written on first use, then reused
    without building the network again (VGG-16's weights take 2.3 s to draw)."""
    from accelmap import api

    monkeypatch.setenv("ACCELMAP_CACHE", str(tmp_path))
    first = api._model_file("bert_tiny", use_cache=True)
    assert first is not None and first.parent == tmp_path / "zoo"
    written = first.read_bytes()
    assert onnx.load_from_string(written).graph.node
    monkeypatch.setattr(zoo, "build", lambda *args, **kw: pytest.fail("rebuilt a network already saved"))
    assert api._model_file("bert_tiny", use_cache=True) == first
    assert first.read_bytes() == written
