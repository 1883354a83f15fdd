"""``python -m videostyle`` and the ``videostyle`` command. Ctrl-C and SIGTERM are
handled (deferred) before the command-line package is even imported, so that a signal
in the first tenth of a second ends the command like any other."""

import sys

from . import interrupts


def entry() -> int:
    interrupts.install(defer=True)
    from .cli import main
    return main()


if __name__ == "__main__":
    sys.exit(entry())
