"""`check_mapping`: one message per violated rule, naming where and what."""
from __future__ import annotations

from dataclasses import replace

from accelmap.arch.spec import FanoutConstraint, LevelConstraint
from accelmap.ir.workload import make_workload
from accelmap.mapper.mapping import Mapping
from accelmap.mapper.slots import max_padded_bound, padded_bounds
from accelmap.mapper.validity import check_mapping

from .archs import partitioned, three_level, two_fanouts
from .test_model import mapping

WL = make_workload(k=4, c=2, p=4, r=3)
"""A conv: K4 C2 P4 R3; its input has 6 rows."""
GOOD = mapping(["K2", "P2", "C2 R3"], [("K2", "P2")], ["WIO", "WIO", "W"])


def problems(m: Mapping, arch=None, workload=WL) -> list[str]:
    return check_mapping(workload, arch or three_level(), m)


def test_a_valid_mapping_has_no_problem():
    assert problems(GOOD) == []


def test_shape():
    bad = Mapping(GOOD.temporal[:2], (), GOOD.keep[:2])
    assert problems(bad) == ["mapping has 2 temporal levels, arch 'three_level' has 3 levels",
                             "mapping has 2 keep sets, arch 'three_level' has 3 levels",
                             "mapping has 0 spatial entries, arch 'three_level' has 1 fanouts"]


def test_coverage():
    bad = mapping(["K2", "P2", "C2 R3"], [("", "P2")], ["WIO", "WIO", "W"])
    assert problems(bad) == ["factors of K multiply to 2, the bound is 4"]


def test_padding_limits():
    assert max_padded_bound(1) == 1 and max_padded_bound(7) == 8 and max_padded_bound(64) == 72
    assert padded_bounds(1) == (1,) and padded_bounds(7) == (7, 8) and padded_bounds(13) == (13,)
    assert padded_bounds(56) == (56, 60) and padded_bounds(197) == (197, 200, 216)
    assert padded_bounds(1000) == (1000, 1024, 1080, 1125)
    padded = replace(mapping(["K2", "P2", "C2 R4"], [("K2", "P2")], ["WIO", "WIO", ""]), padded=(("R", 4),))
    assert problems(padded) == []
    too_far = replace(mapping(["K2", "P2", "C2 R5"], [("K2", "P2")], ["WIO", "WIO", ""]), padded=(("R", 5),))
    assert problems(too_far) == ["padded: R padded to 5, allowed 4 (bound 3)"]
    not_padded = replace(GOOD, padded=(("R", 3), ("X", 2)))
    assert problems(not_padded) == ["padded: R padded to 3, allowed 4 (bound 3)",
                                    "padded: 'X' is not a dim or is listed twice"]


def test_loop_factors_and_one_loop_per_dim():
    bad = mapping(["K2 K2", "P2 Q1", "C2 R3"], [("P2 P1", "")], ["WIO", "WIO", "W"])
    assert problems(bad) == ["level DRAM: 2 loops over K, at most one allowed",
                             "level GLB: loop Q1 has factor < 2 (factor-1 loops are left out)",
                             "fanout PE_array X: loop P1 has factor < 2 (factor-1 loops are left out)",
                             "fanout PE_array X: 2 loops over P, at most one allowed"]


def test_fanout_sizes():
    wl = make_workload(k=8, c=2, p=8, r=3)
    bad = mapping(["", "", "C2 R3"], [("K8", "P8")], ["WIO", "WIO", ""])
    assert problems(bad, workload=wl) == ["fanout PE_array: X uses 8 children, it has 4",
                                          "fanout PE_array: Y uses 8 children, it has 4"]


def test_dims_allowed_on_each_axis():
    arch = three_level()
    arch = replace(arch, fanouts=(replace(arch.fanouts[0], x_dims=frozenset("C"), y_dims=frozenset()),))
    assert problems(GOOD, arch) == ["fanout PE_array: dim K may not be unrolled on X (allowed: C)",
                                    "fanout PE_array: dim P may not be unrolled on Y (allowed: none)"]


