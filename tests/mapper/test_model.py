"""The cost model against hand derivations (docs/cost-model.md), rule by rule.

Energies of the test archs (tests/mapper/archs.py), in fJ per word:
DRAM read/write/update 200/210/220, GLB 6/7/8, RF 1/2/3, hop 2 (3 on
`two_fanouts`' rows), MAC 1. DRAM bandwidth 1.5 words/cycle read, 2 write;
GLB 16 / 16 on `three_level`; RF unlimited.
"""
from __future__ import annotations

import pytest

from accelmap.errors import MappingError
from accelmap.ir.workload import make_workload
from accelmap.mapper.mapping import Loop, Mapping, SpatialLoops
from accelmap.mapper.model import Traffic, check_fits, evaluate, host_op_cost, score, touched_input_words
from accelmap.mapper.validity import check_mapping

from .archs import partitioned, three_level, two_fanouts


def loops(text: str) -> tuple[Loop, ...]:
    """'K2 P2' -> (Loop('K', 2), Loop('P', 2))."""
    return tuple(Loop(item[0], int(item[1:])) for item in text.split())


def mapping(temporal: list[str], spatial: list[tuple[str, str]], keep: list[str]) -> Mapping:
    """A Mapping from compact text: loops per level, (X, Y) per fanout, kept tensors per level."""
    return Mapping(temporal=tuple(loops(t) for t in temporal),
                   spatial=tuple(SpatialLoops(loops(x), loops(y)) for x, y in spatial),
                   keep=tuple(frozenset(k) for k in keep))


def counts(traffic: Traffic) -> tuple[int, int, int, int, int]:
    """(fills, reads, updates, first_writes, rmw)."""
    return traffic.fills, traffic.reads, traffic.updates, traffic.first_writes, traffic.rmw


def test_output_stationary_matmul():
    # Matmul M=8 (P), Kr=6 (C), Nc=8 (K): 384 MACs.
    # DRAM(WIO)[K2 P2] | GLB(WI)[] | PE_array X[K4] Y[P4] | RF(O)[C6]; 16 RF instances.
    # O at RF: tile K1 P1 = 1 word. Loops above: K2 P2, both O-relevant: j* = P2,
    #   residencies 4 = distinct 4 -> fills (4-4)*1*16 = 0; first writes 4*1*16 = 64;
    #   write-backs 4*1*16 = 64 (RF reads) -> DRAM updates 64 (no C/R/S across the array).
    #   MAC updates 384 (no reduction: nothing O-irrelevant below RF); rmw 384 - 64 = 320.
    #   DRAM: first writes = output size 64, rmw 0.
    # W at GLB: tile K4 C6 = 24. Above: K2 P2, W-relevant only K2 = j* (outermost):
    #   residencies 2 -> fills 48 = DRAM reads 48. MACs read W at GLB through the array,
    #   multicast over P4 (W-irrelevant): 384/4 = 96 GLB reads.
    # I at GLB: tile C6 x rows P4 = 24. Above: K2 P2, j* = P2 (sliding window): starts 2
    #   (K2 outside), window shift = 1 * 4 rows = whole extent 4 -> fills 2*(24 + 1*24) = 96,
    #   DRAM reads 96. MACs: 384 / 4 (multicast over K4) = 96 GLB reads.
    # Deliveries through PE_array: W 384, I 384 (MAC operands), O 64 (write-backs).
    arch = three_level()
    wl = make_workload(p=8, c=6, k=8, kind="matmul")
    m = mapping(["K2 P2", "", "C6"], [("K4", "P4")], ["WIO", "WI", "O"])
    assert check_mapping(wl, arch, m) == []
    cost = evaluate(wl, arch, m)
    dram, glb, rf = cost.traffic
    assert counts(dram["W"]) == (0, 48, 0, 0, 0)
    assert counts(dram["I"]) == (0, 96, 0, 0, 0)
    assert counts(dram["O"]) == (0, 0, 64, 64, 0)
    assert counts(glb["W"]) == (48, 96, 0, 0, 0) and glb["W"].tile_words == 24
    assert counts(glb["I"]) == (96, 96, 0, 0, 0) and glb["I"].tile_words == 24
    assert set(glb) == {"W", "I"} and set(rf) == {"O"}
    assert counts(rf["O"]) == (0, 64, 384, 64, 320)
    assert rf["O"].instances == 16
    assert counts(rf["O"].per_instance()) == (0, 4, 24, 4, 20) and rf["O"].per_instance().instances == 1
    (array,) = cost.fanouts
    assert array.deliveries == {"W": 384, "I": 384, "O": 64}
    assert array.multicast == {"W": 4, "I": 4, "O": 1} and array.reduction == 1 and array.used == 16
    # Energy: DRAM 48*200 + 96*200 + 64*210 = 42240; GLB W 96*6 + 48*7 = 912, I 96*6 + 96*7 = 1248;
    # RF O 64*1 + 64*2 + 320*3 = 1152; hops 2*(384+384+64) = 1664; MACs 384.
    assert cost.level_energy == ({"W": 9600, "I": 19200, "O": 13440}, {"W": 912, "I": 1248}, {"O": 1152})
    assert cost.fanout_energy == (1664,) and cost.compute_energy == 384
    assert cost.energy == 42240 + 912 + 1248 + 1152 + 1664 + 384 == 47600
    # Cycles: compute 2*2*6 = 24; DRAM reads 144/1.5 = 96, writes 64/2 = 32; GLB 192/16 = 12.
    assert (cost.compute_cycles, cost.level_cycles, cost.cycles) == (24, (96, 12, 0), 96)
    assert cost.utilisation == 384 / (96 * 16)
    assert (score(cost, "energy"), score(cost, "latency"), score(cost, "edp")) == (47600, 96, 47600 * 96)


