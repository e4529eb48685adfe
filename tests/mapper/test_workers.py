"""`workers.run_within`: a call in a forked child, killed when it has not answered in time."""
from __future__ import annotations

import os
import pickle
import time

import pytest

from accelmap.mapper.workers import WorkerDied, run_within


def _pid() -> int:
    return os.getpid()


def _sleep(seconds: float, pid_file) -> str:
    pid_file.write_text(str(os.getpid()))
    time.sleep(seconds)
    return "woke"


def _fail() -> None:
    raise ValueError("bad layer")


def _crash() -> None:
    """What CP-SAT does on a failed internal check: its message and stack trace on fd 2, then abort."""
    os.write(2, b"Infeasible solution! (a failed check)\n*** Check failure stack trace: ***\n    @ 0x1 frame\n")
    os.abort()


def test_an_answer_in_time_comes_back_from_another_process():
    finished, pid = run_within(30.0, _pid, ())
    assert finished and pid != os.getpid()


def test_a_call_past_its_time_is_killed_and_leaves_no_process(tmp_path):
    start = time.monotonic()
    assert run_within(1.0, _sleep, (60.0, tmp_path / "pid")) == (False, None)
    assert time.monotonic() - start < 5.0
    with pytest.raises(ProcessLookupError):      # killed and reaped: no such process, not even a zombie
        os.kill(int((tmp_path / "pid").read_text()), 0)


def test_the_childs_exception_is_raised_here():
    with pytest.raises(ValueError, match="bad layer"):
        run_within(30.0, _fail, ())


def test_a_crashed_child_says_how_it_ended_and_leaves_nothing(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("TMPDIR", str(tmp_path))           # where the child's scratch folder goes
    with pytest.raises(WorkerDied, match=r"killed by signal 6 \(SIGABRT\), saying 'Infeasible solution! "
                                         r"\(a failed check\)'"):
        run_within(30.0, _crash, ())
    assert capfd.readouterr().err == ""                    # its stack trace went to the scratch folder
    assert list(tmp_path.iterdir()) == []                  # which is gone


def test_a_death_keeps_how_it_ended_across_processes():
    died = pickle.loads(pickle.dumps(WorkerDied("a solver process", "killed by signal 9 (SIGKILL)")))
    assert died.how == "killed by signal 9 (SIGKILL)"
    assert str(died) == "a solver process ended without an answer: killed by signal 9 (SIGKILL)"
