"""Writing outputs safely: a temporary file in the target folder, moved into place only
when complete, so an error or Ctrl-C never leaves a half-written file under the final name."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from ..errors import OutputError

TEMP_PREFIX = ".videostyle-partial-"


def check_writable_folder(folder: Path, what: str) -> None:
    """Make ``folder`` (with its parents) and check that a file can be created in it, so a
    long job fails at its start, not at its end; OutputError names the folder and ``what``
    was to be written there."""
    folder = Path(folder) if str(folder) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=folder)
        os.close(fd)
        os.unlink(name)
    except OSError as error:
        raise OutputError(f"cannot write {what} in this folder ({error.strerror or error})", folder) from error


@contextlib.contextmanager
def atomic_output(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``final`` (same extension); on success move it to
    ``final``, on any exception (KeyboardInterrupt included) delete it."""
    final = Path(final)
    folder = final.parent if str(final.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=final.suffix, dir=folder)
        os.close(fd)
    except OSError as error:
        raise OutputError(f"cannot write in this folder ({error.strerror or error})", folder) from error
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, final)
        # mkstemp makes the file 0600; give the output the usual umask permissions
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(final, 0o666 & ~umask)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
