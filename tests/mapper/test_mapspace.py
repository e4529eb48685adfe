"""The mapspace: exact size by hand, enumerate == size == the valid set, uniform valid samples, valid walks."""
from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import replace
from itertools import permutations, product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelmap.arch.load import load_arch
from accelmap.arch.spec import Arch, Compute, LevelConstraint
from accelmap.ir.workload import DIMS, make_workload
from accelmap.mapper.mapping import Loop, Mapping, SpatialLoops
from accelmap.mapper.mapspace import Mapspace
from accelmap.mapper.validity import check_mapping

from .archs import WALK_ARCHS, dram, partitioned, three_level, two_fanouts


def dram_only(*constraints: LevelConstraint) -> Arch:
    """One level, no fanout: the mapspace is just the loop orders at DRAM."""
    return Arch("dram_only", (dram(),), (), Compute(), level_constraints=constraints)


def constrained() -> Arch:
    """three_level with a tiny RF, K / C only on X, a 2-wide Y, RF bypassing O, a GLB permutation."""
    arch = three_level(rf_bits=24)
    fanout = replace(arch.fanouts[0], x_dims=frozenset("KC"), y=2)
    return replace(arch, fanouts=(fanout,), level_constraints=(
        LevelConstraint("RF", bypass=frozenset("O")), LevelConstraint("GLB", permutation=("C", "K"))))


def test_size_by_hand():
    # K=2 only, on three_level with a 16-bit RF: the 2 sits in one of 5 slots (DRAM, X, Y, GLB,
    # RF); every level has at most one loop, so one order. GLB (8 KiB) fits all 8 keep sets.
    # RF, K there: W 2 words x 8 = 16 bits, I 1 x 8, O 2 x 16 = 32 -> {}, {W}, {I}: 3 sets.
    # RF, K elsewhere: W 8, I 8, O 16 -> {}, {W}, {I}, {O}, {W,I}: 5 sets.
    # Size = 1 x 8 x 3 + 4 x 8 x 5 = 184.
    assert Mapspace(make_workload(k=2), three_level(rf_bits=16)).size() == 184


def test_size_counts_loop_orders_and_their_constraints():
    # K2 C2 P2 all at DRAM: 3! = 6 orders; "C before K" leaves 3!/2! = 3; fixing P's factor at
    # DRAM to 1 leaves P nowhere to go: 0.
    wl = make_workload(k=2, c=2, p=2)
    assert Mapspace(wl, dram_only()).size() == 6
    assert Mapspace(wl, dram_only(LevelConstraint("DRAM", permutation=("C", "K")))).size() == 3
    assert Mapspace(wl, dram_only(LevelConstraint("DRAM", factors={"P": 1}))).size() == 0


def test_size_with_padding_by_hand():
    # K=3 on dram_only: bound 3 or padded 4 (max_padded_bound(3) = 4): one loop either way.
    # C=1 is never padded. So 2 mappings, the second with padded (("K", 4),).
    maps = list(Mapspace(make_workload(k=3), dram_only(), allow_padding=True).enumerate())
    assert [m.padded for m in maps] == [(), (("K", 4),)]


CASES = {
    "three_level": (make_workload(k=2, c=2, p=2), three_level(rf_bits=64), False),
    "partitioned": (make_workload(k=2, c=2, p=3, r=2), partitioned(), False),
    "two_fanouts": (make_workload(k=2, c=2, q=2), two_fanouts(), False),
    "constrained": (make_workload(k=2, c=4, p=2), constrained(), False),
    "padded": (make_workload(k=3, c=2), three_level(rf_bits=64), True),
    "eyeriss": (make_workload(k=2, c=2, p=2, r=3, s=3), load_arch("eyeriss"), False),
}


@pytest.mark.parametrize("name", CASES)
def test_enumerate_matches_size_and_every_mapping_is_valid(name):
    workload, arch, padding = CASES[name]
    space = Mapspace(workload, arch, allow_padding=padding)
    mappings = list(space.enumerate())
    assert len(mappings) == len(set(mappings)) == space.size() > 0
    assert all(check_mapping(workload, arch, m) == [] for m in mappings)


