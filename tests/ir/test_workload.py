"""`Workload`: the loop nest's bounds, affine indices, tile extents and signature."""
from __future__ import annotations

import pytest

from accelmap.ir import DIMS, Affine, make_workload


def test_bounds_default_to_one_and_keep_dim_order() -> None:
    wl = make_workload(k=8, c=4, p=5, q=6, r=3, s=2)
    assert tuple(d for d, _ in wl.bounds) == DIMS == ("N", "G", "K", "C", "P", "Q", "R", "S")
    assert wl.dims == {"N": 1, "G": 1, "K": 8, "C": 4, "P": 5, "Q": 6, "R": 3, "S": 2}
    assert wl.macs == 8 * 4 * 5 * 6 * 3 * 2


def test_indices_follow_the_nest() -> None:
    wl = make_workload(p=4, q=4, r=3, s=3, stride=(2, 1), dilation=(1, 3))
    h, w = wl.indices("I")[3:]
    assert h == Affine((("P", 2), ("R", 1))) and w == Affine((("Q", 1), ("S", 3)))
    assert (str(h), str(w)) == ("2*p+r", "q+3*s")
    assert [str(i) for i in wl.indices("W")] == ["g", "k", "c", "r", "s"]
    assert [str(i) for i in wl.indices("O")] == ["n", "g", "k", "p", "q"]
    with pytest.raises(KeyError, match="unknown tensor 'X'"):
        wl.indices("X")


def test_relevant_dims_per_tensor() -> None:
    wl = make_workload()
    assert wl.relevant("W") == frozenset("GKCRS")
    assert wl.relevant("I") == frozenset("NGCPQRS")
    assert wl.relevant("O") == frozenset("NGKPQ")


def test_input_tile_extent_includes_the_halo() -> None:
    wl = make_workload(n=2, c=3, k=4, p=5, q=7, r=3, s=2, stride=(2, 3), dilation=(2, 1))
    # rows: (p-1)*2 + (r-1)*2 + 1 = 8 + 4 + 1; cols: (q-1)*3 + (s-1)*1 + 1 = 18 + 1 + 1
    assert wl.tensor_shape("I") == (2, 1, 3, 13, 20)
    assert wl.tensor_shape("W") == (1, 4, 3, 3, 2)
    assert wl.tensor_shape("O") == (2, 1, 4, 5, 7)
    assert wl.tile_shape("I", {"P": 2, "R": 3, "Q": 1, "S": 1}) == (1, 1, 1, 7, 1)
    assert wl.tile_words("O", {"K": 2, "P": 3}) == 6
    assert wl.tensor_words("I") == 2 * 3 * 13 * 20


def test_signature_depends_on_bounds_stride_and_dilation_only() -> None:
    base = make_workload(k=8, c=4, p=5, q=5, r=3, s=3)
    assert base.signature() == make_workload(k=8, c=4, p=5, q=5, r=3, s=3, kind="conv").signature()
    assert base.signature() == make_workload(k=8, c=4, p=5, q=5, r=3, s=3, weights_from_activations=True).signature()
    assert base.signature() != make_workload(k=8, c=4, p=5, q=5, r=3, s=3, stride=(2, 2)).signature()
    assert base.signature() != make_workload(k=8, c=4, p=5, q=5, r=3, s=3, dilation=(1, 2)).signature()
    assert base.signature() != make_workload(k=4, c=8, p=5, q=5, r=3, s=3).signature()


def test_describe_lists_non_trivial_bounds() -> None:
    assert make_workload(k=8, p=5, stride=(2, 1)).describe() == "K=8 P=5 stride=2x1"
    assert make_workload().describe() == "(single MAC)"


@pytest.mark.parametrize("kwargs, message", [
    ({"k": 0}, "bound K=0 must be >= 1"),
    ({"stride": (0, 1)}, "must be >= 1"),
    ({"dilation": (1, 0)}, "must be >= 1"),
])
def test_invalid_workloads_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_workload(**kwargs)
