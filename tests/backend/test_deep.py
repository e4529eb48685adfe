"""The deep executor: every level simulated word by word, outputs exact, counts equal to the cost model's."""
from __future__ import annotations

import random
from dataclasses import replace
from importlib import resources

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accelmap.arch.load import load_arch
from accelmap.backend.run.deep import simulate_layer
from accelmap.backend.run.deep_check import count_mismatches, deep_validate_outdir
from accelmap.errors import ScheduleError
from accelmap.ir.kernels import conv_nest
from accelmap.ir.workload import make_workload
from accelmap.mapper.mapping import Loop, Mapping, SpatialLoops
from accelmap.mapper.mapspace import Mapspace
from accelmap.mapper.model import evaluate
from accelmap.mapper.validity import check_mapping

PRESETS = ["eyeriss", "simba", "gemmini", "tpu_v1", "edge_npu"]
DATAFLOWS = resources.files("accelmap.arch.presets").joinpath("dataflows")
PLAIN = "simba without multicast or reduction"
ARCHS = PRESETS + [f"dataflow:{n}" for n in ("weight_stationary", "output_stationary", "row_stationary",
                                             "no_local_reuse")] + [PLAIN]


def dataflow(name: str):
    """A dataflow example arch by file name."""
    return load_arch(str(DATAFLOWS.joinpath(f"{name}.yaml")))


def arch_named(name: str):
    """A preset, a dataflow example ("dataflow:NAME"), or PLAIN: simba's two fanouts with neither feature."""
    if name == PLAIN:
        base = load_arch("simba")
        return replace(base, fanouts=tuple(replace(f, multicast=False, reduction=False) for f in base.fanouts))
    if name.startswith("dataflow:"):
        return dataflow(name.split(":", 1)[1])
    return load_arch(name)


def tensors(wl, seed: int):
    """Integer-valued canonical input and weights, so float64 results are exact."""
    rng = np.random.default_rng(seed)
    return (rng.integers(-3, 4, wl.tensor_shape("I")).astype(np.float64),
            rng.integers(-3, 4, wl.tensor_shape("W")).astype(np.float64))


def run(wl, arch, mapping, seed: int = 0):
    """Simulate, check the output is exact, return the result and its mismatches with `evaluate`."""
    assert check_mapping(wl, arch, mapping) == []
    i_canon, w_canon = tensors(wl, seed)
    result = simulate_layer(wl, arch, mapping, i_canon, w_canon)
    np.testing.assert_array_equal(result.outputs, conv_nest(i_canon, w_canon, wl))
    return result, count_mismatches(result, evaluate(wl, arch, mapping))


@st.composite
def workloads(draw: st.DrawFn):
    """Tiny conv / matmul / grouped layers with strides and dilations (at most ~200 MACs)."""
    wl = make_workload(n=draw(st.integers(1, 2)), g=draw(st.integers(1, 2)), k=draw(st.integers(1, 3)),
                       c=draw(st.integers(1, 3)), p=draw(st.integers(1, 3)), q=draw(st.integers(1, 3)),
                       r=draw(st.integers(1, 3)), s=draw(st.integers(1, 2)),
                       stride=(draw(st.integers(1, 2)), draw(st.integers(1, 2))),
                       dilation=(draw(st.integers(1, 2)), draw(st.integers(1, 2))))
    if wl.macs > 200:
        wl = make_workload(k=wl.dims["K"], c=wl.dims["C"], p=wl.dims["P"], r=wl.dims["R"],
                           stride=wl.stride, dilation=wl.dilation)
    return wl


@pytest.mark.parametrize("name", ARCHS)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wl=workloads(), seed=st.integers(0, 10**6), padding=st.booleans())
def test_every_level_matches_the_model(name, wl, seed, padding):
    arch = arch_named(name)
    mapping = Mapspace(wl, arch, allow_padding=padding).sample(random.Random(seed))
    result, mismatches = run(wl, arch, mapping, seed)
    assert result.macs == evaluate(wl, arch, mapping).macs
    assert mismatches == [], mapping.describe(list(result.levels))


def test_per_instance_counts_sum_to_totals():
    arch = load_arch("simba")
    wl = make_workload(k=4, c=4, p=2, q=2, r=2)
    mapping = Mapspace(wl, arch).sample(random.Random(3))
    result, _ = run(wl, arch, mapping)
    for row in result.counts:
        for counts in row.values():
            assert len(counts.per_instance) == counts.instances
            assert sum(v[0] for v in counts.per_instance.values()) == counts.fills
            assert sum(v[2] for v in counts.per_instance.values()) == counts.updates


def test_weight_stationary_keeps_one_weight_per_pe():
    # 1x1 conv K=2, C=2, P=3: C over X, K over Y (4 PEs), the RF runs P3.
    # No temporal loop sits above the RF, so each PE's single weight (K1 C1 R1 S1) is filled once:
    # RF W fills = 4 PEs x 1 word = 4; every MAC reads its weight from the RF: reads = 2*2*3 = 12.
    # The GLB (innermost I and O keeper) sends each input word once to the 2 K-PEs sharing it
    # (multicast over Y): I reads = 12 / 2 = 6; partial sums over C merge in the array:
    # O updates = 12 / 2 = 6, all first writes (O has 2*3 = 6 words).
    arch, wl = dataflow("weight_stationary"), make_workload(k=2, c=2, p=3)
    mapping = Mapping(temporal=((), (), (Loop("P", 3),)),
                      spatial=(SpatialLoops(x=(Loop("C", 2),), y=(Loop("K", 2),)),),
                      keep=(frozenset("WIO"), frozenset("WIO"), frozenset("W")))
    result, mismatches = run(wl, arch, mapping)
    rf, glb = result.counts[2]["W"], result.counts[1]
    assert (rf.fills, rf.reads) == (4, 12)
    assert (glb["I"].reads, glb["O"].updates, glb["O"].first_writes, glb["O"].rmw) == (6, 6, 6, 0)
    assert mismatches == []


