"""The nine ONNX Model Zoo graphs the installed `onnx` package ships as backend test data.

`onnx/backend/test/data/light/light_<name>.onnx`: IR 3, opset 9, every
initializer also a graph input, weights built by ConstantOfShape from shape
initializers (all filled with 0.02), most nodes unnamed. Beside each is
`light_<name>_output_0.pb`, the expected output for the input onnx's backend
test runner feeds: arange(n).reshape(shape) / n in float32
(`onnx.backend.test.runner.Runner.generate_dummy_data`, random=False).

With constant weights every output channel of a layer is the same, so the
classifiers' expected outputs are uniform (softmax 0.001 everywhere);
`with_varied_weights` gives a copy whose weights differ channel to channel,
to compare with onnxruntime on something that is not symmetric.
"""
from __future__ import annotations

from math import prod
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
MODELS = ("bvlc_alexnet", "densenet121", "inception_v1", "inception_v2", "resnet50", "shufflenet", "squeezenet",
          "vgg19", "zfnet512")


def path(name: str) -> Path:
    """The model file."""
    return LIGHT / f"light_{name}.onnx"


def expected_output(name: str) -> np.ndarray:
    """The model's own expected output (output_0.pb)."""
    return numpy_helper.to_array(onnx.load_tensor(str(LIGHT / f"light_{name}_output_0.pb")))


def data_input(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    """The input the expected output was computed from, by graph input name (initializers skipped)."""
    stored = {t.name for t in model.graph.initializer}
    feeds = {}
    for value in model.graph.input:
        if value.name in stored:
            continue
        shape = tuple(d.dim_value for d in value.type.tensor_type.shape.dim)
        feeds[value.name] = (np.arange(prod(shape)).reshape(shape) / prod(shape)).astype(np.float32)
    return feeds


def with_varied_weights(model: onnx.ModelProto, seed: int = 0) -> onnx.ModelProto:
    """A copy whose ConstantOfShape weights are initializers of the same shape, each element the fill value
    times a seeded factor in [0.5, 1.5) (positive, so batch-norm variances stay valid)."""
    rng = np.random.default_rng(seed)
    varied = onnx.ModelProto.FromString(model.SerializeToString())
    shapes = {t.name: numpy_helper.to_array(t) for t in varied.graph.initializer}
    kept = []
    for node in varied.graph.node:
        if node.op_type != "ConstantOfShape" or node.input[0] not in shapes:
            kept.append(node)
            continue
        fill = numpy_helper.to_array(node.attribute[0].t).reshape(-1)[0]
        shape = tuple(int(n) for n in shapes[node.input[0]])
        value = (fill * rng.uniform(0.5, 1.5, shape)).astype(np.float32)
        varied.graph.initializer.append(numpy_helper.from_array(value, node.output[0]))
        varied.graph.input.append(onnx.helper.make_tensor_value_info(node.output[0], onnx.TensorProto.FLOAT, shape))
    del varied.graph.node[:]
    varied.graph.node.extend(kept)
    return varied
