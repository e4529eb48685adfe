"""Putting OUTDIR in place: what --force may replace, no moment without an OUTDIR, leftovers of dead runs,
the umask, a full disk."""
from __future__ import annotations

import errno
import importlib
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from accelmap.backend import emit, load_schedule
from accelmap.backend.outdir import place
from accelmap.backend.outdir.schedule import Schedule
from accelmap.errors import OutputError, ScheduleError

EMIT_MODULE = importlib.import_module("accelmap.backend.outdir.emit")


def beside(out: Path) -> list[str]:
    """Hidden entries next to OUTDIR that belong to it (staging or moved-aside directories)."""
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def dead_pid() -> int:
    """The pid of a process that has ended."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def leftover(out: Path, kind: str, pid: int, start: int) -> Path:
    """A directory named as a run with `pid` started at `start` would name its staging or moved-aside OUTDIR."""
    path = out.with_name(f".{out.name}.{kind}-h{place._host()}-p{pid}-t{start}-0badc0de")
    path.mkdir()
    return path


def test_force_refuses_a_directory_that_is_not_an_outdir(cnn_schedule: Schedule, tmp_path: Path):
    userdata = tmp_path / "userdata"
    userdata.mkdir()
    (userdata / "thesis.txt").write_text("years of work")
    with pytest.raises(OutputError, match=rf"{userdata}: not an accelmap OUTDIR \(no schedule.json\) and not empty"):
        emit(cnn_schedule, userdata, force=True)
    assert (userdata / "thesis.txt").read_text() == "years of work"
    assert beside(userdata) == []


@pytest.mark.parametrize("kind", ["file", "symlink", "cwd", "parent of cwd"])
def test_force_refuses_files_links_and_the_current_directory(cnn_schedule, tmp_path, monkeypatch, kind):
    target = tmp_path / "target"
    if kind == "file":
        target.write_text("data")
        message = "exists and is not a directory"
    elif kind == "symlink":
        emit(cnn_schedule, tmp_path / "real")
        target.symlink_to(tmp_path / "real")
        message = "is a symbolic link"
    else:
        emit(cnn_schedule, target)
        monkeypatch.chdir(target if kind == "cwd" else target / "layers")
        message = r"is \(or contains\) the current directory"
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(OutputError, match=message):
        emit(cnn_schedule, target, force=True)
    assert sorted(os.listdir(tmp_path)) == before


def test_force_replaces_an_empty_directory_and_the_mode_follows_the_umask(cnn_schedule, tmp_path):
    out = tmp_path / "out"
    out.mkdir(mode=0o700)
    old = os.umask(0o022)
    try:
        emit(cnn_schedule, out, force=True)
    finally:
        os.umask(old)
    assert (out / "schedule.json").is_file() and beside(out) == []
    assert (out.stat().st_mode & 0o777, (out / "layers").stat().st_mode & 0o777) == (0o755, 0o755)
    assert (out / "schedule.json").stat().st_mode & 0o777 == 0o644


def test_a_parent_that_is_a_file_is_refused(cnn_schedule, tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError, match=r"afile is a file, not a directory"):
        emit(cnn_schedule, tmp_path / "afile" / "out")


def test_replacing_never_leaves_the_path_without_an_outdir(cnn_schedule, tmp_path):
    out = emit(cnn_schedule, tmp_path / "out")
    seen_missing, stop = [], threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if not (out / "schedule.json").is_file():
                seen_missing.append(True)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for _ in range(5):
            emit(cnn_schedule, out, force=True)
    finally:
        stop.set()
        watcher.join()
    assert seen_missing == [] and beside(out) == []


def test_without_the_atomic_exchange_the_rename_aside_replaces_too(cnn_schedule, tmp_path, monkeypatch):
    out = emit(cnn_schedule, tmp_path / "out")
    (out / "old-marker").write_text("old")
    monkeypatch.setattr(place, "_exchange", lambda a, b: False)
    emit(cnn_schedule, out, force=True)
    assert not (out / "old-marker").exists() and beside(out) == []
    load_schedule(out)


def test_leftovers_of_dead_runs_are_removed_and_live_ones_kept(cnn_schedule, tmp_path):
    out = tmp_path / "out"
    dead = [leftover(out, "staging", dead_pid(), 1), leftover(out, "staging", dead_pid(), 2)]
    reused = leftover(out, "staging", os.getpid(), place._start_time(os.getpid()) + 1)  # same pid, other start
    mine = leftover(out, "staging", os.getpid(), place._start_time(os.getpid()))
    foreign = out.with_name(f".{out.name}.staging-h00000000-p1-t1-00")  # another host: cannot prove anything
    foreign.mkdir()
    emit(cnn_schedule, out)
    assert not any(p.exists() for p in dead) and not reused.exists()
    assert mine.exists() and foreign.exists()


def test_a_swap_stopped_half_way_is_diagnosed_then_rolled_back(cnn_schedule, tmp_path):
    out = emit(cnn_schedule, tmp_path / "out")
    before = (out / "schedule.json").read_bytes()
    aside = leftover(out, "old", dead_pid(), 1)
    aside.rmdir()
    os.rename(out, aside)                     # the state a kill between the two renames leaves
    staged = leftover(out, "staging", dead_pid(), 1)
    with pytest.raises(ScheduleError, match=rf"stopped half-way: the previous OUTDIR is at {aside}"):
        load_schedule(out)
    with pytest.raises(OutputError, match="already exists"):  # the next compile puts the old one back first
        emit(cnn_schedule, out)
    assert (out / "schedule.json").read_bytes() == before
    assert not staged.exists() and beside(out) == []


@pytest.mark.parametrize("code, said", [(errno.ENOSPC, "the disk is full"),
                                        (errno.EDQUOT, "the disk quota is exceeded")])
def test_a_full_disk_keeps_the_old_outdir(cnn_schedule, tmp_path, monkeypatch, code, said):
    out = emit(cnn_schedule, tmp_path / "out")
    before = sorted(p.name for p in out.rglob("*"))

    def full(path, *args, **kwargs):
        raise OSError(code, os.strerror(code), str(path))

    monkeypatch.setattr(EMIT_MODULE, "write_program", full)
    with pytest.raises(OutputError, match=rf"cannot write {out}: {said} \(writing .*\); the previous OUTDIR at "
                                          rf"{out} is intact"):
        emit(cnn_schedule, out, force=True)
    assert sorted(p.name for p in out.rglob("*")) == before and beside(out) == []
    load_schedule(out)
