"""Lower bounds (`bounds.lower_bounds`) on hand-derived cases; the property tests hold them below sampled
mappings (tests/mapper/test_model_properties.py)."""
from __future__ import annotations

from itertools import product

from accelmap.arch.spec import Arch, Compute, Fanout, Level
from accelmap.ir.workload import make_workload
from accelmap.mapper.bounds import _most_shared, _operand_bound, lower_bounds
from accelmap.mapper.mapspace import Mapspace
from accelmap.mapper.model import evaluate

from .archs import costs, dram, three_level


def _largest(wl, arch, tensor):
    """Each fanout's largest share of `tensor` (`_operand_bound` with no split between the tensors)."""
    return tuple(_most_shared(wl, arch, j, tensor, True) for j in range(len(arch.fanouts)))


def _optimum(wl, arch, allow_padding=False):
    """The least energy of the whole mapspace, enumerated."""
    return min(evaluate(wl, arch, m).energy for m in Mapspace(wl, arch, allow_padding=allow_padding).enumerate())


def _glb_over_array(name, x, y):
    """DRAM / an 8 KiB GLB keeping everything over an x-by-y multicasting, reducing array of bare MACs."""
    return Arch(name=name, levels=(dram(), Level("GLB", 8 * 1024, costs(6, 7, 8), frozenset("WIO"))),
                fanouts=(Fanout("PE_array", "GLB", x, y, multicast=True, reduction=True, hop_energy=2),),
                compute=Compute(macs_per_pe=1, mac_energy=1))


def _rf_under_array(rf_bits, hop):
    """DRAM / an 8 KiB GLB over a 2-wide multicasting, reducing array (`hop` fJ) of RFs keeping W, I and O."""
    return Arch(name="chain", levels=(dram(), Level("GLB", 8 * 1024, costs(6, 7, 8), frozenset("WIO")),
                                      Level("RF", rf_bits, costs(1, 2, 3), frozenset("WIO"))),
                fanouts=(Fanout("PE_array", "GLB", 2, 1, multicast=True, reduction=True, hop_energy=hop),),
                compute=Compute(macs_per_pe=1, mac_energy=1))


def test_lower_bounds():
    # Matmul P8 C6 K8 on three_level (DRAM 200/210/220 fJ, GLB 6/7/8, RF 1/2/3, a 4x4 array with
    # 2 fJ hops below the GLB): 384 MACs (1 fJ each). W's cheapest innermost keeper is the RF: its
    # 48 words read from DRAM, sent once through the array and filled into the RF once
    # (48 x (200 + 2 + 2)), 384 MAC reads (1 each): 10176 (GLB: 48 x (200 + 7) + 48 reads x 6 + 384
    # hops x 2 = 10992; DRAM: 48 x 200 + 768 = 10368). I the same. O at DRAM: 64 first writes (210)
    # and 384 hops: 14208 (RF: 64 x 210 + 384 updates x 2 + 64 drains x 1 + 64 hops x 2 = 14400).
    # Cycles: 384 MACs / 16 PEs = 24; DRAM reads 96/1.5 = 64; writes 32.
    arch = three_level()
    wl = make_workload(p=8, c=6, k=8, kind="matmul")
    bounds = lower_bounds(wl, arch)
    assert (bounds.energy, bounds.cycles) == (384 + 2 * 10176 + 14208, 64)
    assert bounds.energy > 48 * 200 + 48 * 200 + 64 * 210 + 384     # each tensor off-chip once, the MACs


def test_lower_bounds_count_only_the_axes_that_can_share():
    # DRAM over a GLB over a 4x4 array (2 fJ hops) whose X axis unrolls only C and Y only K: a W word
    # (irrelevant dim P) goes to one child, an I word (irrelevant K) to at most 4 (Y), an O word merges
    # over at most 3 (X: a factor of C6, or of 7 when padded, that is at most 4). Matmul P8 C6 K8, 384
    # MACs. W at the GLB: 48 x (200 + 7) + 384 reads x 6 + 384 hops x 2 = 13008; I at the GLB: 48 x 207
    # + 96 x 6 + 768 = 11280; O at the GLB: 128 updates x 7 + 768 + 64 first writes at DRAM x 210 + 64
    # drains x 6 = 15488.
    arch = Arch(name="axes", levels=(dram(), Level("GLB", 8 * 1024, costs(6, 7, 8), frozenset("WIO"))),
                fanouts=(Fanout("PE_array", "GLB", 4, 4, hop_energy=2, x_dims=frozenset("C"),
                                y_dims=frozenset("K")),),
                compute=Compute(macs_per_pe=1, mac_energy=1))
    wl = make_workload(p=8, c=6, k=8, kind="matmul")
    assert lower_bounds(wl, arch).energy == 384 + 13008 + 11280 + 15488


