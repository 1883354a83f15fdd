"""Many inputs at once (``videostyle run``): plan every (input, output) pair, then convert them one by one,
going on past a broken file, and summarise what happened."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from ..config import RunConfig
from ..errors import ConfigError, InputError, VideostyleError
from ..media.atomic import TEMP_PREFIX
from ..media.encode import VideoEncoding
from ..media.kinds import MEDIA_EXTENSIONS
from ..network.models import load_model, resolve_model
from ..network.stylize import Stylizer
from ..temporal.stabilize import Stabilizer
from .file import FileResult, stylize_file
from .streams import ProgressCallback

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    input: Path
    output: Path


@dataclass
class Summary:
    converted: list[FileResult] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def _scan(folder: Path, exclude: Path | None) -> list[Path]:
    files = []
    for root, dirs, names in os.walk(folder):
        root_path = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and (exclude is None or (root_path / d).resolve() != exclude))
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
              output_format: str | None = None) -> list[Job]:
    """Every (input file, output file) pair; see the CLI help for the naming rules."""
    paths = [Path(p) for p in inputs]
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise InputError("file or folder not found", missing[0])
    ext = f".{output_format.lstrip('.')}" if output_format else None
    out = Path(output) if output is not None else None
    single_file = len(paths) == 1 and paths[0].is_file()
    out_is_file = out is not None and single_file and not out.is_dir() and out.suffix != ""
    if out is not None and not out_is_file and out.exists() and not out.is_dir():
        raise ConfigError(f"-o {out} is a file, but several outputs need a folder")
    out_resolved = out.resolve() if out is not None and not out_is_file else None
    jobs: list[Job] = []
    for path in paths:
        if path.is_file():
            sources = [(path, Path(path.name))]
        else:
            found = _scan(path, out_resolved)
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
            jobs.append(Job(src, dst))
    seen: dict[Path, Path] = {}
    for job in jobs:
        key = job.output.resolve()
        if key in seen:
            raise ConfigError(f"{seen[key]} and {job.input} would both be written to {job.output}")
        seen[key] = job.input
    return jobs


def run_jobs(jobs: Sequence[Job], convert: Callable[[Job], FileResult], overwrite: bool = False,
             on_start: Callable[[int, Job], None] | None = None) -> Summary:
    """Convert each job with ``convert``; a failure is recorded and the next file goes on.
    KeyboardInterrupt is not caught."""
    summary = Summary()
    for index, job in enumerate(jobs):
        if job.output.resolve() == job.input.resolve():
            summary.failed.append((job.input, "output would replace its own input"))
            continue
        if job.output.exists() and not overwrite:
            summary.skipped.append((job.input, f"{job.output} exists (use --overwrite)"))
            continue
        if on_start:
            on_start(index, job)
        try:
            summary.converted.append(convert(job))
        except VideostyleError as error:
            summary.failed.append((job.input, error.reason if error.path else str(error)))
            log.debug("failure details for %s", job.input, exc_info=True)
        except Exception as error:  # a bug or an unmapped library error: report, go on
            summary.failed.append((job.input, f"unexpected {type(error).__name__}: {error}"))
            log.debug("failure details for %s", job.input, exc_info=True)
    return summary


def run(config: RunConfig, progress: ProgressCallback | None = None,
        on_start: Callable[[int, Job], None] | None = None, jobs: Sequence[Job] | None = None) -> Summary:
    """Stylize every input of ``config`` with one loaded model."""
    name, _ = resolve_model(config.model)
    if jobs is None:
        jobs = plan_jobs(config.inputs, config.output, name, config.output_format)
    model = load_model(config.model, contrast_ramp=config.contrast_ramp)
    stylizer = Stylizer(model, config.device, config.batch_size, config.half)
    encoding = VideoEncoding(config.codec, config.crf, config.preset, config.gif_keep_levels, config.encoder_threads,
                             config.gif_dither)

    def convert(job: Job) -> FileResult:
        frame_filter = Stabilizer(config.stabilize) if config.stabilize else None
        return stylize_file(job.input, job.output, stylizer, max_size=config.max_size,
                            encoding=encoding, progress=progress, frame_filter=frame_filter)

    return run_jobs(jobs, convert, config.overwrite, on_start)
