"""Many inputs at once (``videostyle run``): convert the planned jobs (:mod:`.plan`) one
by one, going on past a broken file, and summarise what happened."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from ..config import RunConfig
from ..errors import VideostyleError
from ..media.encode import VideoEncoding
from ..network.models import load_model, resolve_model
from ..network.stylize import Stylizer
from ..temporal.stabilize import Stabilizer
from .file import FileResult, stylize_file
from .plan import Job, Plan, plan_jobs, real
from .streams import ProgressCallback

log = logging.getLogger(__name__)


@dataclass
class Summary:
    converted: list[FileResult] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def failure_reason(job: Job, error: VideostyleError) -> str:
    """The reason to print beside ``job.input``: the error's own path when it names
    another file or folder (an output folder that cannot be written, say)."""
    if error.path and real(Path(error.path)) != real(job.input):
        return str(error)
    return error.reason if error.path else str(error)


def run_jobs(jobs: Sequence[Job], convert: Callable[[Job], FileResult], overwrite: bool = False,
             on_start: Callable[[int, Job], None] | None = None) -> Summary:
    """Convert each job with ``convert``; a failure is recorded and the next file goes on.
    KeyboardInterrupt is not caught."""
    summary = Summary()
    for index, job in enumerate(jobs):
        if real(job.output) == real(job.input):
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
            summary.failed.append((job.input, failure_reason(job, error)))
            log.debug("failure details for %s", job.input, exc_info=True)
        except Exception as error:  # a bug or an unmapped library error: report, go on
            summary.failed.append((job.input, f"unexpected {type(error).__name__}: {error}"))
            log.debug("failure details for %s", job.input, exc_info=True)
    return summary


def run(config: RunConfig, progress: ProgressCallback | None = None,
        on_start: Callable[[int, Job], None] | None = None, plan: Plan | None = None) -> Summary:
    """Stylize every input of ``config`` with one loaded model. Folders that could not be
    listed are reported as failures, after the files that could."""
    name, _ = resolve_model(config.model)
    if plan is None:
        plan = plan_jobs(config.inputs, config.output, name, config.output_format)
    model = load_model(config.model, contrast_ramp=config.contrast_ramp)
    stylizer = Stylizer(model, config.device, config.batch_size, config.half, config.max_pixels)
    encoding = VideoEncoding(config.codec, config.crf, config.preset, config.gif_keep_levels, config.encoder_threads,
                             config.gif_dither)

    def convert(job: Job) -> FileResult:
        frame_filter = Stabilizer(config.stabilize) if config.stabilize else None
        return stylize_file(job.input, job.output, stylizer, max_size=config.max_size, encoding=encoding,
                            progress=progress, frame_filter=frame_filter, max_pixels=config.max_pixels,
                            keep_going=config.keep_going)

    summary = run_jobs(plan.jobs, convert, config.overwrite, on_start)
    summary.failed.extend(plan.unreadable)
    return summary
