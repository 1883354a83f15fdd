"""Write the measured numbers into the shipped model cards (``models/<name>.json``/``.md``):
held-out losses from ``examples/sheets/losses.json`` (``benchmarks/quality.py``), flicker
from ``benchmarks/flicker.json`` (``benchmarks/flicker.py``), and the sample images that
exist under ``examples/``; ``-fast`` cards also get fidelity, flicker and the speed of
their architecture (``benchmarks/fast_speed.json``, ``benchmarks/pipeline_speed.py``).
Run after those benchmarks; the weights are not touched.

    python benchmarks/model_cards.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.pipeline_speed import architecture_label  # noqa: E402
from videostyle.training.checkpoints import write_card  # noqa: E402


def existing(samples: dict[str, str]) -> dict[str, str]:
    return {label: path for label, path in samples.items() if (ROOT / path).is_file()}


def flicker_card(f: dict) -> dict:
    mean = f["mean"]
    card = {"clips": f.get("clips"), "mean_warping_error": {k: round(v, 6) for k, v in mean.items()},
            "stable_over_base_mean": round(mean["stable"] / mean["base"], 3)}
    if "mean_of_ratios" in f:
        card["stable_over_base_mean_of_clip_ratios"] = round(f["mean_of_ratios"], 3)
        card["clips_at_most_half_of_base"] = f["clips_at_most_half"]
    if "stable_stabilize_mean_of_ratios" in f:
        card["stable_with_stabilize_over_base_mean_of_clip_ratios"] = round(f["stable_stabilize_mean_of_ratios"], 3)
        card["stable_with_stabilize_clips_at_most_half_of_base"] = f["stable_stabilize_clips_at_most_half"]
    card.update({"worst_clip_stable_over_base": round(f["worst_stable_ratio"], 3),
                 "held_out_losses_base": {k: round(v, 4) for k, v in f["base_losses"].items()},
                 "held_out_losses_stable": {k: round(v, 4) for k, v in f["stable_losses"].items()},
                 "frames_per_s": {k: round(v, 2) for k, v in f["fps"].items()},
                 "measured_by": "benchmarks/flicker.py (per-clip table in benchmarks/RESULTS.md)"})
    if "measured_base" in f:  # the base has been retrained since: say which base these numbers are against
        card["base_measured"] = f["measured_base"]
    if "against_current_base" in f:
        card["stable_against_current_base"] = f["against_current_base"]
    return card


def fast_card(card: dict, style: str, fidelity: dict, flicker: dict, speed: dict) -> None:
    """A ``-fast`` card's measured sections: fidelity to its teacher, flicker against it, speed."""
    card["sample"] = existing({"sheet_512": f"examples/sheets/{style}-fast_vs_teacher_512.jpg"})
    if style in fidelity:
        f = fidelity[style]
        card["fidelity"] = {"photos": f["photos"], "size_px": f["size"],
                            "psnr_vs_teacher_db": round(f["psnr_mean"], 2),
                            "lowest_psnr_db": round(f["psnr_min"], 2),
                            "held_out_losses_teacher": {"content": round(f["teacher_content"], 4),
                                                        "style": round(f["teacher_style"], 4)},
                            "held_out_losses_fast": {"content": round(f["fast_content"], 4),
                                                     "style": round(f["fast_style"], 4)},
                            "measured_by": "benchmarks/fast_fidelity.py (see benchmarks/RESULTS.md)"}
    if style in flicker:
        f = flicker[style]
        card["flicker"] = {"clips": len(f["rows"]),
                           "fast_over_teacher_mean_of_clip_ratios": round(f["mean_of_ratios"], 3),
                           "worst_clip_fast_over_teacher": round(f["worst"], 3),
                           "clips_at_or_below_teacher": f["clips_at_most_1"],
                           "measured_by": "benchmarks/fast_flicker.py (per-clip table in benchmarks/RESULTS.md)"}
    timed = speed.get("architectures", {}).get(architecture_label(card["architecture"]))
    if timed:
        card["speed"] = {**{k: speed[k] for k in ("machine", "date", "measured_by")},
                         "timed_model": timed["timed_model"],
                         **{f"{backend}, {column}": f"{v['frames_per_s']} frames/s ({v['over_full']}x the full network)"
                            for backend, columns in timed["frames_per_s"].items() for column, v in columns.items()}}
    else:
        # a new architecture: no speed rather than another architecture's
        card.pop("speed", None)


def main() -> None:
    losses = ROOT / "examples" / "sheets" / "losses.json"
    quality = {r["model"]: r for r in json.loads(losses.read_text())} if losses.exists() else {}
    store = ROOT / "benchmarks" / "flicker.json"
    flicker = json.loads(store.read_text()) if store.exists() else {}
    fidelity_store = ROOT / "examples" / "sheets" / "fast_fidelity.json"
    flicker_fast_store = ROOT / "benchmarks" / "flicker_fast.json"
    fidelity = json.loads(fidelity_store.read_text()) if fidelity_store.exists() else {}
    flicker_fast = json.loads(flicker_fast_store.read_text()) if flicker_fast_store.exists() else {}
    speed_store = ROOT / "benchmarks" / "fast_speed.json"
    speed = json.loads(speed_store.read_text()) if speed_store.exists() else {}
    for path in sorted((ROOT / "models").glob("*.json")):
        card = json.loads(path.read_text())
        name = card["name"]
        base = name.removesuffix("-stable")
        if name.endswith("-fast"):
            fast_card(card, name.removesuffix("-fast"), fidelity, flicker_fast, speed)
        elif name == base:
            card["sample"] = existing({"sheet_256": f"examples/sheets/{name}_256.jpg",
                                       "sheet_512": f"examples/sheets/{name}_512.jpg",
                                       "gif": f"examples/results/cat_{name}.gif"})
            if name in quality:
                q = quality[name]
                card["held_out_losses"] = {
                    "photos": q["photos"], "content": round(q["fast_content"], 4), "style": round(q["fast_style"], 4),
                    "per_image_optimisation_content": round(q["slow_content"], 4),
                    "per_image_optimisation_style": round(q["slow_style"], 4),
                    "measured_by": "benchmarks/quality.py (see benchmarks/RESULTS.md)"}
        else:
            card["sample"] = existing({"side_by_side": f"examples/results/coffee_base_vs_stable_{base}.gif",
                                       "flicker_plot": f"examples/results/coffee_flicker_{base}.png"})
        if base in flicker and not name.endswith("-fast"):
            card["flicker"] = flicker_card(flicker[base])
        write_card(path.with_suffix(".pth"), card)
        print("card", name)


if __name__ == "__main__":
    main()