def test_output_stationary_accumulates_in_place():
    # K=2, C=3, P=2: P over X, K over Y (4 PEs), the RF runs C3 and keeps O only.
    # Each PE's output word (1 word) is resident once: no read-back (fills 0), 3 MAC updates per PE,
    # the first a plain write: updates = 12, first_writes = 4, rmw = 8; one write-back per PE: reads = 4.
    arch, wl = dataflow("output_stationary"), make_workload(k=2, c=3, p=2)
    mapping = Mapping(temporal=((), (), (Loop("C", 3),)),
                      spatial=(SpatialLoops(x=(Loop("P", 2),), y=(Loop("K", 2),)),),
                      keep=(frozenset("WIO"), frozenset("WIO"), frozenset("O")))
    result, mismatches = run(wl, arch, mapping)
    rf = result.counts[2]["O"]
    assert (rf.fills, rf.updates, rf.first_writes, rf.rmw, rf.reads) == (0, 12, 4, 8, 4)
    assert mismatches == []


def test_row_stationary_slides_the_input_row():
    # P=2, Q=3, R=2, S=2: P over the columns (X), R down the rows (Y): 4 PEs; column level runs Q3,
    # each PE runs S2 (a whole filter row). PE tiles: W = one filter row (2 words), I = 1 row x 2 cols.
    # W: Q3 above the PE is irrelevant to W -> one residency: fills = 2 x 4 PEs = 8.
    # I: j* = the Q3 loop; 1 start (whole tile, 2 words) + 2 advances of sw*q_in = 1 new column each:
    # 4 words per PE -> fills = 16 (a tile refilled every step would be 3*2*4 = 24).
    # O: 1 word per PE, Q3 relevant -> 3 distinct residencies, never read back (fills 0);
    # S2 MACs per residency: updates = 24, first_writes = 12, rmw = 12.
    arch, wl = dataflow("row_stationary"), make_workload(p=2, q=3, r=2, s=2)
    mapping = Mapping(temporal=((), (), (Loop("Q", 3),), (Loop("S", 2),)),
                      spatial=(SpatialLoops(x=(Loop("P", 2),)), SpatialLoops(y=(Loop("R", 2),))),
                      keep=(frozenset("WIO"), frozenset("IO"), frozenset(), frozenset("WIO")))
    result, mismatches = run(wl, arch, mapping)
    pe = result.counts[3]
    assert (pe["W"].fills, pe["I"].fills) == (8, 16)
    assert (pe["O"].fills, pe["O"].updates, pe["O"].first_writes, pe["O"].rmw) == (0, 24, 12, 12)
    # Write-backs: 1 word x 3 residencies x 4 PEs = 12 leave the PEs, merged pairwise over R (reduction on
    # the rows fanout): 6 words saved, 6 updates at the GLB.
    assert (pe["O"].reads, result.fanouts[1].reductions, result.counts[1]["O"].updates) == (12, 6, 6)
    assert mismatches == []


def test_window_coincidence_refetches_as_the_model_counts():
    """Two loops on one window axis above a keeper: the index rule, not the box, decides a refill.

    eyeriss, N1 G2 K3 C2 P3 Q2 R2 S2, stride (1,2), dilation (2,1), DRAM[C2 G2 R2 P3] | PE(I)[K3 S2 Q2]:
    the PE's input tile is 1 row x 4 columns = 4 words. Per (C, G) pair, R2 x P3 give rows
    p + 2r = 0,1,2 | 2,3,4: each R starts with a whole tile (4) and each P advance fetches the one
    new row (4), even where (r=0, p=2) -> (r=1, p=0) lands on row 2 again: a change of R is a fresh
    start (docs/cost-model.md). 4 pairs x 2 R x (4 + 2 x 4) = 96 fills.
    """
    arch = load_arch("eyeriss")
    wl = make_workload(g=2, k=3, c=2, p=3, q=2, r=2, s=2, stride=(1, 2), dilation=(2, 1))
    mapping = Mapping(temporal=((Loop("C", 2), Loop("G", 2), Loop("R", 2), Loop("P", 3)), (),
                                (Loop("K", 3), Loop("S", 2), Loop("Q", 2))),
                      spatial=(SpatialLoops(),),
                      keep=(frozenset("WIO"), frozenset(), frozenset("I")))
    result, mismatches = run(wl, arch, mapping)
    assert result.counts[2]["I"].fills == evaluate(wl, arch, mapping).traffic[2]["I"].fills == 96
    assert mismatches == []


def test_deep_validate_outdir(cnn_outdir):
    checks = deep_validate_outdir(cnn_outdir)
    assert [c.name for c in checks] == ["stem/conv", "block/conv", "head/fc"]
    for check in checks:
        assert check.max_abs_error == 0
        assert check.macs > 0
        assert not check.mismatches, check.mismatches
    only = deep_validate_outdir(cnn_outdir, layer="block/conv")
    assert [c.name for c in only] == ["block/conv"]
    with pytest.raises(ScheduleError, match="no mapped layer named 'nope'"):
        deep_validate_outdir(cnn_outdir, layer="nope")
