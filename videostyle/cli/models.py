"""``videostyle models``: list the shipped models."""

from __future__ import annotations

from .args import add_common

LIBRARIES = ("torch",)  # imported while signals are deferred (videostyle.interrupts)


def add_parser(sub) -> None:
    p = sub.add_parser("models", help="list the shipped models")
    add_common(p)


def main(args, parser) -> int:
    from ..network.models import available_models

    models = available_models()
    if not models:
        print("no shipped models are installed")
        return 1
    for name, info in models.items():
        style = info.card.get("style", {}).get("image", "")
        print(f"{name:24s} {style:34s} {info.path}")
    return 0
