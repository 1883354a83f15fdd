"""Ship a trained model: its weights into ``models/NAME.pth`` in fp16 (half the download;
output within the PSNR the card records of the fp32 weights) and its card, with the
paths a user's rebuild would use.

    python benchmarks/ship_model.py RUN_OUTPUT.pth NAME

The card's rebuild command names ``models/NAME.pth`` as its output and its starting
weights by shipped name; where training started from the previously shipped weights of
the same name, the card records the git revision that holds them
(``git show REV:models/NAME.pth > start.pth``), since shipping replaces that file. A run
that was shipped part-way and then continued (``--resume``) started from the weights
before that shipping: name them with ``--start-revision REV``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from videostyle.network.models import build_network, read_weights  # noqa: E402
from videostyle.training.cards import write_card  # noqa: E402


def fp16_psnr(state: dict, architecture: dict) -> float:
    torch.manual_seed(0)
    x = torch.rand(1, 3, 128, 128) * 255
    full = build_network(state, architecture).eval()
    half = build_network({k: v.half().float() for k, v in state.items()}, architecture).eval()
    with torch.no_grad():
        mse = float(((full(x).clamp(0, 255) - half(x).clamp(0, 255)) ** 2).mean())
    return 10 * np.log10(255 ** 2 / max(mse, 1e-12))


def shipped_path(path: str) -> str:
    """A run's path as a user's rebuild names it: shipped models by name."""
    p = Path(path)
    return p.stem if p.parent.name in {"models", "final"} or p.parent == ROOT / "models" else path


def retarget(command: str, name: str, replacements: dict[str, str]) -> str:
    words = shlex.split(command)
    out = []
    for i, word in enumerate(words):
        if i and words[i - 1] == "--out":
            word = f"models/{name}.pth"
        elif i and words[i - 1] in {"--model", "--init-model", "--teacher"}:
            word = replacements.get(word, word)
        out.append(word)
    return " ".join(shlex.quote(w) for w in out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="the run's output .pth, with its .json card beside it")
    parser.add_argument("name", help="the shipped name (models/NAME.pth)")
    parser.add_argument("--start-revision", help="the git revision whose models/NAME.pth the run started from, where "
                        "the run outlived a shipping of its own earlier step (default: the last one that changed it)")
    args = parser.parse_args()
    source, name = args.source, args.name
    state, architecture, _ = read_weights(source)
    card = json.loads(source.with_suffix(".json").read_text())
    target = ROOT / "models" / f"{name}.pth"
    revision = args.start_revision or subprocess.run(["git", "log", "-1", "--format=%h", "--", f"models/{name}.pth"],
                                                     cwd=ROOT, capture_output=True, text=True).stdout.strip()
    psnr = fp16_psnr(state, architecture)
    previous = ROOT / "models" / f"{name}.json"
    if "data_licence" not in card and previous.exists():  # the photos' licence, as the shipped card says it
        card["data_licence"] = json.loads(previous.read_text()).get("data_licence")
    card["name"], card["title"] = name, card["title"].replace(source.stem, name, 1)
    # the section of the step that made these weights (a stable twin's card also holds its base's training)
    own = next(s for s in ("distillation", "temporal", "training") if isinstance(card.get(s), dict))
    part = card[own]
    replacements = {}
    for key in ("init_model", "base_model", "teacher"):
        if part.get(key):
            replacements[part[key]] = shipped_path(part[key])
            part[key] = shipped_path(part[key])
            if part[key] == name and revision:
                part[f"{key}_revision"] = revision
                part[f"{key}_note"] = (f"the weights shipped as models/{name}.pth before this model replaced them: "
                                       f"git show {revision}:models/{name}.pth > start.pth, then pass start.pth")
    if part.get("command"):
        part["command"] = retarget(part["command"], name, replacements)
    card["weights"] = {"dtype": "float16", "note": f"stored in fp16 (output PSNR {psnr:.1f} dB against the fp32 "
                       "weights on random input); loads into fp32 networks, pytorch/examples included"}
    torch.save({k: v.half() for k, v in state.items()}, target)
    write_card(target, card)
    print(f"{target}: fp16 PSNR {psnr:.1f} dB; command: {part.get('command')}")


if __name__ == "__main__":
    main()
