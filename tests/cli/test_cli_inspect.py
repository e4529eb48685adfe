"""The `accelmap` command: inspect, zoo, arch, and its exit codes on bad input."""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from accelmap.cli import main


def _run(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_inspect_resnet50_counts(capsys):
    code, out, err = _run(capsys, ["inspect", "resnet50", "--json"])
    assert code == 0, err
    summary = json.loads(out)
    kinds = [layer["kind"] for layer in summary["layers"]]
    assert kinds.count("Conv:conv") == 53
    assert kinds.count("Gemm:matmul") == 1
    assert 4.0e9 < summary["macs"] < 4.2e9
    assert "BatchNormalization" not in summary["op_counts"]
    assert summary["unique_workloads"] < 54


def test_inspect_table_names_totals(capsys):
    code, out, _ = _run(capsys, ["inspect", "resnet18_w8"])
    assert code == 0
    assert "GMACs" in out and "unique workloads" in out
    assert "relu" in out  # fused post-ops are listed


def test_zoo_writes_loadable_file(tmp_path, capsys):
    target = tmp_path / "r.onnx"
    code, out, _ = _run(capsys, ["zoo", "resnet18_w8", "-o", str(target)])
    assert code == 0 and target.exists()
    assert len(onnx.load(str(target)).graph.node) > 10
    assert not list(tmp_path.glob(".*partial"))


def test_zoo_params_set_the_networks_sizes(tmp_path, capsys):
    target = tmp_path / "b.onnx"
    code, _, err = _run(capsys, ["zoo", "bert_tiny", "--param", "seq=40", "--param", "layers=1", "-o", str(target)])
    assert code == 0, err
    model = onnx.load(str(target))
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim] == [1, 40]
    assert sum(node.op_type == "Softmax" for node in model.graph.node) == 1


@pytest.mark.parametrize("param, says", [
    ("width=2", "--param width=2: network 'bert_tiny' has no parameter 'width'; it takes seq, layers"),
    ("seq=0", "--param seq=0: seq must be a positive integer, as in --param seq=64"),
    ("seq=x", "--param seq=x: seq must be a positive integer, as in --param seq=64"),
    ("seq=513", "--param: bert_tiny: seq must be in 1..512, got 513"),
])
def test_a_bad_zoo_param_is_refused_and_nothing_written(tmp_path, capsys, param, says):
    code, _, err = _run(capsys, ["zoo", "bert_tiny", "--param", param, "-o", str(tmp_path / "b.onnx")])
    assert code == 2 and says in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_a_network_without_params_says_so(tmp_path, capsys):
    code, _, err = _run(capsys, ["zoo", "resnet18_w8", "--param", "seq=8", "-o", str(tmp_path / "r.onnx")])
    assert code == 2 and "network 'resnet18_w8' has no parameter 'seq'; it takes none" in err


def test_missing_file_is_bad_input(capsys):
    code, _, err = _run(capsys, ["inspect", "no/such/model.onnx"])
    assert code == 2
    assert "no such file" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_truncated_file_is_bad_input(tmp_path, capsys):
    from accelmap import zoo

    data = zoo.build("resnet18_w8").SerializeToString()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: len(data) // 3])
    code, _, err = _run(capsys, ["inspect", str(path)])
    assert code == 2
    assert str(path) in err and "Traceback" not in err


def test_non_onnx_file_is_bad_input(tmp_path, capsys):
    path = tmp_path / "notes.onnx"
    path.write_text("this is not a model\n" * 20)
    code, _, err = _run(capsys, ["inspect", str(path)])
    assert code == 2
    assert str(path) in err


def _model_with(node: onnx.NodeProto, x_shape: list) -> onnx.ModelProto:
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def test_unsupported_op_is_bad_input(tmp_path, capsys):
    path = tmp_path / "m.onnx"
    onnx.save(_model_with(helper.make_node("Det", ["x"], ["y"], name="the_det"), [3, 3]), str(path))
    code, _, err = _run(capsys, ["inspect", str(path)])
    assert code == 2
    assert "the_det" in err and "Det" in err and "Conv" in err


def test_dynamic_dims_need_override(tmp_path, capsys):
    path = tmp_path / "dyn.onnx"
    w = helper.make_tensor("w", TensorProto.FLOAT, [4, 3, 3, 3], np.ones(108, np.float32))
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="c")
    model = _model_with(node, ["batch", 3, 8, 8])
    model.graph.initializer.append(w)
    onnx.save(model, str(path))
    code, _, err = _run(capsys, ["inspect", str(path)])
    assert code == 2 and "--input-shape x=" in err
    code, out, err = _run(capsys, ["inspect", str(path), "--input-shape", "x=2x3x8x8", "--json"])
    assert code == 0, err
    assert json.loads(out)["macs"] == 2 * 4 * 3 * 9 * 6 * 6


def test_bad_input_shape_syntax(capsys):
    code, _, err = _run(capsys, ["inspect", "resnet18_w8", "--input-shape", "input=1xfoo"])
    assert code == 2 and "NAME=DIMS" in err


def test_usage_error_exit_code(capsys):
    assert main(["inspect"]) == 2
    assert main(["--version"]) == 0


def test_inspect_bert_lists_matmul_workloads(capsys):
    code, out, err = _run(capsys, ["inspect", "bert_tiny", "--json"])
    assert code == 0, err
    layers = json.loads(out)["layers"]
    assert layers and all(layer["kind"] == "MatMul:matmul" for layer in layers)
    scores = [layer for layer in layers if layer["name"].endswith("scores/MatMul")]
    # QK^T per head: G=heads, P=seq, C=head dim, K=seq; both operands are activations (no weight words).
    assert scores[0]["dims"] == "G=2 K=16 C=32 P=16" and scores[0]["weight_words"] == 0
