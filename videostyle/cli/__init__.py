"""The ``videostyle`` command: one module per command, each with ``add_parser(sub)`` and
``main(args, parser)``; they parse and validate arguments, build a config
(:mod:`videostyle.config`) and call the library. Commands import the library when they
run, so that ``--help`` loads neither torch nor PyAV.

Only :func:`main` prints errors and chooses exit codes: 0 success, 1 a file failed,
2 a usage error, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM, as sent by
``timeout``, ``docker stop`` and systemd). Both signals unwind the same way: temporary
outputs are deleted, nothing is left half-written.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Sequence

from .. import __version__, interrupts
from ..errors import VideostyleError
from . import compare, distill, export, finetune, flicker, models, optimize, run, train

log = logging.getLogger("videostyle")
COMMANDS = {"run": run, "models": models, "compare": compare, "export": export, "train": train,
            "finetune": finetune, "distill": distill, "optimize": optimize, "flicker": flicker}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="videostyle", description="Fast neural style transfer for videos, GIFs and images.")
    parser.add_argument("--version", action="version", version=f"videostyle {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS.values():
        command.add_parser(sub)
    return parser


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a line is logged (not when the handler
    was made), so that redirecting or capturing stderr later still works."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.levelname = record.levelname.lower()
        return super().format(record)


def _configure_logging(verbose: bool, quiet: bool, level: int) -> None:
    """videostyle's own log lines on stderr: warnings always, a command's ``LOG_LEVEL``
    lines (the training commands' few info lines) unless --quiet, every detail with
    --verbose."""
    handler = _StderrHandler()
    handler.setFormatter(_Formatter("%(levelname)s: %(message)s"))
    logger = logging.getLogger("videostyle")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else level)


def _import_libraries(command) -> None:
    """Imports the C extensions ``command`` needs while signals are deferred
    (:mod:`videostyle.interrupts` says why)."""
    for name in getattr(command, "LIBRARIES", ("torch", "av")):
        importlib.import_module(name)


def main(argv: Sequence[str] | None = None) -> int:
    verbose = False
    restore = interrupts.install(defer=True)
    try:
        with interrupts.deferred():
            parser = build_parser()
            args = parser.parse_args(argv)
            verbose = args.verbose
            command = COMMANDS[args.command]
            _configure_logging(args.verbose, args.quiet, getattr(command, "LOG_LEVEL", logging.WARNING))
            _import_libraries(command)
        return command.main(args, parser)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except interrupts.Terminated:
        print("terminated", file=sys.stderr)
        return 143
    except VideostyleError as error:
        if verbose:
            log.exception("details")
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Exception:
        # Ctrl-C in the middle of importing an optional C extension later on (onnxruntime,
        # ray) can surface as that module's ImportError: it was still the user's Ctrl-C
        if interrupts.received():
            print("interrupted", file=sys.stderr)
            return 130
        raise
    finally:
        restore()


if __name__ == "__main__":
    sys.exit(main())
