"""Worker processes for solves: one process per task, at most `jobs` at once, all killed on the way out.

Every solve runs in a child process, never in the caller's: CP-SAT catches
SIGINT while it searches (it ends the search and returns as if the time ran
out), which would swallow Ctrl-C, and a search in the caller's thread keeps
Python from running any signal handler until it returns. The caller only
waits on pipes, so an interrupt reaches it at once; whatever ends the wait
(a signal, a failed task, a bug) kills every running child and starts no
more. Children ignore SIGINT (the caller decides), die on SIGTERM / SIGHUP
(`signals.as_worker`), and end themselves when their parent is gone (SIGKILL
of the caller leaves no solver running for more than `PARENT_POLL` seconds,
and no scratch folder behind).
"""
from __future__ import annotations

import faulthandler
import multiprocessing
import os
import pickle
import shutil
import signal
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Hashable, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any

from accelmap.signals import WAKE, as_worker, deferred, describe_exit

PARENT_POLL = 0.2
"""Seconds between a child's checks that its parent is still alive."""


class WorkerDied(RuntimeError):
    """A worker process ended without an answer (killed by the system, out of memory, a crash): `what` process,
    and `how` it ended ("killed by signal 6 (SIGABRT), saying '...'")."""

    def __init__(self, what: str, how: str):
        super().__init__(what, how)
        self.what, self.how = what, how

    def __str__(self) -> str:
        return f"{self.what} ended without an answer: {self.how}"


Task = tuple[Hashable, Callable[..., Any], tuple]
"""(key, function, arguments): the function is called with the arguments in a child process."""


def run_each(tasks: Sequence[Task], jobs: int, on_result: Callable[[Hashable, Any], None],
             on_death: Callable[[Hashable, WorkerDied], Task] | None = None) -> None:
    """Run every task in its own child process, at most `jobs` at once, in the given order; call
    `on_result(key, value)` in this process as each finishes. A task's exception is raised here;
    any exception (including an interrupt) kills the running children before it propagates. When a
    child dies without an answer, `on_death(key, error)` names a task to run in its place (next, in a
    new child) or raises; without `on_death` the error is raised. A child's standard error (a crashing CP-SAT's stack
    trace) goes to a scratch folder that is always removed; its last line is quoted in the error."""
    context = _context()
    queue = list(tasks)
    running: dict[Connection, tuple[Hashable, multiprocessing.process.BaseProcess, str]] = {}
    try:
        while queue or running:
            while queue and len(running) < max(1, jobs):
                key, function, args = queue.pop(0)
                reader, process, scratch = _start(context, function, args)
                running[reader] = (key, process, scratch)
            for reader in wait(list(running), timeout=WAKE):
                key, process, scratch = running.pop(reader)
                try:
                    value = _receive(reader, key, process, scratch)
                except WorkerDied as died:
                    if on_death is None:
                        raise
                    queue.insert(0, on_death(key, died))
                    continue
                on_result(key, value)
    finally:
        _stop(running)


def run_within(seconds: float, function: Callable[..., Any], args: tuple) -> tuple[bool, Any]:
    """`function(*args)` in a forked child given `seconds`: (True, its value), or (False, None) once
    the time is up and the child killed. For calls whose own time limit may not hold: CP-SAT's
    core-based search can loop in a level-0 propagation that checks no limit (simple_ws VGG-16
    features.10's tie-break, stopped after 13 minutes). A plain `os.fork`, as `run_each`'s children
    (daemons to multiprocessing) may not start processes of their own. Where processes cannot fork
    (the call's objects would have to pickle), it runs here, unguarded. The child's exception is
    raised here."""
    if not hasattr(os, "fork"):
        return True, function(*args)
    reader, writer = multiprocessing.Pipe(duplex=False)
    parent = os.getpid()
    scratch = tempfile.mkdtemp(prefix="accelmap-guarded-")
    with deferred():  # the child starts with the signals blocked; `as_worker` lets them through
        pid = os.fork()
        if pid == 0:
            reader.close()
            try:
                _child(writer, parent, function, args, scratch)
            finally:
                os._exit(0)
    writer.close()
    deadline = time.monotonic() + seconds
    answered, outcome, value, status, said = False, "died", None, 0, ""
    try:
        while not answered and (left := deadline - time.monotonic()) > 0:
            answered = bool(wait([reader], timeout=min(WAKE, left)))
        if not answered:
            return False, None
        try:
            outcome, value = reader.recv()
        except (EOFError, OSError):
            pass
    finally:
        with deferred():
            if not answered:
                os.kill(pid, signal.SIGKILL)
            status = os.waitpid(pid, 0)[1]
            reader.close()
            said = _last_line(os.path.join(scratch, STDERR))
            shutil.rmtree(scratch, ignore_errors=True)
    if outcome == "died":
        raise WorkerDied("a guarded solve's process", _how(os.waitstatus_to_exitcode(status), said))
    if outcome == "error":
        raise value
    return True, value