def test_lower_bounds_count_the_refetches_a_small_buffer_forces():
    # DRAM over a 256-bit GLB that may keep W, I and O (8-bit W and I, 16-bit O), no array; matmul P8
    # C6 K8. The tensors (48 + 48 + 64 words) cannot all stay in the GLB, so whichever tensor the
    # innermost DRAM loop leaves alone, the others are fetched again: the bound counts it (strictly
    # above the bound without refetches) and stays at or below the best mapping of the whole mapspace.
    arch = Arch(name="small_glb", levels=(dram(), Level("GLB", 256, costs(6, 7, 8), frozenset("WIO"))),
                fanouts=(), compute=Compute(macs_per_pe=1, mac_energy=1))
    wl = make_workload(p=8, c=6, k=8, kind="matmul")
    best = _optimum(wl, arch)
    without = wl.macs + sum(min(_operand_bound(wl, arch, t, k, _largest(wl, arch, t)) for k in (0, 1)) for t in "WIO")
    assert without < lower_bounds(wl, arch).energy <= best


def test_lower_bounds_count_refetches_from_an_on_chip_parent_below_an_array():
    # DRAM / 8 KiB GLB / a 48-bit RF keeping W, I and O, under a 2-wide multicasting, reducing array;
    # matmul P8 C3 K4. The RF's tiles cannot hold all three tensors, so whichever tensor the innermost
    # loop above it leaves alone, the others are filled again from the GLB: the bound counts it and
    # stays at or below the best of the whole mapspace (60,528 mappings).
    arch = _rf_under_array(48, hop=2)
    wl = make_workload(p=8, c=3, k=4, kind="matmul")
    best = _optimum(wl, arch)
    without = wl.macs + sum(min(_operand_bound(wl, arch, t, k, _largest(wl, arch, t)) for k in (0, 1, 2)) for t in "WIO")
    assert without < lower_bounds(wl, arch).energy <= best


def test_lower_bounds_count_each_refill_crossing_the_fanout_above_its_keeper():
    # DRAM / 8 KiB GLB / a 64-bit RF keeping W, I and O under a 2-wide multicasting, reducing array with
    # 20 fJ hops; matmul P6 C2 K4. The RF's capacity forces refills, and the array delivers each refill
    # to its PE separately (a hop per word and copy, however few the GLB reads are after multicast): with
    # those hops counted the bound is the optimum of the whole mapspace enumerated (10,272 fJ when only
    # the GLB's reads of the refills paid a hop).
    arch = _rf_under_array(64, hop=20)
    wl = make_workload(p=6, c=2, k=4, kind="matmul")
    assert lower_bounds(wl, arch).energy == 10_584 == _optimum(wl, arch)


def test_lower_bounds_split_an_array_between_the_tensors_it_shares():
    # DRAM / GLB over a 4-wide array of bare MACs (multicast, reduction); matmul P4 C4 K4. Every
    # tensor's innermost keeper is the GLB, so its MAC-side reads (O: updates) shrink by its share of
    # the array, but P (W's), K (I's) and C (O's) share one 4-wide axis: the shares multiply to at most
    # 4. The bound with that split is above the one giving each tensor the whole array, and here it is
    # the optimum of the whole mapspace enumerated (11,200 fJ; 10,208 without the split).
    arch = _glb_over_array("flat", 4, 1)
    wl = make_workload(p=4, c=4, k=4, kind="matmul")
    best = _optimum(wl, arch)
    alone = wl.macs + min(sum(_operand_bound(wl, arch, t, k, _largest(wl, arch, t)) for t, k in zip("WIO", keepers))
                          for keepers in product((0, 1), repeat=3))
    assert alone < lower_bounds(wl, arch).energy <= best


