"""Hostile-input fuzzing at scale (writes RESULTS.md section ``fuzz``): seeded mutants of a
generated MP4, MKV, GIF and JPEG (flipped bits, cuts, noise bursts, lost chunks), each
through ``videostyle run`` with a tiny random network, with the guarantees of
``tests/test_hostile.py`` asserted on every one: exit 0 or 1, no traceback, no hang, no
temporary file left, and an exit-0 output has exactly the frames a strict reader decodes.

    python benchmarks/fuzz.py [--per-kind 200] [--processes 10]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import signal
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
from benchmarks.results import header, write_section  # noqa: E402
from test_hostile import check_mutants, make_originals, run_cli  # noqa: E402

from videostyle.cli import main as cli_main  # noqa: E402
from videostyle.network.transformer_net import TransformerNet  # noqa: E402


def in_process(src: Path, out: Path, model: Path) -> tuple[int, str]:
    def alarm(signum, frame):
        raise TimeoutError(f"{src} hung")
    err = io.StringIO()
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(30)
    try:
        with contextlib.redirect_stderr(err):
            code = cli_main(["run", str(src), "-o", str(out), "--model", str(model), "-q"])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return code, err.getvalue()


def own_process(src: Path, out: Path, model: Path) -> tuple[int, str]:
    result = run_cli("run", str(src), "-o", str(out), "--model", str(model), "-q", timeout=60)
    return result.returncode, result.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-kind", type=int, default=200, help="mutants of each file, run in this process")
    parser.add_argument("--processes", type=int, default=10, help="mutants of each file, each in its own process")
    args = parser.parse_args()
    rows = ["| runner | mutants | exit 0 (every frame out) | exit 1 (one error line) | seconds |", "|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        torch.manual_seed(0)
        model = tmp / "tiny.pth"
        torch.save(TransformerNet(channels=4, residual_blocks=1).state_dict(), model)
        (tmp / "originals").mkdir()
        sources = make_originals(tmp / "originals")
        for label, runner, per_kind, seed in (("in process", in_process, args.per_kind, 7),
                                              ("one process each", own_process, args.processes, 8)):
            work = tmp / label.replace(" ", "_")
            work.mkdir()
            start = time.perf_counter()
            counts = check_mutants(work, sources, model, per_kind, seed=seed, runner=runner)
            rows.append(f"| {label} (seed {seed}) | {counts['mutants']} | {counts['exit 0 whole']} | "
                        f"{counts['exit 1']} | {time.perf_counter() - start:.0f} |")
            print(rows[-1], flush=True)
    write_section("fuzz", "\n".join([
        header("Hostile-input fuzzing (`benchmarks/fuzz.py`)"),
        "Seeded mutants (a quarter each of bit flips, cuts, noise bursts and lost chunks, past the first tenth "
        "of the file) of a generated 96x64 20-frame H.264 + AAC MP4 and MKV, an 8-frame GIF and a JPEG, each "
        "stylized by `videostyle run` with a tiny random network. Every mutant passed every check (an assertion "
        "stops the script otherwise): exit 0 or 1, no traceback or 'unexpected' error, no hang (30 s), no "
        "temporary file left; an exit-0 output has exactly the frames a strict reader (one thread, any error "
        "fatal) decodes from the mutant; an exit-1 run printed exactly one `error:` line and wrote no output.\n",
        *rows]))


if __name__ == "__main__":
    main()