def test_keep_rules():
    bad = mapping(["K2", "P2", "C2 R3"], [("K2", "P2")], ["WI", "WIO", "W"])
    assert problems(bad) == ["level DRAM (outermost) must keep every tensor, keeps [W, I]"]
    glb_without_w = mapping(["K2", "P2", "C2 R3"], [("K2", "P2")], ["WIO", "WIO", ""])
    assert problems(glb_without_w, partitioned()) == ["level GLB cannot keep W (it holds I, O)"]
    wl = make_workload(k=2)
    bufferless = mapping(["K2", "", "", ""], [("", ""), ("", "")], ["WIO", "", "O", ""])
    assert problems(bufferless, two_fanouts(), wl) == [
        "level column has storage: false and keeps nothing, got [O]"]


def test_forced_keep_and_bypass():
    arch = replace(three_level(), level_constraints=(
        LevelConstraint("RF", keep=frozenset("I"), bypass=frozenset("W")),))
    assert problems(GOOD, arch) == ["level RF must bypass W (dataflow constraint)",
                                    "level RF must keep I (dataflow constraint)"]


def test_fixed_factors():
    arch = replace(three_level(),
                   level_constraints=(LevelConstraint("GLB", factors={"P": 4, "C": 1}),),
                   fanout_constraints=(FanoutConstraint("PE_array", x_factors={"K": 4}),))
    assert problems(GOOD, arch) == ["level GLB: factor of P must be 4 (dataflow constraint), got 2",
                                    "fanout PE_array X: factor of K must be 4 (dataflow constraint), got 2"]


def test_residual_factor_takes_the_whole_remaining_bound():
    # R: 0 at the RF with nothing else fixed: all of R (3) there. K: 0 at the RF with X fixed to
    # 2: the RF takes 4 / 2 = 2.
    arch = replace(three_level(), level_constraints=(LevelConstraint("RF", factors={"R": 0, "K": 0}),),
                   fanout_constraints=(FanoutConstraint("PE_array", x_factors={"K": 2}),))
    assert problems(mapping(["", "P2", "K2 C2 R3"], [("K2", "P2")], ["WIO", "WIO", ""]), arch) == []
    assert problems(GOOD, arch) == [
        "level RF: factor of K must be the whole remaining bound 2 (dataflow constraint), got 1"]
    moved = mapping(["K2 R3", "P2", "C2"], [("K2", "P2")], ["WIO", "WIO", ""])
    assert problems(moved, arch)[0] == ("level RF: factor of R must be the whole remaining bound 3 "
                                        "(dataflow constraint), got 1")


def test_permutation():
    arch = replace(three_level(), level_constraints=(LevelConstraint("RF", permutation=("R", "C")),))
    assert problems(GOOD, arch) == ["level RF: loops C R must appear in the order R C, outermost "
                                    "first (dataflow constraint)"]
    assert problems(mapping(["K2", "P2", "R3 C2"], [("K2", "P2")], ["WIO", "WIO", "W"]), arch) == []


def test_capacity_counts_halos_and_partitions():
    # RF 256 bits. RF[P2 C2 R3] keeping W, I, O: W C2 R3 = 6 words (48 bits), I C2 x rows
    # (2-1)+(3-1)+1 = 4 -> 8 words (64), O P2 = 2 x 16 bits (32): 144 bits fit.
    # RF[K2 P4 C2 R3]: W 12 (96), I C2 x 6 rows (the halo: not 4) = 12 (96), O K2 P4 = 8 x 16
    # (128): 320 bits do not.
    fits = mapping(["K2", "", "P2 C2 R3"], [("K2", "P2")], ["WIO", "WIO", "WIO"])
    assert problems(fits) == []
    over = mapping(["", "", "K2 P4 C2 R3"], [("K2", "")], ["WIO", "WIO", "WIO"])
    assert problems(over) == ["level RF: tensor W, I, O needs 320 bits, the level has 256"]
    # Partitioned PE: ifmap_spad holds 12 x 8 = 96 bits. PE[C2 R3]: I C2 x 3 rows = 48 bits;
    # PE[P8 C2 R3]: C2 x 10 rows = 160 bits, over (W's 48 bits fit filter_spad's 192).
    wl = make_workload(k=4, c=2, p=8, r=3)
    assert problems(mapping(["K4 P8", "", "C2 R3"], [("", "")], ["WIO", "IO", "WI"]), partitioned(), wl) == []
    assert problems(mapping(["K4", "", "P8 C2 R3"], [("", "")], ["WIO", "IO", "WI"]), partitioned(), wl) == [
        "level PE: tensor I needs 160 bits, partition ifmap_spad has 96"]