def test_output_stationary_swapped_order_refetches_weights():
    # DRAM[P2 K2]: now K2 is innermost. W: j* = K2 with P2 outside -> residencies 4, fills 96.
    # I: j* = P2 outermost, residencies 2, starts 1 -> fills 1*(24 + 24) = 48 = the input once.
    arch = three_level()
    wl = make_workload(p=8, c=6, k=8, kind="matmul")
    cost = evaluate(wl, arch, mapping(["P2 K2", "", "C6"], [("K4", "P4")], ["WIO", "WI", "O"]))
    assert cost.traffic[1]["W"].fills == 96 and cost.traffic[0]["W"].reads == 96
    assert cost.traffic[1]["I"].fills == 48 and cost.traffic[0]["I"].reads == 48


def test_weight_stationary_conv_with_halos():
    # Conv K=2 C=2 P=4 Q=2 R=3 S=3, stride 1: 288 MACs; input 2 x 6 x 4 = 48 words.
    # DRAM(WIO)[P2] | GLB(IO)[P2 Q2] | X[K2] Y[C2] | RF(WI)[R3 S3]; 4 RF instances.
    # W at RF: tile R3 S3 = 9; every loop above is W-irrelevant -> 1 residency, fills 9*4 = 36,
    #   from DRAM (GLB bypasses W), no multicast (K, C both W-relevant): DRAM reads 36.
    #   MACs read 288 at RF.
    # I at GLB: tile C2, rows (2-1)+(3-1)+1 = 4, cols 4 -> 32. Above: DRAM P2 = j*; the window
    #   shifts by 1 * (P factors inside: 2) = 2 of 4 rows -> 16 new words per advance:
    #   fills 1*(32 + 1*16) = 48 = the input once = DRAM reads 48.
    # I at RF: tile C1, rows 3, cols 3 -> 9. Above: P2 | P2 Q2, j* = Q2 (starts 2*2 = 4); the
    #   window shifts 1 * 1 column of 3 -> 3 new words: fills 4*(9 + 1*3) = 48 per PE, 192 total;
    #   multicast over K2 -> GLB reads 96. MACs read 288 at RF.
    # O at GLB: tile K2 P2 Q2 = 8. j* = DRAM P2, residencies 2 = distinct: fills 0,
    #   first writes 16, write-backs 16 -> DRAM updates 16 = first writes (output 2*4*2).
    #   MAC updates cross the array reduced over C2: 288/2 = 144 at GLB, rmw 144 - 16 = 128.
    # Deliveries: W 36, I 192 (child fills), O 288 (MAC updates before reduction).
    arch = three_level()
    wl = make_workload(k=2, c=2, p=4, q=2, r=3, s=3)
    m = mapping(["P2", "P2 Q2", "R3 S3"], [("K2", "C2")], ["WIO", "IO", "WI"])
    assert check_mapping(wl, arch, m) == []
    cost = evaluate(wl, arch, m)
    dram, glb, rf = cost.traffic
    assert counts(dram["W"]) == (0, 36, 0, 0, 0)
    assert counts(dram["I"]) == (0, 48, 0, 0, 0)
    assert counts(dram["O"]) == (0, 0, 16, 16, 0)
    assert counts(glb["I"]) == (48, 96, 0, 0, 0) and glb["I"].tile_words == 32
    assert counts(glb["O"]) == (0, 16, 144, 16, 128) and glb["O"].tile_words == 8
    assert counts(rf["W"]) == (36, 288, 0, 0, 0) and rf["W"].tile_words == 9
    assert counts(rf["I"]) == (192, 288, 0, 0, 0) and rf["I"].per_instance().fills == 48
    assert cost.fanouts[0].deliveries == {"W": 36, "I": 192, "O": 288}
    # multicast per tensor = its irrelevant spatial factors (O's would serve read-back fills).
    assert cost.fanouts[0].multicast == {"W": 1, "I": 2, "O": 2} and cost.fanouts[0].reduction == 2
    # Energy: DRAM 36*200 + 48*200 + 16*210 = 20160; GLB I 96*6 + 48*7 = 912,
    # O 16*6 + 16*7 + 128*8 = 1232; RF W 288 + 36*2 = 360, I 288 + 192*2 = 672;
    # hops 2*516 = 1032; MACs 288.
    assert cost.energy == 20160 + 912 + 1232 + 360 + 672 + 1032 + 288 == 24656
    # Cycles: compute 2*2*2*3*3 = 72; DRAM reads 84/1.5 = 56; GLB (96+16+128)/16 = 15.
    assert (cost.compute_cycles, cost.level_cycles, cost.cycles) == (72, (56, 15, 0), 72)


