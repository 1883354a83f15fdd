"""Writing outputs safely: a temporary file in the target folder, moved into place only
when complete, so an error, Ctrl-C or SIGTERM never leaves a half-written file under the
final name.

A process killed outright (SIGKILL, power loss) cannot delete its temporary file. Its
name carries the writer's pid and host (``.videostyle-partial-<pid>@<host>-<random>.<ext>``),
so the next run that writes in the same folder removes those whose writer on this host
is gone.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import socket
import tempfile
from pathlib import Path
from typing import Iterator

from ..errors import OutputError

log = logging.getLogger(__name__)

TEMP_PREFIX = ".videostyle-partial-"
_STAMPED = re.compile(re.escape(TEMP_PREFIX) + r"(\d+)@([^-]+)-")
_HOST = socket.gethostname().replace("-", "_") or "host"

# OSErrors a user can act on, and what to tell them
OS_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EFBIG: "the file is larger than this file system allows",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EISDIR: "a folder is in the way",
    errno.ENOTDIR: "a file is in the way of a folder",
}


def os_reason(error: OSError) -> str:
    """A short, actionable reason for ``error``."""
    return OS_REASONS.get(error.errno) or error.strerror or str(error)


def _prefix() -> str:
    return f"{TEMP_PREFIX}{os.getpid()}@{_HOST}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def remove_stale_partials(folder: Path) -> list[Path]:
    """Delete temporary files left in ``folder`` by writers on this host that are gone;
    returns what was removed. Files of other hosts (a shared folder) are left alone."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _STAMPED.match(entry.name)
        if not match or match.group(2) != _HOST or _alive(int(match.group(1))):
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed.append(Path(entry.path))
            log.info("removed %s, left by a run that was killed", entry.path)
    return removed


def check_writable_folder(folder: Path, what: str) -> None:
    """Make ``folder`` (with its parents) and check that a file can be created in it, so a
    long job fails at its start, not at its end; OutputError names the folder and ``what``
    was to be written there."""
    folder = Path(folder) if str(folder) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=_prefix(), dir=folder)
        os.close(fd)
        os.unlink(name)
    except OSError as error:
        raise OutputError(f"cannot write {what} in this folder ({os_reason(error)})", folder) from error


@contextlib.contextmanager
def atomic_output(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``final`` (same extension); on success move it to
    ``final``, on any exception (KeyboardInterrupt included) delete it. OSErrors while
    writing become OutputErrors that say what is wrong (disk full, permission, ...)."""
    final = Path(final)
    folder = final.parent if str(final.parent) else Path(".")
    if final.is_dir():
        raise OutputError("is a folder; give a file name for the output", final)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        remove_stale_partials(folder)
        fd, name = tempfile.mkstemp(prefix=_prefix(), suffix=final.suffix, dir=folder)
        os.close(fd)
    except OSError as error:
        raise OutputError(f"cannot write in this folder ({os_reason(error)})", folder) from error
    tmp = Path(name)
    try:
        try:
            yield tmp
            os.replace(tmp, final)
        except OSError as error:
            if isinstance(error, OutputError):
                raise
            raise OutputError(f"cannot write the output ({os_reason(error)})", final) from error
        # mkstemp makes the file 0600; give the output the usual umask permissions
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(final, 0o666 & ~umask)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
