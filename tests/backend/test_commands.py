"""The stream a loop program expands to, buffer plan, loop nest and schedule.json on hand-built mappings."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from accelmap.arch.load import load_arch
from accelmap.backend import build_schedule, emit, execute
from accelmap.backend.outdir.buffers import check_plan, plan_buffers
from accelmap.backend.run.expand import stream_records
from accelmap.backend.present.loopnest import render_loopnest
from accelmap.backend.outdir.schedule import schedule_from_json
from accelmap.errors import ScheduleError
from accelmap.ir import run_graph
from accelmap.mapper.mapping import Loop, Mapping, SpatialLoops
from accelmap.mapper.model import evaluate

from .helpers import conv_graph, count_mismatches

NONE = SpatialLoops()


def loops(text: str) -> tuple[Loop, ...]:
    """'P3 K2' -> (Loop('P', 3), Loop('K', 2))."""
    return tuple(Loop(item[0], int(item[1:])) for item in text.split())


@pytest.fixture(scope="module")
def edge():
    return load_arch("edge_npu")


@pytest.fixture(scope="module")
def layer():
    """Conv K=2 C=2 P=6 Q=5 R=3 S=3 (input 8x7, no padding), integer valued."""
    return conv_graph(np.random.default_rng(5), n=1, groups=1, k=2, c=2, h=8, w=7, r=3, s=3, stride=(1, 1),
                      dilation=(1, 1), pads=(0, 0, 0, 0))


def run(graph, feeds, arch, mapping, tmp_path):
    """Emit, execute, check outputs and counts; return the records the loop program expands to."""
    (node,) = graph.layers()
    schedule = build_schedule(graph, arch, {node.name: mapping})
    out = emit(schedule, tmp_path / "out")
    result = execute(out, feeds)
    np.testing.assert_array_equal(result.outputs["y"], run_graph(graph, feeds)["y"])
    assert not count_mismatches(evaluate(node.workload, arch, mapping), result.layers[node.name], arch)
    plan = schedule.layer(node.name)
    return list(stream_records(out, node.name)), plan, result.layers[node.name]


def test_sliding_window_loads_only_new_rows(edge, layer, tmp_path):
    graph, feeds = layer
    mapping = Mapping(temporal=(loops("P3"), loops("K2 C2 P2 Q5 R3 S3"), ()), spatial=(NONE,),
                      keep=(frozenset("WIO"), frozenset("WIO"), frozenset()))
    records, plan, counts = run(graph, feeds, edge, mapping, tmp_path)
    rows = [r["region"][3] for r in records if r["op"] == "LOAD" and r["tensor"] == "I"]
    assert rows == [[0, 4], [4, 6], [6, 8]]          # the tile holds 4 rows; each P advance brings 2 new ones
    assert counts.tensors["I"].keeper.fills == 2 * 7 * (4 + 2 + 2)


def test_double_buffered_tiles_alternate_halves(edge, layer, tmp_path):
    graph, feeds = layer
    mapping = Mapping(temporal=(loops("C2 K2"), loops("P6 Q5 R3 S3"), ()), spatial=(NONE,),
                      keep=(frozenset("WIO"), frozenset("WIO"), frozenset()))
    records, plan, counts = run(graph, feeds, edge, mapping, tmp_path)
    halves = {e.tensor: [h.start_word for h in e.halves] for e in plan.buffers if e.level == "SRAM"}
    w_addrs = [r["addr"] for r in records if r["op"] == "LOAD" and r["tensor"] == "W"]
    assert w_addrs == [halves["W"][i % 2] for i in range(4)]
    # C outer, K inner: each output tile starts from zero and is stored, then read back and updated
    ops = [(r["op"], r.get("add")) for r in records if r.get("tensor") == "O"]
    assert ops == [("ZERO", None), ("STORE", False), ("ZERO", None), ("STORE", False), ("LOAD", None),
                   ("ACCUMULATE", False), ("LOAD", None), ("ACCUMULATE", False)]
    tile = 6 * 5
    # The read-back tiles hold the running sums, so their write-backs overwrite DRAM (no read there).
    o = counts.tensors["O"].dram
    assert (o.first_writes, o.overwrites, o.reads, o.rmw) == (2 * tile, 2 * tile, 2 * tile, 0)


def test_tensor_kept_nowhere_streams_to_the_macs(edge, layer, tmp_path):
    graph, feeds = layer
    mapping = Mapping(temporal=(loops("K2 C2 P6"), loops("Q5 R3 S3"), ()), spatial=(NONE,),
                      keep=(frozenset("WIO"), frozenset("WO"), frozenset()))
    records, _, counts = run(graph, feeds, edge, mapping, tmp_path)
    assert records[0]["tensors"]["I"]["level"] == "MAC"
    i_loads = [r for r in records if r["op"] == "LOAD" and r["tensor"] == "I"]
    assert all(np.prod([b - a for a, b in r["region"]]) == 1 for r in i_loads)
    assert counts.tensors["I"].dram.reads == graph.layers()[0].workload.macs


def test_spatial_reduction_merges_partial_sums(layer, tmp_path):
    graph, feeds = layer
    arch = load_arch("edge_npu")
    # C across the array's X axis, O kept in the RF below it: the two psums merge on the way up
    mapping = Mapping(temporal=(loops("K2 P6"), loops("Q5"), loops("R3 S3")), spatial=(SpatialLoops(x=loops("C2")),),
                      keep=(frozenset("WIO"), frozenset("WI"), frozenset("O")))
    records, _, counts = run(graph, feeds, arch, mapping, tmp_path)
    writes = [r for r in records if r["op"] in ("STORE", "ACCUMULATE")]
    assert writes and all(r["from"] == [None] for r in writes)
    assert counts.tensors["O"].writebacks == 2 * counts.tensors["O"].dram.updates


def test_without_multicast_or_reduction_each_child_moves_its_own_words(edge, layer, tmp_path):
    graph, feeds = layer
    arch = replace(edge, fanouts=tuple(replace(f, multicast=False, reduction=False) for f in edge.fanouts))
    # C on X, K on Y; I and O kept in the RFs below the array: each K child loads its own copy of the
    # inputs, and the two C children each write their own partial sums
    mapping = Mapping(temporal=(loops("P6"), loops("Q5"), loops("R3 S3")),
                      spatial=(SpatialLoops(x=loops("C2"), y=loops("K2")),),
                      keep=(frozenset("WIO"), frozenset("W"), frozenset("IO")))
    records, _, counts = run(graph, feeds, arch, mapping, tmp_path)
    first = [(r["op"], r["from"], r["add"]) for r in records if r["op"] in ("STORE", "ACCUMULATE")][:4]
    assert first == [("STORE", [0, 0], False), ("STORE", [0, 1], False),
                     ("ACCUMULATE", [1, 0], True), ("ACCUMULATE", [1, 1], True)]
    i_loads = [r["to"] for r in records if r["op"] == "LOAD" and r["tensor"] == "I"][:4]
    assert i_loads == [[0, 0], [0, 1], [1, 0], [1, 1]]     # the same input words, once per K child
    assert counts.tensors["O"].dram.updates == counts.tensors["O"].writebacks


def test_buffer_plan_widest_words_first_no_overlap():
    arch = load_arch("simba")
    graph, _ = conv_graph(np.random.default_rng(0), n=1, groups=1, k=4, c=4, h=6, w=6, r=3, s=3, stride=(1, 1),
                          dilation=(1, 1), pads=(1, 1, 1, 1))
    (node,) = graph.layers()
    mapping = Mapping(temporal=(loops("K2"), loops("C2"), loops("K2 C2 P6 Q6 R3 S3"), ()),
                      spatial=(NONE, NONE), keep=(frozenset("WIO"), frozenset("IO"), frozenset("WIO"), frozenset("W")))
    entries = plan_buffers(node.name, node.workload, mapping, arch)
    glb = {e.tensor: e for e in entries if e.level == "GlobalBuffer"}
    assert glb["O"].halves[0].start_bit == 0 and glb["O"].word_bits == 24
    assert glb["I"].halves[0].start_bit == glb["O"].halves[0].stop_bit
    assert {e.buffer for e in entries if e.level == "PE"} == {"weight_buffer", "input_buffer", "accumulation_buffer"}
    assert not check_plan(entries, node.workload, mapping, arch)


def test_buffer_plan_rejects_a_tile_that_does_not_fit(edge, layer):
    graph, _ = layer
    (node,) = graph.layers()
    mapping = Mapping(temporal=((), (), loops("K2 C2 P6 Q5 R3 S3")), spatial=(NONE,),
                      keep=(frozenset("WIO"), frozenset(), frozenset("WIO")))
    with pytest.raises(ScheduleError, match=r"layer 'block/conv': tiles at RF/RF need \d+ bits .* offers 512"):
        plan_buffers(node.name, node.workload, mapping, edge)


def test_schedule_json_round_trips(edge, layer):
    graph, _ = layer
    (node,) = graph.layers()
    mapping = Mapping(temporal=(loops("K2 C2"), loops("P6 Q5 R3 S3"), ()), spatial=(NONE,),
                      keep=(frozenset("WIO"), frozenset("WIO"), frozenset()))
    schedule = build_schedule(graph, edge, {node.name: mapping})
    doc = json.loads(json.dumps(schedule.to_json()))
    again = schedule_from_json(doc, graph.constants)
    assert again == schedule
    assert again.graph.node(node.name).layout == node.layout
    assert again.to_json() == doc


def test_loopnest_text_names_levels_loops_and_the_mac(edge, layer):
    graph, _ = layer
    (node,) = graph.layers()
    mapping = Mapping(temporal=(loops("P3"), loops("K2 C2 P2 Q5 R3 S3"), ()), spatial=(NONE,),
                      keep=(frozenset("WIO"), frozenset("WIO"), frozenset()))
    plan = build_schedule(graph, edge, {node.name: mapping}).layer(node.name)
    text = render_loopnest(plan, edge, "Conv")
    assert "[DRAM] keeps W I O" in text and "[SRAM] keeps W I O" in text and "[RF] keeps nothing" in text
    assert "for p0 in [0, 3)    # P step 2" in text
    assert "MAC at k=k1, c=c1, p=2*p0 + p1, q=q1, r=r1, s=s1" in text


def test_header_describes_keepers(edge, layer, tmp_path):
    graph, _ = layer
    (node,) = graph.layers()
    mapping = Mapping(temporal=(loops("K2 C2"), loops("P6 Q5 R3 S3"), ()), spatial=(NONE,),
                      keep=(frozenset("WIO"), frozenset("WIO"), frozenset()))
    out = emit(build_schedule(graph, edge, {node.name: mapping}), tmp_path / "out")
    records = list(stream_records(out, node.name))
    head, end = records[0], records[-1]
    assert head["op"] == "LAYER" and head["tensors"]["W"]["level"] == "SRAM"
    assert head["tensors"]["O"]["tile"] == [1, 1, 1, 6, 5] and len(head["tensors"]["O"]["addresses"]) == 2
    assert end == {"op": "END", "steps": 4}
