"""Make the README's result images with ``videostyle`` itself (run after the models
ship; the outputs are committed under ``examples/results/``):

- ``cat_<model>.gif`` for every shipped base model: ``videostyle run examples/cat.gif``;
- ``coffee_<model>.mp4`` and ``coffee_<model>-stable.mp4``: ``videostyle run`` on the clip
  with sound, base and stable;
- ``coffee_base_vs_stable_mosaic.gif``: the two mosaic clips side by side, frame by frame
  (the frames and their timing are the tool's outputs; only the side-by-side is drawn
  here; one model only, to keep the repository small);
- ``coffee_flicker_<model>.png``: ``videostyle flicker`` of both against the original.

    python examples/make_results.py [MODEL ...] [--gifs-only]
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def videostyle(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "videostyle", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    return result.stdout


def side_by_side(left: Path, right: Path, out: Path, labels: tuple[str, str], scale: float = 0.6) -> None:
    """A GIF of ``left`` and ``right`` next to each other, frame by frame (scaled by
    ``scale`` to keep the file small), each frame at its video pts, written with
    videostyle's own GIF encoder (so its dither does not add flicker of its own)."""
    from PIL import ImageDraw

    sys.path.insert(0, str(HERE.parent))
    from videostyle.media.frames import Frame
    from videostyle.media.gif import GifSink

    sink = None
    with av.open(str(left)) as a, av.open(str(right)) as b:
        pairs = list(zip(a.decode(video=0), b.decode(video=0)))
        for index, (fa, fb) in enumerate(pairs):
            ia, ib = fa.to_ndarray(format="rgb24"), fb.to_ndarray(format="rgb24")
            gap = np.full((ia.shape[0], 6, 3), 255, np.uint8)
            image = Image.fromarray(np.concatenate([ia, gap, ib], axis=1))
            image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
            draw = ImageDraw.Draw(image)
            for x, text in ((4, labels[0]), (round((ia.shape[1] + 6) * scale) + 4, labels[1])):
                draw.rectangle([x, 4, x + 7 * len(text) + 6, 18], fill="black")
                draw.text((x + 3, 5), text, fill="white")
            if sink is None:
                sink = GifSink(out, image.size, loop=0)
            duration = pairs[-1][0].pts - pairs[-2][0].pts  # the last frame lasts as long as the one before
            rgb = np.asarray(image)
            sink.write_frame(Frame(rgb, fa.pts, fa.time_base, duration, index), rgb)
        sink.close()


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    gifs_only = "--gifs-only" in sys.argv  # remake the GIFs from the committed clips
    names = [a for a in sys.argv[1:] if a != "--gifs-only"] or ["mosaic", "starry_night", "great_wave", "the_scream"]
    for name in names:
        videostyle("run", str(HERE / "cat.gif"), "--model", name, "-o", str(RESULTS / f"cat_{name}.gif"),
                   "--overwrite", "--quiet")
        models = (name, f"{name}-stable")
        clips = [RESULTS / f"coffee_{model}.mp4" for model in models]
        if not gifs_only:
            for model, out in zip(models, clips):
                videostyle("run", str(HERE / "coffee.mp4"), "--model", model, "-o", str(out), "--overwrite", "--quiet")
        if name == "mosaic":
            side_by_side(clips[0], clips[1], RESULTS / f"coffee_base_vs_stable_{name}.gif", models)
        if not gifs_only:
            print(videostyle("flicker", str(HERE / "coffee.mp4"), *map(str, clips),
                             "--plot", str(RESULTS / f"coffee_flicker_{name}.png")), end="")


if __name__ == "__main__":
    main()
