"""Bad input through `load_model`: one clear error naming the file, node or input and what to do."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto

from accelmap.errors import ModelError, ShapeError, UnsupportedOp
from accelmap.frontend import load_model

from .helpers import compare, make_model, node, weights


def conv_model(batch: int | str = 1) -> onnx.ModelProto:
    """x [batch, 3, 8, 8] -> Conv 3x3 -> Relu."""
    return make_model([node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]), node("Relu", ["c"])],
                      {"x": (batch, 3, 8, 8)}, ["y"], {"w": weights((4, 3, 3, 3))})


def test_unsupported_op_names_the_node_and_lists_supported_ops() -> None:
    model = make_model([node("Relu", ["x"], ["r"]), node("Det", ["r"])], {"x": (3, 3)}, ["y"])
    with pytest.raises(UnsupportedOp) as err:
        load_model(model)
    message = str(err.value)
    assert "'Det_y'" in message and "unsupported op 'Det'" in message
    supported = message.split("Supported ops: ")[1].split(", ")
    assert {"Conv", "MaxPool", "Softmax", "Reshape", "Concat", "Clip"} <= set(supported)


def test_op_newer_than_the_model_opset_says_from_which_opset() -> None:
    model = make_model([node("HardSwish", ["x"])], {"x": (3, 3)}, ["y"], opset=13)
    with pytest.raises(UnsupportedOp, match="'HardSwish_y': HardSwish is supported from opset 14, the model uses "
                                            "opset 13"):
        load_model(model)


def test_quantized_model_gets_a_clear_qdq_message() -> None:
    model = make_model([node("QuantizeLinear", ["x", "scale", "zero"], ["q"]),
                        node("DequantizeLinear", ["q", "scale", "zero"])], {"x": (2, 3)}, ["y"],
                       {"scale": np.array(0.1, np.float32), "zero": np.array(0, np.uint8)}, opset=13)
    with pytest.raises(UnsupportedOp, match=r"'QuantizeLinear_q' is QuantizeLinear: quantised \(QDQ\) models "
                                            r"are not supported yet; export the float model instead"):
        load_model(model)


def test_dynamic_input_dim_without_override_names_the_input_and_the_option() -> None:
    with pytest.raises(ShapeError, match=r"input 'x' \[batchx3x8x8\] has a dynamic shape; give it with "
                                         r"--input-shape x=N1x3x8x8 \(N1: your size for 'batch'\)\Z"):
        load_model(conv_model(batch="batch"))


def test_dynamic_input_dim_with_override_loads_and_matches() -> None:
    graph = compare(conv_model(batch="batch"), input_shapes={"x": (2, 3, 8, 8)})
    assert graph.tensors["x"].shape == (2, 3, 8, 8) and graph.layers()[0].workload.dims["N"] == 2


def test_override_of_an_unknown_input_lists_the_real_ones() -> None:
    with pytest.raises(ShapeError, match="names 'image', but the model's inputs are x"):
        load_model(conv_model(), {"image": (1, 3, 8, 8)})


def test_truncated_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "truncated.onnx"
    data = conv_model().SerializeToString()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match=f"{path}: not"):
        load_model(path)


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n" + bytes(range(256)), b"name: resnet\nlayers: 50\n"])
def test_non_onnx_file_names_the_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(content)
    with pytest.raises(ModelError, match=f"{path}: not"):
        load_model(path)


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="nowhere.onnx: no such file"):
        load_model(tmp_path / "nowhere.onnx")


def test_saved_model_loads_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "conv.onnx"
    onnx.save(conv_model(), str(path))
    assert [n.op for n in load_model(path).nodes] == ["Conv"]


# --- converter-specific refusals -------------------------------------------

def test_unknown_attribute_is_refused() -> None:
    model = make_model([node("Relu", ["x"], alpha=0.5)], {"x": (2, 3)}, ["y"])
    with pytest.raises(UnsupportedOp, match="'Relu_y': Relu attribute not supported"):
        load_model(model)


def test_clip_with_a_computed_bound_is_refused() -> None:
    model = make_model([node("Clip", ["x", "lo"])], {"x": (2, 3), "lo": ()}, ["y"], opset=13)
    with pytest.raises(UnsupportedOp, match=r"'Clip_y': Clip needs the min bound \('lo'\) to be a constant"):
        load_model(model)


def test_reshape_with_a_computed_shape_is_refused() -> None:
    model = make_model([node("Reshape", ["x", "shape"])], {"x": (2, 3), "shape": (2,)}, ["y"], opset=13,
                       types={"shape": TensorProto.INT64})
    with pytest.raises(UnsupportedOp, match="Reshape needs the target shape .'shape'. to be a constant"):
        load_model(model)


def test_dropout_in_training_mode_is_refused() -> None:
    model = make_model([node("Dropout", ["x", "ratio", "training"])], {"x": (2, 3)}, ["y"],
                       {"ratio": np.array(0.5, np.float32), "training": np.array(True)}, opset=13)
    with pytest.raises(UnsupportedOp, match="Dropout with training_mode=true is not supported"):
        load_model(model)


def test_max_pool_indices_output_is_refused() -> None:
    model = make_model([node("MaxPool", ["x"], ["y", "indices"], kernel_shape=[2, 2])], {"x": (1, 2, 4, 4)},
                       ["y", "indices"], opset=12, types={"indices": TensorProto.INT64})
    with pytest.raises(UnsupportedOp, match="MaxPool's Indices output is not supported"):
        load_model(model)


def test_3d_pooling_is_refused() -> None:
    model = make_model([node("AveragePool", ["x"], kernel_shape=[2, 2, 2])], {"x": (1, 2, 4, 4, 4)}, ["y"])
    with pytest.raises(UnsupportedOp, match="only 1-D and 2-D pooling"):
        load_model(model)


def test_ceil_mode_window_in_the_end_padding_is_refused_rather_than_mis_shaped() -> None:
    """ONNX shape inference keeps a window that would start in the end padding; the spec and
    onnxruntime drop it. accelmap refuses rather than carry two different shapes."""
    model = make_model([node("MaxPool", ["x"], kernel_shape=[3, 3], strides=[3, 3], pads=[1, 1, 1, 1],
                             ceil_mode=1)], {"x": (1, 2, 7, 8)}, ["y"], opset=12)
    with pytest.raises(UnsupportedOp, match=r"ONNX shape inference gives MaxPool output \(1, 2, 3, 4\), but the "
                                            r"operator spec \(and onnxruntime\) give \(1, 2, 3, 3\)"):
        load_model(model)
