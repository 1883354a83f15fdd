"""One exception hierarchy for everything a user can act on.

Library functions raise these; only :func:`videostyle.cli.main` turns them into an
``error: ...`` line and an exit code. Each class also inherits the builtin it refines
(as PyAV's errors do), so ``except ValueError`` still works for callers who prefer it.
"""

from __future__ import annotations

import os


class VideostyleError(Exception):
    """Base class. ``str(error)`` is a complete, user-facing sentence.

    ``path`` names the file the error is about, when there is one; the message then
    reads ``<path>: <reason>``.
    """

    def __init__(self, reason: str, path: str | os.PathLike | None = None):
        self.reason = reason
        self.path = os.fspath(path) if path is not None else None
        super().__init__(f"{self.path}: {reason}" if self.path else reason)


class InputError(VideostyleError, ValueError):
    """An input file is missing, unreadable, or not media we can decode."""


class ModelError(VideostyleError, ValueError):
    """A model name or weights file cannot be used."""


class OutputError(VideostyleError, OSError):
    """An output cannot be written where it was asked for."""


class EncodeError(VideostyleError, RuntimeError):
    """The encoder or muxer refused the stylized stream."""


class DeviceError(VideostyleError, RuntimeError):
    """The requested device or precision is not available here."""


class ConfigError(VideostyleError, ValueError):
    """An option value or combination cannot work."""


class LossNetworkError(VideostyleError, RuntimeError):
    """The loss network's weights cannot be obtained."""


class DataError(VideostyleError, ValueError):
    """Training data cannot be used (for example: no readable images)."""
