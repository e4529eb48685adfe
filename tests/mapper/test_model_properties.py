"""Properties of the cost model over random small workloads x uniformly sampled valid mappings.

Run on the hand-built archs and on every bundled preset (and dataflow example).
"""
from __future__ import annotations

import random
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from accelmap.api import load_model
from accelmap.arch.load import PRESET_DIR, load_arch
from accelmap.interop.timeloop import import_timeloop_design
from accelmap.ir.workload import Workload, make_workload
from accelmap.mapper.mapping import Mapping
from accelmap.mapper.mapspace import Mapspace
from accelmap.mapper.bounds import lower_bounds
from accelmap.mapper.model import evaluate, touched_input_words

from . import archs

ARCH_NAMES = (sorted(archs.ALL) + sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))
              + sorted(f"dataflows/{p.stem}" for p in (PRESET_DIR / "dataflows").glob("*.yaml")))
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@lru_cache(maxsize=None)
def arch_named(name: str):
    """A test arch or a preset (dataflow examples by path)."""
    if name in archs.ALL:
        return archs.ALL[name]()
    if name.startswith("dataflows/"):
        return load_arch(PRESET_DIR / f"{name}.yaml")
    return load_arch(name)


IMPORTED = ("eyeriss_ispass", "eyeriss_ispass:free", "simba_like", "simple_ws:free", "simple_os")
"""Timeloop exercise designs (tests/timeloop/fixtures) with Timeloop's accounting; ":free" without constraints."""
FIXTURES = Path(__file__).parents[1] / "timeloop" / "fixtures"


@lru_cache(maxsize=None)
def imported(name: str):
    """A fixture design imported with Timeloop's accounting, with its constraints unless ":free"."""
    design, _, free = name.partition(":")
    folder = FIXTURES / design
    art = folder / "ART.yaml"
    return import_timeloop_design(folder / "arch.yaml", folder / "ERT.yaml",
                                  art_yaml_path=art if art.is_file() else None,
                                  constraints=() if free else (folder / "constraints.yaml",),
                                  timeloop_accounting=True).arch


@lru_cache(maxsize=256)
def mapspace(workload: Workload, name: str, padding: bool) -> Mapspace:
    """Cached so repeated examples reuse the counts."""
    return Mapspace(workload, arch_named(name), allow_padding=padding)


def workloads(small: bool):
    """Random small conv / matmul layers; `small` ones (few paddable dims) for padded mapspaces."""
    pick = st.sampled_from
    if small:
        return st.builds(lambda k, p, r, stride: make_workload(k=k, p=p, r=r, stride=(stride, 1)),
                         k=pick([1, 2, 3, 4]), p=pick([1, 2, 3, 5]), r=pick([1, 2, 3]), stride=pick([1, 2]))
    return st.builds(
        lambda n, k, c, p, q, r, s, stride: make_workload(n=n, k=k, c=c, p=p, q=q, r=r, s=s,
                                                          stride=(stride, stride)),
        n=pick([1, 2]), k=pick([1, 2, 3, 4, 6]), c=pick([1, 2, 3, 4]), p=pick([1, 2, 3, 4, 6]),
        q=pick([1, 2, 3]), r=pick([1, 2, 3]), s=pick([1, 3]), stride=pick([1, 1, 2]))


@st.composite
def cases(draw):
    """(workload, arch, a uniformly drawn valid mapping); a quarter of them with padding allowed."""
    padding = draw(st.integers(0, 3)) == 0
    workload = draw(workloads(small=padding))
    name = draw(st.sampled_from(ARCH_NAMES))
    space = mapspace(workload, name, padding)
    assume(space.size() > 0)
    return workload, arch_named(name), space.sample(random.Random(draw(st.integers(0, 2**32))))


def with_level(mapping: Mapping, i: int, loops: tuple) -> Mapping:
    """`mapping` with level i's temporal loops replaced."""
    temporal = list(mapping.temporal)
    temporal[i] = tuple(loops)
    return replace(mapping, temporal=tuple(temporal))


@SETTINGS
@given(cases())
def test_counts_respect_lower_bounds(case):
    workload, arch, mapping = case
    cost = evaluate(workload, arch, mapping)
    dram = cost.traffic[0]
    assert dram["W"].reads >= workload.tensor_words("W")
    assert dram["I"].reads >= touched_input_words(workload)
    padded = replace(workload, bounds=tuple(mapping.bounds(workload.dims).items()))
    assert dram["O"].first_writes == padded.tensor_words("O")
    bounds = lower_bounds(workload, arch, padding=bool(mapping.padded))
    assert cost.energy >= bounds.energy and cost.cycles >= bounds.cycles
    assert cost.macs == padded.macs and cost.real_macs == workload.macs
    for level in cost.traffic:
        for traffic in level.values():
            for count in (traffic.fills, traffic.reads, traffic.updates, traffic.first_writes,
                          traffic.overwrites, traffic.rmw):
                assert count >= 0 and count % traffic.instances == 0


@SETTINGS
@given(workloads(small=False), st.sampled_from(IMPORTED), st.integers(0, 2**32))
def test_lower_bounds_hold_on_imported_designs(workload, name, seed):
    # Deep hierarchies, forced keeps and bypasses, Timeloop's accounting (free psum writes, no drain reads).
    arch = imported(name)
    space = Mapspace(workload, arch)
    assume(space.size() > 0)
    cost = evaluate(workload, arch, space.sample(random.Random(seed)))
    assert cost.energy >= lower_bounds(workload, arch, padding=False).energy


