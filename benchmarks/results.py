"""Shared by the benchmark scripts: machine description and RESULTS.md sections.

Each script owns one section of RESULTS.md, between ``<!-- begin NAME -->`` and
``<!-- end NAME -->``, and rewrites only that section.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from videostyle.network.devices import describe_machine  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def machine() -> str:
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        return f"{describe_machine(device)}; Python {platform.python_version()}"
    return f"{describe_machine(device)}, {cpu_features()}, no GPU; Python {platform.python_version()}"


def cpu_features() -> str:
    """What sets a CPU's speed here: native bf16 (AVX-512 BF16, AMX) or AVX2 only."""
    try:
        flags = next((line.split(":", 1)[1].split() for line in open("/proc/cpuinfo") if line.startswith("flags")), [])
    except OSError:
        return "CPU flags unknown"
    named = [name for flag, name in (("amx_bf16", "AMX-BF16"), ("avx512_bf16", "AVX-512 BF16"), ("avx512f", "AVX-512"),
                                     ("avx2", "AVX2")) if flag in flags]
    return " + ".join(named[:2]) if named else "no AVX2"


def header(title: str) -> str:
    command = "python " + " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:])
    return (f"## {title}\n\n- date: {datetime.date.today().isoformat()}\n- machine: {machine()}\n"
            f"- command: `{command}`\n")


def merge_store(path: Path, fresh: dict, indent: int = 2) -> dict:
    """The JSON store at ``path`` (entries by model or style) with the ``fresh`` entries in
    place of theirs, written back and returned. Read only now, when the run writes, so that
    runs of different models side by side (one per core) keep each other's entries."""
    merged = {**(json.loads(path.read_text()) if path.exists() else {}), **fresh}
    path.write_text(json.dumps(merged, indent=indent) + "\n")
    return merged


def write_section(name: str, markdown: str) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\nEach section is written by the script it names; rerun it to refresh.\n"
    block = f"<!-- begin {name} -->\n{markdown.rstrip()}\n<!-- end {name} -->"
    pattern = re.compile(rf"<!-- begin {re.escape(name)} -->.*?<!-- end {re.escape(name)} -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(text)
    print(markdown)