def test_strided_window_fetches_only_touched_rows():
    # Conv P=4, R=1, stride 2: the input has 7 rows, only rows 0, 2, 4, 6 are read.
    # GLB(I) tile: P1 -> 1 row. DRAM[P4] = j*: shift 2*1 = 2 > extent 1, so each advance
    # fetches the whole 1-row tile: 1 + 3*1 = 4 rows, the touched ones.
    arch = three_level()
    wl = make_workload(p=4, stride=(2, 1))
    cost = evaluate(wl, arch, mapping(["P4", "", ""], [("", "")], ["WIO", "I", ""]))
    assert cost.traffic[1]["I"].fills == 4 == touched_input_words(wl)
    assert wl.tensor_words("I") == 7


def test_everything_in_dram():
    # Matmul P=4 C=3 K=2: 24 MACs, every loop at DRAM, no on-chip keeper.
    # MACs read W and I from DRAM: 24 each (no spatial loops: no multicast); O: 24 updates,
    # 8 first writes (the output), 16 rmw. Each operand and update crosses the array: 72 hops.
    # Energy: 24*200 + 24*200 + 8*210 + 16*220 = 14800; hops 144; MACs 24.
    # Cycles: compute 24; DRAM reads (48 + 16 rmw)/1.5 -> 43; writes 24/2 = 12.
    arch = three_level()
    wl = make_workload(p=4, c=3, k=2, kind="matmul")
    m = mapping(["K2 P4 C3", "", ""], [("", "")], ["WIO", "", ""])
    assert check_mapping(wl, arch, m) == []
    cost = evaluate(wl, arch, m)
    dram = cost.traffic[0]
    assert counts(dram["W"]) == (0, 24, 0, 0, 0) and counts(dram["I"]) == (0, 24, 0, 0, 0)
    assert counts(dram["O"]) == (0, 0, 24, 8, 16)
    assert cost.traffic[1] == {} and cost.traffic[2] == {}
    assert cost.energy == 14800 + 144 + 24
    assert cost.cycles == 43


