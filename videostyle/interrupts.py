"""Ctrl-C and SIGTERM on the command line.

Both end a command the same way: ``KeyboardInterrupt`` or :class:`Terminated`, raised
in the main thread, unwinds it, so that every ``with`` block deletes its temporary
output. While the command is still starting (parsing its arguments, importing torch,
PyAV and the other C extensions) a signal is only recorded, and raised once the imports
are done. Raised in the middle of an extension's initialisation, the exception could be
swallowed there (the run then went on as if nothing had been pressed), come out as an
unrelated ImportError, or print a traceback; and on a 2-core CI machine the process once
died by SIGINT after ``main`` had printed "interrupted" and returned 130. Starting up
takes a second or two, so a deferred Ctrl-C still stops the command at once for the user.

Standard library only: :mod:`videostyle.__main__` installs the handlers before it
imports anything else of the package.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Callable, Iterator


class Terminated(BaseException):
    """SIGTERM (``timeout``, ``docker stop``, systemd), raised so that it unwinds like Ctrl-C."""


_lock = threading.Lock()
_deferring = False
_received: int | None = None  # the first signal since install(), if any


def _exception(signum: int) -> BaseException:
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated()


def _handler(signum: int, frame) -> None:
    global _received
    if _received is None:
        _received = signum
    if not _deferring:
        raise _exception(signum)


def install(defer: bool = False) -> Callable[[], None]:
    """Handles SIGINT and SIGTERM from now on (main thread only; elsewhere a no-op) and
    returns the function that puts the previous handlers back. ``defer``: record signals
    without raising until :func:`deferred` ends."""
    global _received, _deferring
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    with _lock:
        if signal.getsignal(signal.SIGINT) is not _handler:  # else: a signal already recorded stays
            _received = None
        _deferring = defer
        previous = {signum: signal.signal(signum, _handler) for signum in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        global _deferring
        _deferring = False
        for signum, handler in previous.items():
            if handler is not None:
                signal.signal(signum, handler)
    return restore


@contextmanager
def deferred() -> Iterator[None]:
    """Signals arriving inside the block are raised when it ends (the first one), unless
    the block is already leaving with an exception of its own."""
    global _deferring
    _deferring = True
    try:
        yield
    finally:
        _deferring = False
    if _received is not None:
        raise _exception(_received)


def received() -> bool:
    """Whether SIGINT or SIGTERM arrived since :func:`install`."""
    return _received is not None
