"""Property tests: random Conv and MatMul shapes, interpreter == onnxruntime.

Tolerance: helpers.RTOL / helpers.ATOL (float32: rtol 1e-4, atol 1e-5).
"""
from __future__ import annotations

from dataclasses import dataclass

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from .helpers import check, node, weights

SETTINGS = settings(max_examples=60, deadline=None, database=None)
SIZES = st.sampled_from([1, 2, 3, 5, 6, 7, 8, 11, 13])


@dataclass(frozen=True)
class ConvCase:
    """One random convolution: ONNX shapes and attributes."""

    x_shape: tuple[int, ...]
    w_shape: tuple[int, ...]
    attrs: dict
    bias: bool


@st.composite
def conv_cases(draw: st.DrawFn) -> ConvCase:
    spatial = draw(st.sampled_from([1, 2, 2]))
    if draw(st.booleans()):  # depthwise, channel multiplier 1 or 2
        group = draw(st.integers(1, 6))
        c_per_group, k_per_group = 1, draw(st.integers(1, 2))
    else:
        group = draw(st.sampled_from([1, 1, 2, 3]))
        c_per_group, k_per_group = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    sizes = tuple(draw(SIZES) for _ in range(spatial))
    kernel = tuple(draw(st.integers(1, 5)) for _ in range(spatial))
    strides = [draw(st.integers(1, 3)) for _ in range(spatial)]
    dilations = [draw(st.integers(1, 3)) for _ in range(spatial)]
    pads = [draw(st.integers(0, 2)) for _ in range(2 * spatial)]
    for axis in range(spatial):
        assume(sizes[axis] + pads[axis] + pads[axis + spatial] >= dilations[axis] * (kernel[axis] - 1) + 1)
    n = draw(st.integers(1, 2))
    attrs = {"strides": strides, "dilations": dilations, "pads": pads, "group": group}
    return ConvCase((n, group * c_per_group) + sizes, (group * k_per_group, c_per_group) + kernel, attrs,
                    draw(st.booleans()))


@SETTINGS
@given(conv_cases())
def test_random_conv_matches_onnxruntime(case: ConvCase) -> None:
    inputs, initializers = ["x", "w"], {"w": weights(case.w_shape, scale=0.5)}
    if case.bias:
        inputs.append("b")
        initializers["b"] = weights(case.w_shape[:1], seed=2)
    graph = check([node("Conv", inputs, **case.attrs)], {"x": case.x_shape}, ["y"], initializers)
    (layer,) = graph.nodes
    assert layer.workload.dims["G"] == case.attrs["group"]


@st.composite
def matmul_shapes(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...], bool]:
    """A and B shapes whose batch dims broadcast (each a suffix of the output's, some dims 1), 1-D allowed."""
    m, k, n = (draw(st.integers(1, 6)) for _ in range(3))
    batch = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2))))

    def operand_batch() -> tuple[int, ...]:
        kept = batch[len(batch) - draw(st.integers(0, len(batch))):]
        return tuple(d if draw(st.booleans()) else 1 for d in kept)

    a = (k,) if draw(st.integers(0, 4)) == 0 else operand_batch() + (m, k)
    b = (k,) if draw(st.integers(0, 4)) == 0 else operand_batch() + (k, n)
    return a, b, draw(st.booleans())


@SETTINGS
@given(matmul_shapes())
def test_random_matmul_matches_onnxruntime(shapes: tuple[tuple[int, ...], tuple[int, ...], bool]) -> None:
    a_shape, b_shape, b_constant = shapes
    inputs = {"a": a_shape} if b_constant else {"a": a_shape, "b": b_shape}
    graph = check([node("MatMul", ["a", "b"])], inputs, ["y"], {"b": weights(b_shape)} if b_constant else {})
    assert graph.nodes[0].is_mapped
