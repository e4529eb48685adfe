"""Resize (opset 10, 11, 13, 18) and Upsample (opsets 7, 9) against onnxruntime: nearest and linear,
every supported coordinate transformation and nearest rounding, scales and sizes, up and down.

float32 tolerance rtol 1e-4, atol 1e-5 (tx_models.RTOL/ATOL); nearest is exact.
"""
from __future__ import annotations

import numpy as np
import pytest

from accelmap.errors import UnsupportedOp
from accelmap.frontend import load_model
from tx_models import check, host_ops, model, node, rand

X = rand(1, 2, 5, 7, seed=1)
TRANSFORMS = ["half_pixel", "pytorch_half_pixel", "asymmetric", "align_corners"]
NEAREST_MODES = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]
SCALES = [np.float32([1, 1, 2, 3]), np.float32([1, 1, 0.6, 0.5]), np.float32([1, 1, 1.5, 0.75])]
SIZES = [np.int64([1, 2, 9, 4]), np.int64([1, 2, 3, 14]), np.int64([1, 2, 1, 1])]


def resize_model(opset: int, inputs: list[str], constants: dict[str, np.ndarray], **attrs: object):
    """One Resize node over X."""
    return model([node("Resize", inputs, **attrs)], {"x": X}, ["y"], opset, constants)


@pytest.mark.parametrize("mode", ["nearest", "linear"])
@pytest.mark.parametrize("scales", [np.float32([1, 1, 2, 3]), np.float32([1, 1, 0.6, 0.5])])
def test_resize_opset10(mode: str, scales: np.ndarray) -> None:
    graph = check(resize_model(10, ["x", "scales"], {"scales": scales}, mode=mode), {"x": X})
    assert host_ops(graph) == ["Resize"]


def test_resize_opset10_linear_up_and_down() -> None:
    check(resize_model(10, ["x", "scales"], {"scales": np.float32([1, 1, 1.5, 0.75])}, mode="linear"), {"x": X})


def test_resize_opset10_nearest_up_and_down_is_rejected() -> None:
    with pytest.raises(UnsupportedOp, match="upsamples some axes and downsamples others"):
        load_model(resize_model(10, ["x", "scales"], {"scales": np.float32([1, 1, 1.5, 0.75])}, mode="nearest"))


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("nearest_mode", NEAREST_MODES)
@pytest.mark.parametrize("scales", SCALES)
def test_resize_nearest_scales(transform: str, nearest_mode: str, scales: np.ndarray) -> None:
    constants = {"roi": np.float32([]), "scales": scales}
    check(resize_model(11, ["x", "roi", "scales"], constants, mode="nearest",
                       coordinate_transformation_mode=transform, nearest_mode=nearest_mode), {"x": X})


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("scales", SCALES)
def test_resize_linear_scales(transform: str, scales: np.ndarray) -> None:
    constants = {"roi": np.float32([]), "scales": scales}
    check(resize_model(11, ["x", "roi", "scales"], constants, mode="linear",
                       coordinate_transformation_mode=transform), {"x": X})


@pytest.mark.parametrize("mode", ["nearest", "linear"])
@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("sizes", SIZES)
def test_resize_sizes_opset13(mode: str, transform: str, sizes: np.ndarray) -> None:
    check(resize_model(13, ["x", "", "", "sizes"], {"sizes": sizes}, mode=mode,
                       coordinate_transformation_mode=transform), {"x": X})


def test_resize_sizes_opset11_with_empty_scales() -> None:
    constants = {"roi": np.float32([]), "scales": np.float32([]), "sizes": np.int64([1, 2, 10, 3])}
    check(resize_model(11, ["x", "roi", "scales", "sizes"], constants, mode="linear"), {"x": X})


@pytest.mark.parametrize("mode", ["nearest", "linear"])
def test_resize_axes_opset18(mode: str) -> None:
    graph = check(resize_model(18, ["x", "", "scales"], {"scales": np.float32([0.5, 2])}, mode=mode, axes=[3, 2]),
                  {"x": X})
    assert graph.host_ops()[0].attrs["scales"] == (1.0, 1.0, 2.0, 0.5)
    check(resize_model(18, ["x", "", "", "sizes"], {"sizes": np.int64([4, 11])}, mode=mode, axes=[-2, -1]),
          {"x": X})


def test_resize_cubic_is_rejected() -> None:
    with pytest.raises(UnsupportedOp, match="mode 'cubic'"):
        load_model(resize_model(13, ["x", "", "scales"], {"scales": np.float32([1, 1, 2, 2])}, mode="cubic"))


@pytest.mark.parametrize("mode", ["nearest", "linear"])
def test_upsample_opset7_scales_attribute(mode: str) -> None:
    graph = check(model([node("Upsample", ["x"], mode=mode, scales=[1.0, 1.0, 2.0, 3.0])], {"x": X}, ["y"], 7),
                  {"x": X})
    assert host_ops(graph) == ["Upsample"]


@pytest.mark.parametrize("mode", ["nearest", "linear"])
@pytest.mark.parametrize("scales", [np.float32([1, 1, 2, 3]), np.float32([1, 1, 1.5, 2.5])])
def test_upsample_opset9_scales_input(mode: str, scales: np.ndarray) -> None:
    check(model([node("Upsample", ["x", "scales"], mode=mode)], {"x": X}, ["y"], 9, {"scales": scales}), {"x": X})