STDERR = "stderr.txt"
"""File in a child's scratch folder that takes its standard error (`_contain`)."""


def _contain(scratch: str) -> None:
    """In a child: what a crashing CP-SAT leaves goes to `scratch`, which the parent removes: its
    dump of the failing response (by default /tmp/wrong_response.pb.txt) and its standard error (the
    failed check's stack trace), whose last line the parent quotes. Python's own crash report (faulthandler,
    where enabled) is left out, so that line is CP-SAT's."""
    from ortools.init.python import init

    faulthandler.disable()
    flags = init.CppFlags()
    flags.cp_model_dump_prefix = scratch + os.sep
    init.CppBridge.set_flags(flags)
    fd = os.open(os.path.join(scratch, STDERR), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 2)
    os.close(fd)


def _how(code: int | None, said: str) -> str:
    """How a child ended (`describe_exit`), with the last line it wrote to standard error, if any."""
    return describe_exit(code) + (f", saying {said!r}" if said else " (out of memory, or a crash)")


def _last_line(path: str) -> str:
    """The last non-empty line of the file at `path` that is not a stack frame ("" when there is none)."""
    try:
        with open(path, errors="replace") as text:
            lines = [line.strip() for line in text if line.strip() and not line.startswith(("    @", "***"))]
    except OSError:
        return ""
    return lines[-1][:200] if lines else ""


def _context() -> multiprocessing.context.BaseContext:
    """fork where the platform has it (children start in milliseconds, nothing is pickled on the way in)."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else methods[0])


def _start(context, function: Callable[..., Any], args: tuple) -> tuple[Connection, Any, str]:
    """A started child running `function(*args)`, the pipe its answer comes back on, and its scratch folder
    (`_contain`)."""
    reader, writer = context.Pipe(duplex=False)
    scratch = tempfile.mkdtemp(prefix="accelmap-worker-")
    process = context.Process(target=_child, args=(writer, os.getpid(), function, args, scratch), daemon=True)
    with deferred():  # an interrupt inside fork's hooks would be lost (Python cannot raise there)
        try:
            process.start()
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
    writer.close()
    return reader, process, scratch


def _receive(reader: Connection, key: Hashable, process, scratch: str) -> Any:
    """The child's answer (its exception raised here), after the child has ended and its scratch folder is
    removed."""
    try:
        outcome, value = reader.recv()
    except (EOFError, OSError):
        outcome, value = "died", None
    finally:
        reader.close()
        process.join()
        said = _last_line(os.path.join(scratch, STDERR))
        shutil.rmtree(scratch, ignore_errors=True)
    if outcome == "died":
        raise WorkerDied(f"the solver process for {key}", _how(process.exitcode, said))
    if outcome == "error":
        raise value
    return value


def _stop(running: dict[Connection, tuple[Hashable, Any, str]]) -> None:
    """Kill every running child and reap it; nothing is left behind (a second Ctrl-C waits until done)."""
    with deferred():
        for _, process, _ in running.values():
            process.kill()
        for reader, (_, process, scratch) in running.items():
            process.join()
            reader.close()
            shutil.rmtree(scratch, ignore_errors=True)
        running.clear()


def _child(writer: Connection, parent: int, function: Callable[..., Any], args: tuple, scratch: str) -> None:
    """Body of a child: signals set for a worker, its crash output contained, a watch on the parent, the task,
    its answer sent back."""
    as_worker()
    _contain(scratch)
    threading.Thread(target=_watch_parent, args=(parent, scratch), name="parent-watch", daemon=True).start()
    try:
        answer = ("ok", function(*args))
    except BaseException as err:  # every failure goes back to the parent, which decides
        answer = ("error", _portable(err))
    try:
        writer.send(answer)
    except Exception as err:  # the answer does not pickle: send what can be said about it
        writer.send(("error", RuntimeError(f"{type(err).__name__} sending a worker's answer: {err}")))
    writer.close()


def _portable(err: BaseException) -> BaseException:
    """`err` with the child's traceback as a note (shown by --debug), or a RuntimeError saying what it
    was when it cannot be rebuilt in the parent."""
    err.add_note("in the worker process:\n" + "".join(traceback.format_exception(err)).rstrip())
    try:
        pickle.loads(pickle.dumps(err))
    except Exception:
        return RuntimeError(f"{type(err).__name__} in a worker process: {err}")
    return err


def _watch_parent(parent: int, scratch: str) -> None:
    """End this process as soon as `parent` is gone (a child is re-parented when its parent dies), removing
    its scratch folder first: a parent killed by SIGKILL cannot."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL)
    shutil.rmtree(scratch, ignore_errors=True)
    os._exit(1)
