"""The result cache as untrusted input: entries not exactly what this version writes, or that the model
does not confirm, are ignored and rewritten; a cache that cannot be written turns itself off with one
warning; --no-cache touches nothing; concurrent writers of one key leave a whole entry."""
from __future__ import annotations

import errno
import json
import multiprocessing
import os
from pathlib import Path

import pytest

from accelmap.ir.workload import make_workload
from accelmap.mapper import cache as cache_module
from accelmap.mapper.cache import ResultCache, cache_key, entry
from accelmap.mapper.network import SolveSettings, map_graph
from accelmap.mapper.solve import map_workload
from .archs import small_arch
from .test_network import _repeated_blocks

SETTINGS = SolveSettings("energy", time_limit=20.0)
WORKLOAD = make_workload(k=4, c=4, p=3, q=3)


@pytest.fixture(scope="module")
def proved():
    """A proved result of a tiny layer, its key and the entry this version writes for it."""
    arch = small_arch("eyeriss_like")
    result = map_workload(WORKLOAD, arch, "energy", time_limit=20.0, workers=1)
    assert result.status == "OPTIMAL"
    key = cache_key(WORKLOAD, arch, SETTINGS)
    return arch, result, key, entry(key, result)


def _stored(directory: Path, key: str, text: str | bytes) -> ResultCache:
    directory.mkdir(exist_ok=True)
    path = directory / f"{key}.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return ResultCache(directory)


def test_an_exact_entry_is_used(proved, tmp_path):
    arch, result, key, doc = proved
    hit = _stored(tmp_path, key, json.dumps(doc)).get(key, WORKLOAD, arch, "energy")
    assert hit is not None and hit.mapping == result.mapping and hit.status == "OPTIMAL"
    assert hit.objective == hit.bound == result.objective


def test_a_lowered_bound_or_a_feasible_status_is_not_trusted_and_gets_rewritten(proved, tmp_path):
    arch, result, key, doc = proved
    for change in ({"bound": doc["bound"] // 2}, {"status": "FEASIBLE"}):
        cache = _stored(tmp_path, key, json.dumps({**doc, **change}))
        assert cache.get(key, WORKLOAD, arch, "energy") is None
    # End to end: a compile that meets such an entry solves the layer again and writes the entry afresh.
    from accelmap.frontend import load_model

    graph = load_model(_repeated_blocks())
    first = map_graph(graph, arch, SETTINGS, jobs=1, cache_dir=tmp_path / "net")
    files = sorted((tmp_path / "net").glob("*.json"))
    assert len(files) == 2
    good = [f.read_text() for f in files]
    for path in files:
        stored = json.loads(path.read_text())
        path.write_text(json.dumps({**stored, "bound": stored["objective"] - 1}))
    again = map_graph(graph, arch, SETTINGS, jobs=1, cache_dir=tmp_path / "net")
    assert again.cache_hits == 0
    assert all(r.status == "OPTIMAL" for r in again.results.values())
    assert {n: r.mapping for n, r in again.results.items()} == {n: r.mapping for n, r in first.results.items()}
    rewritten = [json.loads(f.read_text()) for f in files]
    assert [dict(d, wall_time=0.0) for d in rewritten] == [dict(json.loads(t), wall_time=0.0) for t in good]
    assert map_graph(graph, arch, SETTINGS, jobs=1, cache_dir=tmp_path / "net").cache_hits == 2


@pytest.mark.parametrize("code, said", [(errno.ENOSPC, "the disk is full"), (errno.EROFS, "Read-only file system")])
def test_a_cache_that_cannot_be_written_turns_off_with_one_warning(proved, tmp_path, monkeypatch, code, said):
    arch, result, key, _ = proved

    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(cache_module.os, "replace", refuse)  # fails after the temporary file is written
    cache = ResultCache(tmp_path / "cache")
    cache.put(key, result, WORKLOAD, arch)
    cache.put(key, result, WORKLOAD, arch)
    assert cache.directory is None and said in cache.warning and str(tmp_path / "cache") in cache.warning
    assert list((tmp_path / "cache").iterdir()) == []  # no temporary file left behind


def test_a_file_in_the_way_turns_the_cache_off_and_no_cache_touches_nothing(tmp_path, monkeypatch):
    from accelmap.frontend import load_model

    (tmp_path / "RO").write_text("a file")
    graph = load_model(_repeated_blocks(1))
    arch = small_arch("eyeriss_like")
    net = map_graph(graph, arch, SETTINGS, jobs=1, cache_dir=tmp_path / "RO" / "cache")
    assert len(net.warnings) == 1 and "Not a directory" in net.warnings[0]
    monkeypatch.setenv("ACCELMAP_CACHE", str(tmp_path / "default"))
    map_graph(graph, arch, SETTINGS, jobs=1, use_cache=False)
    assert not (tmp_path / "default").exists()


def _hammer(directory: str, key: str, result, arch, rounds: int) -> None:
    cache = ResultCache(Path(directory))
    for _ in range(rounds):
        cache.put(key, result, WORKLOAD, arch)


def test_concurrent_writers_of_one_key_leave_a_whole_entry(proved, tmp_path):
    arch, result, key, doc = proved
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_hammer, args=(str(tmp_path), key, result, arch, 150)) for _ in range(3)]
    for writer in writers:
        writer.start()
    reader, reads = ResultCache(tmp_path), 0
    while any(w.is_alive() for w in writers):
        if (tmp_path / f"{key}.json").exists():
            assert reader.get(key, WORKLOAD, arch, "energy") is not None  # never a torn entry
            reads += 1
    for writer in writers:
        writer.join()
        assert writer.exitcode == 0
    assert reads > 0 and sorted(p.name for p in tmp_path.iterdir()) == [f"{key}.json"]
    assert json.loads((tmp_path / f"{key}.json").read_text()) == doc


def test_another_workload_under_the_key_is_refused(proved, tmp_path):
    arch, result, key, doc = proved
    other = make_workload(k=2, c=4, p=3, q=3)
    assert _stored(tmp_path, key, json.dumps(doc)).get(key, other, arch, "energy") is None