def test_lower_bounds_count_each_word_crossing_the_fanouts_above_its_innermost_keeper():
    # DRAM / GLB over a 2-wide array (multicast, reduction, 20 fJ hops) over an RF keeping only W;
    # matmul P4 C3 K4, 48 MACs (1 fJ). W at the RF: 12 words read from DRAM, each crossing the array
    # once and filled once (12 x (200 + 20 + 2)) and 48 MAC reads: 2712. I and O can only be kept at
    # the GLB or DRAM and split the array (I's share times O's at most 2): I at the GLB alone,
    # 12 x 207 + 48 reads x 6 + 48 hops x 20 = 3732; O at the GLB with the array reducing by 2,
    # 16 first writes at DRAM x 210 + 24 updates x 7 + 16 drains x 6 + 48 hops x 20 = 4584. The
    # bound is 48 + 2712 + 3732 + 4584, below the enumerated optimum (11,132 fJ).
    arch = Arch(name="hops", levels=(dram(), Level("GLB", 8 * 1024, costs(6, 7, 8), frozenset("WIO")),
                                     Level("RF", 8 * 1024, costs(1, 2, 3), frozenset("W"))),
                fanouts=(Fanout("PE_array", "GLB", 2, 1, multicast=True, reduction=True, hop_energy=20),),
                compute=Compute(macs_per_pe=1, mac_energy=1))
    wl = make_workload(p=4, c=3, k=4, kind="matmul")
    best = _optimum(wl, arch)
    assert lower_bounds(wl, arch).energy == 48 + 2712 + 3732 + 4584 <= best


def test_lower_bounds_count_refetches_into_a_keeper_below_the_level_whose_capacity_forces_them():
    # DRAM / a 64-bit GLB keeping W and I (8 words) / an 8-bit RF keeping one W word; matmul P12 C1 K4
    # (W 4 words, I 12, O 48 at DRAM). Each tensor once: MACs 48 + O 48 x 210 + W 4 x (200 + 7 + 6 + 2)
    # and 48 RF reads + I 12 x (200 + 7) and 48 GLB reads = 13,808. The GLB cannot hold the whole W and
    # I: with W reused across the P loop above it (the cheap choice), I's tile leaves at most 8 - K_t
    # rows of P, and a W tile of more than one word does not fit the RF, so with every K in the GLB the
    # RF is refilled ceil(12 / 4) = 3 times: 2 x 4 words x (2 RF write + 6 GLB read) = 64 more. The
    # bound is then the optimum of the whole mapspace enumerated.
    arch = Arch(name="chain", levels=(dram(), Level("GLB", 64, costs(6, 7, 8, "WI"), frozenset("WI")),
                                      Level("RF", 8, costs(1, 2, 3, "W"), frozenset("W"))),
                fanouts=(), compute=Compute(macs_per_pe=1, mac_energy=1))
    wl = make_workload(p=12, c=1, k=4, kind="matmul")
    best = _optimum(wl, arch)
    assert lower_bounds(wl, arch).energy == 13_808 + 64 == best


def test_lower_bounds_share_only_factors_that_divide_a_dim():
    # DRAM / GLB over a 2x2 array (multicast, reduction) of bare MACs; matmul P3 C3 K3. No dim of 3 splits
    # over a 2-wide axis, so without padding no word is shared: that bound is above the one that lets
    # each tensor share the array (a dim padded to 4 splits 2 x 2), and each holds below the optimum of
    # its mapspace, both enumerated (192 unpadded mappings; 18,816 with padding).
    arch = _glb_over_array("odd", 2, 2)
    wl = make_workload(p=3, c=3, k=3, kind="matmul")
    best = _optimum(wl, arch)
    padded_best = _optimum(wl, arch, allow_padding=True)
    unpadded, padded = lower_bounds(wl, arch, padding=False).energy, lower_bounds(wl, arch).energy
    assert padded < unpadded <= best
    assert padded <= padded_best
