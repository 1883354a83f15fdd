"""The README's gallery of ``videostyle run`` options on one photo (scikit-image's
``chelsea``, not training data): the input, the plain model, ``--strength 0.5``,
``--preserve-color luma`` and ``histogram``, ``--style-scale 0.5`` and, for a model with a
``-stable`` twin, ``--stability 1``. Each panel is the tool's own output; only the row and
its labels are drawn here. Writes ``examples/results/looks_<model>.jpg``.

    python examples/make_looks.py [MODEL]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
PANEL_PX = 300

VARIANTS = [("plain", []), ("--strength 0.5", ["--strength", "0.5"]),
            ("--preserve-color luma", ["--preserve-color", "luma"]),
            ("--preserve-color histogram", ["--preserve-color", "histogram"]),
            ("--style-scale 0.5", ["--style-scale", "0.5"]), ("--stability 1", ["--stability", "1"])]


def main() -> None:
    from skimage import data
    model = sys.argv[1] if len(sys.argv) > 1 else "mosaic"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        photo = tmp / "chelsea.png"
        Image.fromarray(data.chelsea()).save(photo)
        panels = [("input", Image.open(photo).convert("RGB"))]
        for label, args in VARIANTS:
            out = tmp / f"{len(panels)}.png"
            result = subprocess.run([sys.executable, "-m", "videostyle", "run", str(photo), "-m", model, "-o", str(out),
                                     "-q", *args], capture_output=True, text=True)
            if result.returncode:
                if label.startswith("--stability"):
                    continue  # no -stable twin
                raise SystemExit(result.stderr)
            panels.append((label, Image.open(out).convert("RGB")))
        w, h = panels[0][1].size
        scale = PANEL_PX / w
        size = (PANEL_PX, round(h * scale))
        sheet = Image.new("RGB", (size[0] * len(panels), size[1] + 22), "white")
        draw = ImageDraw.Draw(sheet)
        for i, (label, image) in enumerate(panels):
            sheet.paste(image.resize(size, Image.LANCZOS), (i * size[0], 22))
            draw.text((i * size[0] + 6, 5), label, fill="black")
        out = HERE / "results" / f"looks_{model}.jpg"
        sheet.save(out, quality=88)
        print(out)


if __name__ == "__main__":
    main()
