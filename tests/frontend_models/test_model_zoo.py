"""The nine ONNX Model Zoo graphs shipped with `onnx` (see light.py): each lowers, its MACs match a count
made from ONNX's own shape inference, the interpreter reproduces its expected output, and a compiled
OUTDIR (`compile --validate --input`) reproduces it on two presets.

Tolerances: the interpreter and the executor against output_0.pb and onnxruntime, float32 rtol 1e-4,
atol 1e-6 (outputs are softmax probabilities ~1e-3, or DenseNet's pooled features ~0.46); `accelmap
validate`'s own: 1e-4 relative to the output's norm.
"""
from __future__ import annotations

import json
from math import prod
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from accelmap import api
from accelmap.cli import main
from accelmap.frontend import load_model
from accelmap.frontend.coverage import coverage
from accelmap.ir import run_graph

from .light import MODELS, data_input, expected_output, path, with_varied_weights

RTOL, ATOL = 1e-4, 1e-6
SMALL = ("shufflenet", "squeezenet")  # the quickest to interpret: fast tier
PRESETS = ("tpu_v1", "simba")


def onnx_shapes(name: str) -> tuple[onnx.ModelProto, dict[str, tuple[int, ...]]]:
    """The model and every tensor's shape, from the file and ONNX's shape inference alone (the weights'
    shapes from their shape initializers)."""
    model = onnx.load(str(path(name)))
    stored = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    declared = onnx.ModelProto.FromString(model.SerializeToString())
    for n in model.graph.node:
        if n.op_type == "ConstantOfShape":
            declared.graph.input.append(onnx.helper.make_tensor_value_info(n.output[0], onnx.TensorProto.FLOAT,
                                                                           stored[n.input[0]].tolist()))
    declared.ir_version = 4
    inferred = onnx.shape_inference.infer_shapes(declared)
    shapes = {v.name: tuple(d.dim_value for d in v.type.tensor_type.shape.dim)
              for v in list(inferred.graph.input) + list(inferred.graph.value_info) + list(inferred.graph.output)}
    return model, shapes


def onnx_macs(name: str) -> int:
    """MACs of every Conv and Gemm (out elements x reduction length), counted without accelmap."""
    model, shapes = onnx_shapes(name)
    total = 0
    for n in model.graph.node:
        if n.op_type == "Conv":
            _, c, r, s = shapes[n.input[1]]
            total += prod(shapes[n.output[0]]) * c * r * s
        elif n.op_type == "Gemm":
            total += prod(shapes[n.output[0]]) * shapes[n.input[0]][1]
    return total


def foldable_batchnorms(model: onnx.ModelProto) -> int:
    """BatchNormalization nodes right after a Conv whose output nothing else reads."""
    producer = {out: n for n in model.graph.node for out in n.output}
    reads = [name for n in model.graph.node for name in n.input]
    return sum(n.op_type == "BatchNormalization" and producer.get(n.input[0]) is not None
               and producer[n.input[0]].op_type == "Conv" and reads.count(n.input[0]) == 1
               for n in model.graph.node)


@pytest.mark.parametrize("name", MODELS)
def test_lowers_with_every_conv_and_gemm_mapped(name: str) -> None:
    graph = load_model(path(name))
    model = onnx.load(str(path(name)))
    ops = [n.op_type for n in model.graph.node]
    assert len(graph.layers()) == ops.count("Conv") + ops.count("Gemm")
    assert graph.macs == onnx_macs(name)
    lowered = coverage(graph)
    assert lowered.mapped_share == 1.0 and not {"Conv", "Gemm", "ConstantOfShape"} & set(lowered.host_ops)
    # BatchNormalization right after a Conv is folded into it; DenseNet's pre-activation ones are not
    assert lowered.host_ops.get("BatchNormalization", 0) == ops.count("BatchNormalization") - foldable_batchnorms(model)
    assert len(graph.inputs) == 1


def check_interpreter(name: str, varied: bool) -> None:
    """Interpreter vs output_0.pb (the model as shipped) or vs onnxruntime (weights varied)."""
    model = onnx.load(str(path(name)))
    if varied:
        model = with_varied_weights(model)
    feeds = data_input(model)
    got = run_graph(load_model(model), feeds)
    (output,) = [o.name for o in model.graph.output]
    if varied:
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        want = session.run([output], feeds)[0]
        assert want.std() > 1e-3 * np.abs(want).mean()  # not the uniform output of constant weights
    else:
        want = expected_output(name)
    np.testing.assert_allclose(got[output], want, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("varied", [False, True], ids=["as-shipped", "varied-weights"])
@pytest.mark.parametrize("name", [pytest.param(n, marks=() if n in SMALL else pytest.mark.slow) for n in MODELS])
def test_interpreter_reproduces_the_model(name: str, varied: bool) -> None:
    check_interpreter(name, varied)


@pytest.mark.slow
@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("name", MODELS)
def test_compile_validate_input_reproduces_the_expected_output(name: str, preset: str, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture) -> None:
    """`accelmap compile --validate --input` on the graph's own input passes (the executor against
    onnxruntime), and the executed OUTDIR reproduces the graph's own expected output (output_0.pb)."""
    feeds = data_input(onnx.load(str(path(name))))
    inputs = tmp_path / "input.npz"
    np.savez(inputs, **feeds)
    out = tmp_path / "out"
    code = main(["compile", str(path(name)), "--arch", preset, "--time-limit", "2", "--jobs", "2", "--json",
                 "--cache-dir", str(tmp_path / "cache"), "-o", str(out), "--validate", "--input", str(inputs)])
    verdict = json.loads(capsys.readouterr().out)["validation"]
    assert code == 0 and [check["passed"] for check in verdict["outputs"]] == [True], verdict
    (got,) = api.execute(out, feeds).outputs.values()
    np.testing.assert_allclose(got, expected_output(name), rtol=RTOL, atol=ATOL)