def test_two_fanouts_and_a_bufferless_level():
    # Matmul K=2 C=2 P=2 (8 MACs) on two_fanouts: DRAM | GLB | columns (X=2, multicast, no
    # reduction, hop 2) | column (no storage) | rows (Y=2, no multicast, reduction, hop 3) | RF;
    # 2 MACs per PE. Mapping: GLB(WIO) | X[K2] | Y[C2] | RF(WI)[P2]: 4 RF instances.
    # No temporal loop above GLB or RF: one residency everywhere.
    # W: GLB fills 4 (DRAM reads 4). RF fills 1*4 = 4; rows pass 4 (deliveries 4, no multicast),
    #   columns pass 4 (deliveries 4; K is W-relevant, no sharing) -> GLB reads 4. MACs 8 at RF.
    # I: GLB fills 4. RF tile: 2 rows -> fills 8; rows deliver 8, columns deliver 8 and
    #   multicast over K2 -> GLB reads 4. MACs 8 at RF.
    # O kept at GLB only: MAC updates 8 cross rows (deliveries 8, reduced over C2 -> 4) and
    #   columns (deliveries 4, no reduction) -> GLB updates 4 = first writes (tile 4), rmw 0;
    #   write-back 4 -> DRAM updates 4 = first writes.
    arch = two_fanouts()
    wl = make_workload(k=2, c=2, p=2, kind="matmul")
    m = mapping(["", "", "", "P2"], [("K2", ""), ("", "C2")], ["WIO", "WIO", "", "WI"])
    assert check_mapping(wl, arch, m) == []
    cost = evaluate(wl, arch, m)
    dram, glb, column, rf = cost.traffic
    assert column == {}
    assert (dram["W"].reads, dram["I"].reads, dram["O"].updates, dram["O"].first_writes) == (4, 4, 4, 4)
    assert counts(glb["W"]) == (4, 4, 0, 0, 0) and counts(glb["I"]) == (4, 4, 0, 0, 0)
    assert counts(glb["O"]) == (0, 4, 4, 4, 0)
    assert counts(rf["W"]) == (4, 8, 0, 0, 0) and counts(rf["I"]) == (8, 8, 0, 0, 0)
    columns, rows = cost.fanouts
    assert columns.deliveries == {"W": 4, "I": 8, "O": 4} and columns.multicast["I"] == 2
    assert rows.deliveries == {"W": 4, "I": 8, "O": 8} and rows.reduction == 2
    # Energy: DRAM 800 + 800 + 4*210 = 2440; GLB 3 x (4*6 + 4*7) = 156; RF W 8 + 4*2, I 8 + 8*2;
    # hops 2*16 + 3*20 = 92; MACs 8.
    assert cost.fanout_energy == (32, 60)
    assert cost.energy == 2440 + 156 + 16 + 24 + 92 + 8 == 2736
    # Cycles: compute 2 temporal iterations / 2 MACs per PE = 1; DRAM reads 8/1.5 -> 6.
    assert (cost.compute_cycles, cost.cycles) == (1, 6)
    assert cost.utilisation == 8 / (6 * 4 * 2)


def test_tile_words_match_the_workload():
    wl = make_workload(n=2, k=3, c=2, p=5, q=4, r=3, s=2, stride=(2, 1), dilation=(1, 2))
    arch = three_level(glb_bits=1 << 30)
    m = mapping(["N2 P5", "K3 Q2", "C2 R3 S2"], [("Q2", "")], ["WIO", "WIO", "WIO"])
    cost = evaluate(wl, arch, m)
    for i, tile in enumerate(({d: b for d, b in wl.bounds},
                              {"K": 3, "Q": 4, "C": 2, "R": 3, "S": 2},
                              {"C": 2, "R": 3, "S": 2})):
        for t in "WIO":
            assert cost.traffic[i][t].tile_words == wl.tile_words(t, tile)


def test_check_fits_names_level_tensor_need_and_have():
    # Partitioned PE: ifmap_spad has 12 words x 8 bits = 96 bits; an I tile of C2 x rows 3 (R3)
    # x cols 5 (Q3 S3) = 30 words needs 240. The GLB is double-buffered: 2048 bits offer 1024;
    # its I tile C2 x 10 rows (P8 R3) x 5 cols = 100 words (800 bits) and O tile P8 Q3 = 24 words
    # of 16 bits (384) share them: 1184 bits.
    arch = partitioned()
    wl = make_workload(c=2, p=8, q=3, r=3, s=3)
    m = mapping(["P8", "", "C2 Q3 R3 S3"], [("", "")], ["WIO", "IO", "I"])
    with pytest.raises(MappingError) as err:
        check_fits(wl, arch, m)
    assert err.value.problems == ["level PE: tensor I needs 240 bits, partition ifmap_spad has 96"]
    big = mapping(["", "P8", "Q3 R3 S3"], [("C2", "")], ["WIO", "IO", ""])
    with pytest.raises(MappingError, match=r"level GLB: tensor I, O needs 1184 bits, the level has 1024 "
                                           r"\(half, double-buffered\)"):
        check_fits(wl, arch, big)


def test_host_op_cost_streams_through_dram():
    # 100 words in at 200 fJ, 50 out at 210 fJ; 100/1.5 -> 67 read cycles, 50/2 = 25 write.
    cost = host_op_cost(100, 50, three_level())
    assert (cost.energy, cost.cycles) == (100 * 200 + 50 * 210, 67)


def test_unknown_objective():
    cost = evaluate(make_workload(k=2), three_level(), mapping(["K2", "", ""], [("", "")], ["WIO", "", ""]))
    with pytest.raises(ValueError, match="objectives are energy, latency, edp"):
        score(cost, "power")
