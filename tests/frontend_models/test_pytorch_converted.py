"""Early PyTorch exports shipped with `onnx` (backend test data `pytorch-converted` and `pytorch-operator`:
117 small models, IR 3, almost all opset 6, unnamed nodes, each with an input and its expected output).
Opset 6 files are upgraded to 7 through onnx.version_converter (opset-6 per-channel PRelu slopes
reshaped first); all but the 3-D convolutions and poolings lower and reproduce their expected outputs.

Tolerance: rtol 1e-4, atol 1e-5 against output_0.pb (NaN where the expected output has NaN: sqrt and
pow of negative inputs).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from accelmap.errors import UnsupportedOp
from accelmap.frontend import load_model
from accelmap.ir import run_graph

DATA = Path(onnx.__file__).parent / "backend" / "test" / "data"
CASES = sorted(DATA.glob("pytorch-*/test_*"))
THREE_D = {case.name for case in CASES if re.match(r"test_(Conv|AvgPool|MaxPool)3d", case.name)}


def tensors(case: Path, kind: str) -> list[np.ndarray]:
    """The case's input_*.pb or output_*.pb arrays, in order."""
    files = sorted((case / "test_data_set_0").glob(f"{kind}_*.pb"), key=lambda f: int(f.stem.split("_")[1]))
    return [numpy_helper.to_array(onnx.load_tensor(str(f))) for f in files]


def test_the_collection_is_what_this_test_describes() -> None:
    models = [onnx.load(str(case / "model.onnx")) for case in CASES]
    assert len(CASES) == 117 and len(THREE_D) == 13
    versions = [(m.ir_version, m.opset_import[0].version) for m in models]
    assert versions.count((3, 6)) == 112 and versions.count((3, 9)) == 3


def test_old_pytorch_exports_reproduce_their_expected_outputs() -> None:
    failures = []
    for case in CASES:
        if case.name in THREE_D:
            continue
        model = onnx.load(str(case / "model.onnx"))
        stored = {t.name for t in model.graph.initializer}
        names = [value.name for value in model.graph.input if value.name not in stored]
        inputs = tensors(case, "input")
        graph = load_model(model, {name: x.shape for name, x in zip(names, inputs)})
        got = run_graph(graph, dict(zip(names, inputs)))
        for name, want in zip(graph.outputs, tensors(case, "output")):
            if not np.allclose(got[name], want, rtol=1e-4, atol=1e-5, equal_nan=True):
                failures.append(f"{case.name}: {name} off by {np.nanmax(np.abs(got[name] - want)):.3g}")
    assert not failures


@pytest.mark.parametrize("name", sorted(THREE_D))
def test_3d_convolution_and_pooling_are_refused_naming_the_node(name: str) -> None:
    case = next(c for c in CASES if c.name == name)
    with pytest.raises(UnsupportedOp, match=r"node '(Conv|MaxPool|AveragePool)_0' \(unnamed in the file: the "
                                            r"\w+ at position 0, writing '\d+'\): .*(3-D|only 1-D and 2-D)"):
        load_model(case / "model.onnx")
