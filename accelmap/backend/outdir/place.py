"""Putting a finished OUTDIR at its path: never half-written, never a moment without one, never over
someone else's files.

Files are written into a staging directory beside OUTDIR (`.NAME.staging-OWNER-RANDOM`), then put in
place in one step. Replacing an existing OUTDIR (`--force`) exchanges the two directories atomically
(Linux `renameat2(RENAME_EXCHANGE)`), so at every instant the path holds the old or the new OUTDIR,
whole. Where the exchange is not available (another OS, a file system without it) the old OUTDIR is
renamed aside (`.NAME.old-OWNER-RANDOM`) and the new one renamed in, with signals held back between
the two; a run killed there all the same (SIGKILL, a crash) leaves no OUTDIR, and the next run into
that path renames the old one back (`validate` and `explain` say so meanwhile).

OWNER is `h<host>-p<pid>-t<process start time>`: a later run removes a leftover only when it can
prove its owner is dead (same host, and no process with that pid, or one started at another time),
never a directory of a compile still running.

`--force` replaces only what is safe to delete: an accelmap OUTDIR (it has schedule.json) or an
empty directory, never a file, a symbolic link, another directory, or the current directory.
"""
from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import re
import secrets
import shutil
import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from accelmap.backend.outdir.schedule import SCHEDULE_FILE
from accelmap.errors import OutputError
from accelmap.signals import deferred

_ATTEMPTS = 5
"""Tries to put OUTDIR in place while concurrent compiles into the same path keep moving it."""


def check_target(out_dir: str | Path, force: bool, protect: Iterable[str | Path] = ()) -> Path:
    """Raise OutputError unless a compile may write `out_dir` (an absolute path is returned): nothing at
    the path, or with `force` a replaceable OUTDIR; the parent a directory (or creatable). `protect`
    are paths (the model file, the cache) that must not lie inside a directory `force` would delete.
    Leftovers of dead runs beside it are cleared first (see `sweep`)."""
    out_dir = Path(os.path.abspath(out_dir))
    _check_parent(out_dir)
    sweep(out_dir)
    if not os.path.lexists(out_dir):
        return out_dir
    if not force:
        raise OutputError(f"{out_dir}: already exists; pass --force (force=True) to replace it, "
                          "or choose another output directory")
    _check_replaceable(out_dir)
    for path in protect:
        if _inside(Path(os.path.abspath(path)), out_dir):
            raise OutputError(f"{out_dir}: holds {path}, which --force would delete; move it out or choose "
                              "another output directory")
    return out_dir


