"""Ending a run on a signal: SIGINT, SIGTERM and SIGHUP all end it the same way.

Ctrl-C (SIGINT), `kill`, `timeout`, CI runners and job schedulers (SIGTERM)
and a closed terminal (SIGHUP) raise `Interrupted` in the main thread, so the
`finally` blocks on the way out stop worker processes and remove staging
directories. Signals that arrive while that cleanup runs are ignored: a
second Ctrl-C must not break the cleanup of the first. The exit code is the
shell's convention, 128 + the signal's number (130 INT, 143 TERM, 129 HUP).
"""
from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

HANDLED = tuple(s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None))
                if s is not None)


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


@contextmanager
def interruptible() -> Iterator[None]:
    """Within the block, the first SIGINT / SIGTERM / SIGHUP raises `Interrupted`; later ones are ignored
    so the cleanup it starts runs to the end. Previous handlers come back on exit. Outside the main
    thread (where Python cannot install handlers) it changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired: list[int] = []

    def handle(signum: int, _frame) -> None:
        if not fired:
            fired.append(signum)
            raise Interrupted(signum)

    previous = {signum: signal.signal(signum, handle) for signum in HANDLED}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