@pytest.mark.slow
@pytest.mark.parametrize("model", ["resnet50", "mobilenetv2", "bert_base"])
def test_lower_bounds_hold_on_full_size_layers(model):
    # Every unique layer, every preset and imported design, uniformly sampled mappings (2026-12-06: the
    # closest of 20 per pair came within 0.6% of the bound, on eyeriss_like).
    graph = load_model(model)
    names = [p.stem for p in PRESET_DIR.glob("*.yaml")]
    targets = [load_arch(n) for n in names] + [imported(n) for n in IMPORTED]
    rng = random.Random(0)
    for nodes in graph.unique_workloads().values():
        workload = nodes[0].workload
        for arch in targets:
            space = Mapspace(workload, arch)
            if space.size():
                bound = lower_bounds(workload, arch, padding=False).energy
                assert all(evaluate(workload, arch, space.sample(rng)).energy >= bound for _ in range(10))


@SETTINGS
@given(cases())
def test_pricing_is_the_sum_of_its_terms(case):
    workload, arch, mapping = case
    cost = evaluate(workload, arch, mapping)
    total = cost.compute_energy + sum(cost.fanout_energy)
    for level, traffic in zip(arch.levels, cost.traffic):
        for t, tr in traffic.items():
            e = level.tensors[t]
            total += tr.reads * e.read_energy + (tr.fills + tr.first_writes + tr.overwrites) * e.write_energy \
                + tr.rmw * e.update_energy
    assert cost.energy == total
    assert cost.fanout_energy == tuple(f.hop_energy * sum(ft.deliveries.values())
                                       for f, ft in zip(arch.fanouts, cost.fanouts))


@SETTINGS
@given(cases())
def test_swapping_two_irrelevant_loops_changes_nothing_for_that_tensor(case):
    workload, arch, mapping = case
    cost = evaluate(workload, arch, mapping)
    for t in "WIO":
        relevant = workload.relevant(t)
        for i, loops in enumerate(mapping.temporal):
            for pos in range(len(loops) - 1):
                if loops[pos].dim in relevant or loops[pos + 1].dim in relevant:
                    continue
                swapped = list(loops)
                swapped[pos], swapped[pos + 1] = swapped[pos + 1], swapped[pos]
                other = evaluate(workload, arch, with_level(mapping, i, swapped))
                assert [lv.get(t) for lv in other.traffic] == [lv.get(t) for lv in cost.traffic]
                assert [f.deliveries[t] for f in other.fanouts] == [f.deliveries[t] for f in cost.fanouts]


@SETTINGS
@given(cases())
def test_irrelevant_loop_moved_outward_never_lowers_fills(case):
    # Moving an irrelevant loop out past a relevant one (the relevant loop moves inward)
    # takes reuse away. The converse is not a property: moving a relevant loop outward past an
    # irrelevant one puts the irrelevant loop inside it, which is reuse, so fills drop.
    workload, arch, mapping = case
    cost = evaluate(workload, arch, mapping)
    for t in "WIO":
        relevant = workload.relevant(t)
        for i, loops in enumerate(mapping.temporal):
            for pos in range(len(loops) - 1):
                if not (loops[pos].dim in relevant and loops[pos + 1].dim not in relevant):
                    continue
                swapped = list(loops)
                swapped[pos], swapped[pos + 1] = swapped[pos + 1], swapped[pos]
                other = evaluate(workload, arch, with_level(mapping, i, swapped))
                for before, after in zip(cost.traffic, other.traffic):
                    if t in before:
                        assert after[t].fills >= before[t].fills


@SETTINGS
@given(cases())
def test_relevant_loop_moved_out_of_the_keeper_never_lowers_its_fills(case):
    # A relevant loop of keeper i's own level moved to the innermost place above it: the tile
    # shrinks by the factor and is refetched once per iteration, so fills of i cannot drop.
    # For I this needs stride 1: with stride > filter extent the larger tile's box counts rows
    # no MAC reads (docs/cost-model.md, Tiles), and the smaller tiles skip them.
    workload, arch, mapping = case
    cost = evaluate(workload, arch, mapping)
    for t in "WIO":
        if t == "I" and workload.stride != (1, 1):
            continue
        relevant = workload.relevant(t)
        for i in range(1, len(arch.levels)):
            if t not in mapping.keep[i]:
                continue
            for loop in mapping.temporal[i]:
                if loop.dim not in relevant or any(o.dim == loop.dim for o in mapping.temporal[i - 1]):
                    continue
                moved = with_level(mapping, i, tuple(o for o in mapping.temporal[i] if o is not loop))
                moved = with_level(moved, i - 1, mapping.temporal[i - 1] + (loop,))
                other = evaluate(workload, arch, moved)
                assert other.traffic[i][t].fills >= cost.traffic[i][t].fills


@SETTINGS
@given(cases())
def test_tiles_are_the_workloads(case):
    workload, arch, mapping = case
    cost = evaluate(workload, arch, mapping)
    bounds = mapping.bounds(workload.dims)
    inside = dict.fromkeys(bounds, 1)
    for i in range(len(arch.levels) - 1, -1, -1):
        fanout = arch.fanout_below(i)
        if fanout is not None:
            for loop in mapping.spatial[arch.fanouts.index(fanout)].loops:
                inside[loop.dim] *= loop.factor
        for loop in mapping.temporal[i]:
            inside[loop.dim] *= loop.factor
        for t, traffic in cost.traffic[i].items():
            assert traffic.tile_words == workload.tile_words(t, inside)
    assert inside == bounds