def _check_parent(out_dir: Path) -> None:
    """The nearest existing ancestor of `out_dir` must be a directory this process may write in."""
    ancestor = out_dir.parent
    while not os.path.lexists(ancestor) and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(f"{out_dir}: {ancestor} is a file, not a directory; choose another output directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputError(f"{out_dir}: cannot create it, {ancestor} is not writable (permission denied)")


def _check_replaceable(out_dir: Path) -> None:
    """`out_dir` exists: refuse unless it is an accelmap OUTDIR or an empty directory, and not where we are."""
    if out_dir.is_symlink():
        raise OutputError(f"{out_dir}: is a symbolic link; --force replaces only a real OUTDIR directory "
                          "(give the directory it points to)")
    if not out_dir.is_dir():
        raise OutputError(f"{out_dir}: exists and is not a directory; refusing to replace it")
    if _inside(Path.cwd(), out_dir):
        raise OutputError(f"{out_dir}: is (or contains) the current directory; --force will not replace it, "
                          "choose another output directory")
    if not (out_dir / SCHEDULE_FILE).is_file() and any(out_dir.iterdir()):
        raise OutputError(f"{out_dir}: not an accelmap OUTDIR (no {SCHEDULE_FILE}) and not empty; --force replaces "
                          "only an OUTDIR or an empty directory, so nothing was deleted")


def _inside(path: Path, directory: Path) -> bool:
    return path == directory or directory in path.parents


# -- staging and install ---------------------------------------------------------------------------

@contextmanager
def staging(out_dir: Path) -> Iterator[Path]:
    """A new staging directory beside `out_dir` (mode from the umask), removed on the way out whatever
    happens (after a successful `install` it holds the replaced OUTDIR, or nothing)."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with deferred():
        path = _new_dir(out_dir, "staging")
    try:
        yield path
    finally:
        with deferred():
            shutil.rmtree(path, ignore_errors=True)


def install(staging_dir: Path, out_dir: Path, force: bool) -> None:
    """Put the finished `staging_dir` at `out_dir`; with `force` an existing OUTDIR is replaced (exchanged
    into `staging_dir`, for the caller to delete). Concurrent compiles into one path each end with a
    whole OUTDIR there."""
    for _ in range(_ATTEMPTS):
        if not os.path.lexists(out_dir):
            try:
                os.rename(staging_dir, out_dir)
                return
            except OSError as err:
                if err.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
        if not force:
            raise OutputError(f"{out_dir}: appeared while this compile ran; pass --force to replace it")
        _check_replaceable(out_dir)
        try:
            if _exchange(staging_dir, out_dir) or _swap_aside(staging_dir, out_dir):
                return
        except FileNotFoundError:
            continue  # another compile moved it meanwhile: look again
    raise OutputError(f"{out_dir}: other processes keep replacing it; run one compile into it at a time")


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two directories (Linux renameat2 RENAME_EXCHANGE); False where that is not available."""
    renameat2 = getattr(_libc(), "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


@cache
def _libc():
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def _swap_aside(staging_dir: Path, out_dir: Path) -> bool:
    """The fallback: old OUTDIR renamed aside, new one renamed in, the old one moved into `staging_dir`'s
    place for the caller to delete. Between the renames there is no OUTDIR; `sweep` repairs a crash there."""
    aside = _new_name(out_dir, "old")
    with deferred():  # Ctrl-C or SIGTERM cannot fall between the renames; only SIGKILL or a crash can
        os.rename(out_dir, aside)
        try:
            os.rename(staging_dir, out_dir)
        except OSError:
            os.rename(aside, out_dir)
            raise
        os.rename(aside, staging_dir)
    return True


# -- owners and leftovers ---------------------------------------------------------------------------

_LEFTOVER = re.compile(r"\.(?P<name>.+)\.(?P<kind>staging|old)-h(?P<host>[0-9a-f]{8})-p(?P<pid>\d+)-t(?P<start>\d+)-[0-9a-f]+$")


def _host() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def _start_time(pid: int) -> int:
    """The process's start time in clock ticks since boot (Linux /proc), 0 where it cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat[stat.rindex(")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return 0


def _new_name(out_dir: Path, kind: str) -> Path:
    owner = f"h{_host()}-p{os.getpid()}-t{_start_time(os.getpid())}"
    return out_dir.with_name(f".{out_dir.name}.{kind}-{owner}-{secrets.token_hex(4)}")


def _new_dir(out_dir: Path, kind: str) -> Path:
    while True:
        path = _new_name(out_dir, kind)
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue


def _owner_dead(host: str, pid: int, start: int) -> bool:
    """True only when provably so: same host, and no process `pid`, or one started at another time."""
    if host != _host():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    now = _start_time(pid)
    return bool(start and now and now != start)


def leftovers(out_dir: Path) -> list[tuple[Path, str, bool]]:
    """Staging and moved-aside directories beside `out_dir`: (path, kind, owner provably dead)."""
    found = []
    try:
        entries = list(out_dir.parent.iterdir())
    except OSError:
        return []
    for path in entries:
        match = _LEFTOVER.match(path.name)
        if match and match["name"] == out_dir.name:
            dead = _owner_dead(match["host"], int(match["pid"]), int(match["start"]))
            found.append((path, match["kind"], dead))
    return found


def sweep(out_dir: Path) -> None:
    """Clear what dead runs left beside `out_dir`: a moved-aside OUTDIR goes back when the path is empty
    (the run died between its two renames), everything else of theirs is deleted."""
    found = leftovers(out_dir)
    aside = [p for p, kind, dead in found if kind == "old" and dead]
    if aside and not os.path.lexists(out_dir):
        try:
            os.rename(max(aside, key=lambda p: p.stat().st_mtime), out_dir)
        except OSError:
            pass  # another run was faster
    for path, _, dead in found:
        if dead and path.exists():
            shutil.rmtree(path, ignore_errors=True)


def write_failure(out_dir: Path, err: OSError, existed: bool) -> OutputError:
    """One line for an OSError while writing `out_dir`: what the system said, which file, and that the
    previous OUTDIR (if any) is untouched."""
    if err.errno == errno.ENOSPC:
        what = "the disk is full"
    elif err.errno == getattr(errno, "EDQUOT", None):
        what = "the disk quota is exceeded"
    else:
        what = os.strerror(err.errno) if err.errno else str(err)
    file = f" (writing {Path(err.filename).name})" if err.filename else ""
    kept = f"the previous OUTDIR at {out_dir} is intact" if existed else f"nothing was written at {out_dir}"
    return OutputError(f"cannot write {out_dir}: {what}{file}; {kept}")


def diagnose(out_dir: str | Path) -> str:
    """What an unreadable or missing `out_dir` is in the middle of, and how to recover ('' if nothing)."""
    out_dir = Path(os.path.abspath(out_dir))
    notes = []
    for path, kind, dead in leftovers(out_dir):
        if kind == "old" and not os.path.lexists(out_dir):
            notes.append(f"a `compile --force` into it was stopped half-way: the previous OUTDIR is at {path}; "
                         f"the next compile into {out_dir.name} puts it back, or rename it to {out_dir.name}")
        elif kind == "staging" and not dead:
            notes.append(f"a compile is writing it right now ({path.name})")
    return "; ".join(notes)
