"""`accelmap inspect`'s last line and `coverage`: which ops fell to the host and the share of MACs mapped."""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

from accelmap.cli import main
from accelmap.frontend import load_model
from accelmap.frontend.coverage import coverage
from accelmap.ir.host import run_host_op
from accelmap.ir.host.macs import host_macs
from frontend.helpers import make_model, node, weights

from .light import path


def mixed_model() -> onnx.ModelProto:
    """A mapped MatMul [4, 8] x [8, 16] (512 MACs) feeding a host Einsum of three operands (4*16*5*2 = 640)."""
    return make_model([node("MatMul", ["x", "w"], ["m"]), node("Relu", ["m"], ["r"]),
                       node("Einsum", ["r", "a", "b"], ["y"], equation="ij,jk,kl->il"), node("Softmax", ["y"], ["p"])],
                      {"x": (4, 8)}, ["p"], {"w": weights((8, 16)), "a": weights((16, 5), seed=2),
                                             "b": weights((5, 2), seed=3)}, opset=13)


def test_share_of_macs_counts_host_einsum_macs() -> None:
    lowered = coverage(load_model(mixed_model()))
    assert (lowered.mapped_macs, lowered.host_macs) == (512, 640)
    assert lowered.host_ops == {"Einsum": 1, "Softmax": 1}
    assert lowered.line() == "host ops: 1 Einsum, 1 Softmax; 44.4% of MACs mapped (512 of 1,152)"


@pytest.mark.parametrize("strides, group", [((2, 2), 1), ((3, 1), 2)])
def test_host_conv_transpose_macs_are_every_product_it_scatters(strides: tuple[int, int], group: int) -> None:
    """With all-ones operands and no crop, every MAC adds exactly 1 to the output."""
    x, w = np.ones((2, 4, 3, 5), np.float32), np.ones((4, 3, 2, 3), np.float32)
    attrs = {"strides": strides, "dilations": (1, 1), "group": group, "pads": (0, 0, 0, 0), "output_padding": (0, 0)}
    (y,) = run_host_op("ConvTranspose", [x, w, None], attrs)
    assert host_macs("ConvTranspose", [x.shape, w.shape, None], attrs) == int(y.sum())


def test_inspect_ends_with_the_coverage_line(capsys: pytest.CaptureFixture) -> None:
    assert main(["inspect", str(path("squeezenet"))]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == ("host ops: 8 Concat, 3 MaxPool, 1 GlobalAveragePool, 1 Softmax; 100.0% of MACs mapped "
                    "(349,151,936 of 349,151,936)")


def test_inspect_json_carries_the_coverage(tmp_path, capsys: pytest.CaptureFixture) -> None:
    target = tmp_path / "mixed.onnx"
    onnx.save(mixed_model(), str(target))
    assert main(["inspect", str(target), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["coverage"] == {"host_ops": {"Einsum": 1, "Softmax": 1}, "mapped_macs": 512, "host_macs": 640,
                               "mapped_share": 512 / 1152}


def test_inspect_initializers_as_inputs(tmp_path, capsys: pytest.CaptureFixture) -> None:
    model = make_model([node("Conv", ["x", "w"])], {"x": (1, 3, 6, 6)}, ["y"], {"w": weights((4, 3, 3, 3))}, opset=7)
    assert model.ir_version == 3
    target = tmp_path / "ir3.onnx"
    onnx.save(model, str(target))
    for flag, weight_words in (([], 108), (["--initializers-as-inputs"], 0)):
        assert main(["inspect", str(target), "--json", *flag]) == 0
        assert json.loads(capsys.readouterr().out)["layers"][0]["weight_words"] == weight_words
