"""`finetune` and `distill` with only their required arguments are the recipes the shipped
`-stable` and `-fast` models were built with, so a user's own model gets what the tables
in the README measured. The cards' commands are parsed as the command line would."""

import shlex
from dataclasses import fields

import pytest

from videostyle.cli import build_parser
from videostyle.cli import distill as distill_cli
from videostyle.cli import finetune as finetune_cli
from videostyle.network.models import available_models

STYLES = ("mosaic", "starry_night", "great_wave", "the_scream")
# what a card's command may set beyond its required arguments without leaving the recipe:
# how often it saved checkpoints, and (distill) the run's length
NOT_RECIPE = {"checkpoint_every", "iterations"}


def parsed(command: str, module):
    words = shlex.split(command)
    assert words[0] == "videostyle"
    return module.config_from(build_parser().parse_args(words[1:]))


def shipped_and_default(command: str, module, required: tuple[str, ...]):
    """The config of a card's command, and that of the same command with only its
    required arguments."""
    shipped = parsed(command, module)
    given = " ".join(f"--{name} {shlex.quote(str(getattr(shipped, name)))}" for name in required)
    return shipped, parsed(f"videostyle {shlex.split(command)[1]} {given}", module)


def differences(shipped, default) -> dict:
    return {f.name: (getattr(shipped, f.name), getattr(default, f.name)) for f in fields(shipped)
            if f.name not in NOT_RECIPE and getattr(shipped, f.name) != getattr(default, f.name)}


@pytest.mark.parametrize("style", STYLES)
def test_distill_defaults_are_the_shipped_fast_recipe(style):
    command = available_models()[f"{style}-fast"].card["distillation"]["command"]
    shipped, default = shipped_and_default(command, distill_cli, ("teacher", "data", "out"))
    assert differences(shipped, default) == {}
    assert shipped.steps_asked() in (2500, default.steps_asked())


@pytest.mark.parametrize("style", STYLES)
def test_finetune_defaults_are_the_shipped_twin_recipe(style):
    card = available_models()[f"{style}-stable"].card["temporal"]
    shipped, default = shipped_and_default(card["command"], finetune_cli, ("model", "data", "out"))
    # the_scream's twin keeps a little less of the doubled style weight (docs/flicker.md)
    expected = {"style_boost": (1.8, 2.0)} if style == "the_scream" else {}
    assert differences(shipped, default) == expected
    assert shipped.steps_asked() == default.steps_asked() == card["steps"]


def test_a_changed_default_shows_as_a_difference():
    """The comparison itself: a shipped command with one setting off the defaults."""
    command = available_models()["mosaic-fast"].card["distillation"]["command"]
    shipped, default = shipped_and_default(command + " --content-boost 2", distill_cli, ("teacher", "data", "out"))
    assert differences(shipped, default) == {"content_boost": (2.0, 3.0)}
