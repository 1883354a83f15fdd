"""Planning a run over many inputs: every (input file, output file) pair, found by
walking folders, named by the rules of ``videostyle run --help``.

Odd trees do not stop the plan: a folder that cannot be listed is recorded in
``Plan.unreadable`` (the run reports it and fails), links that loop or lead nowhere are
planned like files and fail alone when opened, and paths are compared with
``os.path.realpath``, which does not raise on a symlink loop as ``Path.resolve`` does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..errors import ConfigError, InputError
from ..media.atomic import TEMP_PREFIX, os_reason
from ..media.kinds import MEDIA_EXTENSIONS


@dataclass(frozen=True)
class Job:
    input: Path
    output: Path


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)  # folders that could not be listed


def real(path: Path) -> Path:
    """``path`` with every link followed, as far as they lead (never raises)."""
    return Path(os.path.realpath(path))


def _what(path: Path) -> str:
    """'file', 'folder', or why ``path`` cannot be used as an input."""
    try:
        if path.is_dir():
            return "folder"
        if path.exists():
            return "file"
    except OSError as error:
        raise InputError(f"cannot be read ({os_reason(error)})", path) from error
    if path.is_symlink():
        raise InputError("is a link that loops or leads nowhere", path)
    raise InputError("file or folder not found", path)


def _scan(folder: Path, exclude: Path | None, unreadable: list[tuple[Path, str]]) -> list[Path]:
    def note(error: OSError) -> None:
        where = Path(error.filename) if error.filename else folder
        unreadable.append((where, f"cannot read this folder ({os_reason(error)}); its files were not converted"))

    files = []
    for root, dirs, names in os.walk(folder, onerror=note):  # links to folders are not followed: no loops
        root_path = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and (exclude is None or real(root_path / d) != exclude))
        for name in sorted(names):
            if name.startswith(".") or name.startswith(TEMP_PREFIX):
                continue
            if Path(name).suffix.lower() in MEDIA_EXTENSIONS:
                files.append(root_path / name)
    return files


def _is_previous_output(path: Path, model: str, siblings: set[str]) -> bool:
    """``clip_mosaic.mp4`` beside ``clip.mp4`` is this tool's own earlier output."""
    suffix = f"_{model}"
    if not path.stem.endswith(suffix):
        return False
    source_stem = path.stem[: -len(suffix)]
    return any(Path(s).stem == source_stem for s in siblings if s != path.name)


def plan_jobs(inputs: Sequence[str | os.PathLike], output: str | os.PathLike | None, model_name: str,
              output_format: str | None = None) -> Plan:
    """Every (input file, output file) pair; see the CLI help for the naming rules."""
    paths = [Path(p) for p in inputs]
    kinds = [_what(p) for p in paths]
    ext = f".{output_format.lstrip('.')}" if output_format else None
    out = Path(output) if output is not None else None
    single_file = kinds == ["file"]
    out_is_file = out is not None and single_file and not out.is_dir() and out.suffix != ""
    if out is not None and not out_is_file and out.exists() and not out.is_dir():
        raise ConfigError(f"-o {out} is a file, but several outputs need a folder")
    out_real = real(out) if out is not None and not out_is_file else None
    plan = Plan()
    for path, kind in zip(paths, kinds):
        if kind == "file":
            sources = [(path, Path(path.name))]
        else:
            found = _scan(path, out_real, plan.unreadable)
            by_folder: dict[Path, set[str]] = {}
            for f in found:
                by_folder.setdefault(f.parent, set()).add(f.name)
            sources = [(f, f.relative_to(path)) for f in found
                       if not _is_previous_output(f, model_name, by_folder[f.parent])]
        for src, relative in sources:
            suffix = ext or src.suffix
            if out_is_file:
                dst = out
            elif out is not None:
                dst = out / relative.with_suffix(suffix)
            else:
                dst = src.with_name(f"{src.stem}_{model_name}{suffix}")
            plan.jobs.append(Job(src, dst))
    seen: dict[Path, Path] = {}
    for job in plan.jobs:
        key = real(job.output)
        if key in seen:
            raise ConfigError(f"{seen[key]} and {job.input} would both be written to {job.output}")
        seen[key] = job.input
    return plan