def superset(workload, arch) -> set[Mapping]:
    """Every mapping with the right shape: any factor split over any slot, any order, any keep sets."""
    slots = [("T", i) for i in range(len(arch.levels))] + [(a, j) for j in range(len(arch.fanouts))
                                                            for a in "XY"]
    active = [d for d in DIMS if workload.bound(d) > 1]
    splits = {d: [s for s in product(range(1, workload.bound(d) + 1), repeat=len(slots))
                  if _prod(s) == workload.bound(d)] for d in active}
    keeps = [frozenset(t for t, bit in zip("WIO", bits) if bit) for bits in product((0, 1), repeat=3)]
    out = set()
    for choice in product(*(splits[d] for d in active)):
        at = {slot: [(d, f[n]) for d, f in zip(active, choice) if f[n] > 1] for n, slot in enumerate(slots)}
        spatial = tuple(SpatialLoops(tuple(Loop(*x) for x in at[("X", j)]), tuple(Loop(*y) for y in at[("Y", j)]))
                        for j in range(len(arch.fanouts)))
        orders = [list(permutations(at[("T", i)])) for i in range(len(arch.levels))]
        for order in product(*orders):
            temporal = tuple(tuple(Loop(*lp) for lp in level) for level in order)
            for keep in product(keeps, repeat=len(arch.levels)):
                out.add(Mapping(temporal, spatial, keep))
    return out


def _prod(values) -> int:
    out = 1
    for v in values:
        out *= v
    return out


@pytest.mark.parametrize("name", ["three_level", "constrained"])
def test_enumerate_is_exactly_the_valid_subset_of_all_shapes(name):
    workload = make_workload(k=2, c=2)
    arch = CASES[name][1]
    valid = {m for m in superset(workload, arch) if not check_mapping(workload, arch, m)}
    assert set(Mapspace(workload, arch).enumerate()) == valid


def test_samples_are_uniform():
    # 10000 draws over a space of `size` mappings: each expected 10000/size times; a 6-sigma
    # band (binomial) holds for the fixed seed and would catch any bias of a factor 2.
    workload, arch = make_workload(k=2, p=2), three_level(rf_bits=24)
    space = Mapspace(workload, arch)
    size = space.size()
    rng = random.Random(7)
    draws = Counter(space.sample(rng) for _ in range(10000))
    expected = 10000 / size
    assert set(draws) == set(space.enumerate())
    assert all(abs(n - expected) < 6 * expected ** 0.5 for n in draws.values())


@pytest.mark.parametrize("preset", ["eyeriss", "edge_npu", "simba", "gemmini", "tpu_v1"])
def test_samples_on_presets_are_valid(preset):
    arch = load_arch(preset)
    workload = make_workload(k=16, c=8, p=14, q=14, r=3, s=3)
    space = Mapspace(workload, arch)
    rng = random.Random(0)
    for _ in range(40):
        assert check_mapping(workload, arch, space.sample(rng)) == []


def test_an_unfittable_forced_keep_empties_the_mapspace():
    # The RF must keep O, whose 1-word tile (16 bits) cannot fit 8 bits.
    arch = replace(three_level(rf_bits=8), level_constraints=(LevelConstraint("RF", keep=frozenset("O")),))
    space = Mapspace(make_workload(k=2), arch)
    assert space.size() == 0 and list(space.enumerate()) == []
    with pytest.raises(ValueError, match="no valid mapping"):
        space.sample(random.Random(0))


def test_walks_reach_exactly_the_valid_mappings():
    # 768 valid mappings under fanout, bypass and permutation rules; 20000 walks (not uniform) reach all.
    workload, arch = make_workload(k=2, c=2), constrained()
    space = Mapspace(workload, arch)
    rng = random.Random(0)
    walked = {m for m in (space.sample_walk(rng) for _ in range(20000)) if m is not None}
    assert walked == set(space.enumerate())


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(sorted(WALK_ARCHS)), st.integers(1, 96), st.integers(1, 96), st.integers(1, 60),
       st.sampled_from([1, 3, 5, 7]), st.integers(1, 2), st.integers(0, 2**16))
def test_walks_are_valid_on_deep_and_constrained_archs(name, k, c, p, r, stride, seed):
    arch = WALK_ARCHS[name]
    workload = make_workload(k=k, c=c, p=p, q=p, r=r, s=r, stride=(stride, stride))
    space, rng = Mapspace(workload, arch), random.Random(seed)
    walked = [m for m in (space.sample_walk(rng) for _ in range(200)) if m is not None]
    assert all(check_mapping(workload, arch, m) == [] for m in walked)


def test_count_stops_at_its_deadline_and_can_start_again():
    workload = make_workload(k=2, c=2)
    space = Mapspace(workload, constrained())
    with pytest.raises(TimeoutError, match="counting the mapspace of K=2 C=2"):
        space.size(deadline=time.perf_counter() - 1.0)
    assert space.size() == 768
