"""Ending a run on a signal: SIGINT, SIGTERM and SIGHUP all end it the same way.

Ctrl-C (SIGINT), `kill`, `timeout`, CI runners and job schedulers (SIGTERM)
and a closed terminal (SIGHUP) raise `Interrupted` in the main thread, so the
`finally` blocks on the way out stop worker processes and remove staging
directories. Steps that must not be cut in half (forking a worker, where
Python would swallow the exception in its at-fork hooks; stopping workers;
removing a staging directory; the renames of a swap) run `deferred`: a signal
arriving meanwhile is raised when the step ends. Pressing Ctrl-C again raises
again and keeps the first signal's identity. Code that blocks waiting must
wake up now and then (`workers` waits at most `WAKE` seconds at a time): a
signal taken by another thread does not interrupt the main thread's wait.
The exit code is the shell's convention, 128 + the signal's number (130 INT,
143 TERM, 129 HUP).

Like `errors`, a leaf module every package may import.
"""
from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

WAKE = 0.2
"""Longest a blocking wait may last before the main thread runs pending signal handlers."""

HANDLED = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class Interrupted(KeyboardInterrupt):
    """The run was ended by a signal; `exit_code` is 128 + its number."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """128 + the signal number, as shells report a process ended by it."""
        return 128 + self.signum


def exit_code(interrupt: KeyboardInterrupt) -> int:
    """The exit code of an interrupt: a plain KeyboardInterrupt is SIGINT's 130."""
    return interrupt.exit_code if isinstance(interrupt, Interrupted) else 128 + signal.SIGINT


_received: list[int] = []
"""Signals received inside `interruptible`, first first."""

_holding = False
"""True inside `deferred`: a signal is recorded, and raised when the block ends."""


@contextmanager
def interruptible() -> Iterator[None]:
    """Within the block SIGINT / SIGTERM / SIGHUP raise `Interrupted` (carrying the first signal received);
    the previous handlers come back on exit. Outside the main thread (where Python cannot install
    handlers) it changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received.clear()
    previous = {signum: signal.signal(signum, _handle) for signum in HANDLED}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _received.clear()


def _handle(signum: int, _frame) -> None:
    _received.append(signum)
    if not _holding:
        raise Interrupted(_received[0])


@contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT / SIGTERM / SIGHUP back until the block ends, then raise `Interrupted` if one came, for a
    step that must not be cut in half. Python runs signal handlers in the main thread whichever thread
    the system delivered the signal to (numpy's and onnxruntime's thread pools take them too), so the
    hold is a flag the handler reads; the signals are also blocked in this thread, so a child forked
    inside starts with them blocked (`as_worker` lets them through)."""
    global _holding
    outer, seen = _holding, len(_received)
    _holding = True
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED) if hasattr(signal, "pthread_sigmask") else None
    try:
        yield
    finally:
        _holding = outer
        if mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # held-back signals are handled from here on
        if not outer and len(_received) > seen:
            raise Interrupted(_received[0])


def as_worker() -> None:
    """Signal dispositions of a worker process: SIGINT ignored (its parent decides, and a terminal's
    Ctrl-C reaches the whole process group), SIGTERM and SIGHUP end it at once; signals held back
    by a `deferred` fork are let through."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for signum in HANDLED:
        if signum != signal.SIGINT:
            signal.signal(signum, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED)


def ignore_from_now() -> None:
    """Ignore SIGINT / SIGTERM / SIGHUP from here on: the run is over and its exit code decided, so a
    late signal must not turn the exit into a traceback or another code. `interruptible` restores the
    handlers of an in-process caller when its block ends."""
    for signum in HANDLED:
        signal.signal(signum, signal.SIG_IGN)


def describe_exit(code: int | None) -> str:
    """How a child process ended, from its exit code (negative: the signal that killed it, as
    `subprocess`, `multiprocessing` and `os.waitstatus_to_exitcode` give it): 'killed by signal 6
    (SIGABRT)' or 'exit code N'."""
    if code is None or code >= 0:
        return f"exit code {code}"
    try:
        return f"killed by signal {-code} ({signal.Signals(-code).name})"
    except ValueError:
        return f"killed by signal {-code}"
