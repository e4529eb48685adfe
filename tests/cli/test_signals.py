"""Real signals sent to a real `accelmap compile`: SIGINT (once or over and over, to the whole process
group as a terminal sends it), SIGTERM, SIGHUP and SIGKILL, during solves and while OUTDIR is written, and a
kill between the two renames of a --force replacement. Each ends promptly with the documented code, no
worker left running, nothing half-written, a previous OUTDIR intact."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from accelmap.cli import main

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process state from /proc")

SLOW_COMPILE = ["compile", "resnet18_w8", "--arch", "eyeriss", "--time-limit", "20", "--no-cache", "--quiet"]
"""A compile whose solves each run for seconds (so a signal lands in the middle of one)."""

PROMPT = 5.0
"""Seconds from the signal to the exit, on a busy shared machine; a solve not stopped would take up to 20."""

WRITE_HOOK = """
import sys, time
from accelmap.backend.outdir import emit
real = emit._write_files
def slow(*args, **kwargs):
    real(*args, **kwargs)
    print("writing", flush=True)
    time.sleep(60)
emit._write_files = slow
from accelmap.cli import main_entry
sys.argv = ["accelmap", *sys.argv[1:]]
main_entry()
"""
"""`accelmap` with a pause after OUTDIR's files are staged, before they are put in place."""

RENAME_HOOK = """
import os, signal, sys
from accelmap.backend.outdir import place
place._exchange = lambda a, b: False   # as on a system without renameat2
real = os.rename
def rename(src, dst):
    if ".staging-" in str(src) and not os.path.basename(str(dst)).startswith("."):
        os.kill(os.getpid(), signal.SIGKILL)
    return real(src, dst)
os.rename = rename
from accelmap.cli import main_entry
sys.argv = ["accelmap", *sys.argv[1:]]
main_entry()
"""
"""`accelmap` killed between moving the old OUTDIR aside and renaming the new one in."""


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "ACCELMAP_CACHE": str(tmp_path / "cache")}


def _start(tmp_path: Path, args: list[str], hook: str | None = None,
           env: dict[str, str] | None = None) -> subprocess.Popen:
    command = [sys.executable, "-c", hook, *args] if hook else [sys.executable, "-m", "accelmap", *args]
    return subprocess.Popen(command, cwd=tmp_path, env={**_env(tmp_path), **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _children(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is `pid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _wait_for(condition, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def _solving(proc: subprocess.Popen) -> list[int]:
    """Wait until the compile has solver workers running; their pids."""
    _wait_for(lambda: bool(_children(proc.pid)) or proc.poll() is not None)
    assert proc.poll() is None, proc.communicate()
    return _children(proc.pid)


def _leftovers(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".OUT."))


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143),
                                          pytest.param(signal.SIGHUP, 129, marks=pytest.mark.slow)])
def test_sigterm_and_sighup_end_a_compile_like_ctrl_c(tmp_path, signum, code):
    proc = _start(tmp_path, [*SLOW_COMPILE, "-o", "OUT", "--jobs", "2"])
    workers = _solving(proc)
    sent = time.monotonic()
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert time.monotonic() - sent < PROMPT
    assert err.strip() == f"interrupted ({signal.Signals(signum).name}); nothing was written"
    assert not any(_alive(pid) for pid in workers)
    assert not (tmp_path / "OUT").exists() and _leftovers(tmp_path) == []


@pytest.mark.parametrize("jobs", ["1", pytest.param("2", marks=pytest.mark.slow)])
def test_ctrl_c_pressed_again_and_again_stops_within_a_second_or_two(tmp_path, jobs):
    proc = _start(tmp_path, [*SLOW_COMPILE, "-o", "OUT", "--jobs", jobs])
    workers = _solving(proc)
    sent = time.monotonic()
    for _ in range(5):  # as a terminal does: to the whole process group, workers included
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        time.sleep(0.1)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err  # not swallowed by CP-SAT's own SIGINT handling
    assert time.monotonic() - sent < PROMPT
    assert "Traceback" not in err and err.strip() == "interrupted (SIGINT); nothing was written"
    assert not any(_alive(pid) for pid in workers)
    assert not (tmp_path / "OUT").exists() and _leftovers(tmp_path) == []


def test_workers_end_soon_after_the_compile_is_killed(tmp_path):
    """...and remove their scratch folders (their standard error), which the killed compile cannot."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc = _start(tmp_path, [*SLOW_COMPILE, "-o", "OUT", "--jobs", "2"], env={"TMPDIR": str(scratch)})
    workers = _solving(proc)
    folders = lambda: list(scratch.glob("accelmap-worker-*"))  # noqa: E731
    _wait_for(lambda: len(folders()) == 2)
    proc.kill()
    proc.wait()
    _wait_for(lambda: not any(_alive(pid) for pid in workers), timeout=3.0)
    assert folders() == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, pytest.param(signal.SIGINT, marks=pytest.mark.slow)])
def test_a_signal_while_outdir_is_written_keeps_the_old_one(tmp_path, matmul_onnx, signum):
    args = ["compile", matmul_onnx, "--arch", "edge_npu", "--time-limit", "5", "--cache-dir", "cache", "--quiet",
            "-o", "OUT"]
    assert main([*args[:-2], "--cache-dir", str(tmp_path / "cache"), "-o", str(tmp_path / "OUT")]) == 0
    before = (tmp_path / "OUT" / "schedule.json").read_bytes()
    proc = _start(tmp_path, [*args, "--force", "--jobs", "1"], hook=WRITE_HOOK)
    assert proc.stdout.readline().strip() == "writing"
    assert any(name.startswith(".OUT.staging-") for name in _leftovers(tmp_path))
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signum, err
    assert (tmp_path / "OUT" / "schedule.json").read_bytes() == before and _leftovers(tmp_path) == []


def test_a_kill_between_the_two_renames_is_repaired_by_the_next_run(tmp_path, matmul_onnx, capsys):
    args = ["compile", matmul_onnx, "--arch", "edge_npu", "--time-limit", "5", "--cache-dir", str(tmp_path / "cache"),
            "--quiet", "-o", str(tmp_path / "OUT")]
    assert main(args) == 0
    before = (tmp_path / "OUT" / "schedule.json").read_bytes()
    proc = _start(tmp_path, [*args, "--force"], hook=RENAME_HOOK)
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert not (tmp_path / "OUT").exists()
    aside = [name for name in _leftovers(tmp_path) if name.startswith(".OUT.old-")]
    assert len(aside) == 1
    capsys.readouterr()
    for command in (["validate", str(tmp_path / "OUT")], ["explain", str(tmp_path / "OUT")]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert "stopped half-way: the previous OUTDIR is at" in err and aside[0] in err, err
    assert main(args) == 2  # rolled back, so OUT exists again and needs --force
    assert "already exists" in capsys.readouterr().err
    assert (tmp_path / "OUT" / "schedule.json").read_bytes() == before and _leftovers(tmp_path) == []
    assert main([*args, "--force", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["outdir"] == str(tmp_path / "OUT")
