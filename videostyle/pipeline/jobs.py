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
from ..network.models import fast_variant, load_blend, load_model, resolve_model
from ..network.stylize import Stylizer
from ..temporal.stabilize import Stabilizer
from .file import FileResult, stylize_file
from .looks import Look
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


def triage(jobs: Sequence[Job], overwrite: bool, summary: Summary) -> list[tuple[int, Job]]:
    """The jobs to convert, with their indices; those whose output exists (unless
    ``overwrite``) or would replace their input go into ``summary`` instead."""
    todo = []
    for index, job in enumerate(jobs):
        if real(job.output) == real(job.input):
            summary.failed.append((job.input, "output would replace its own input"))
        elif job.output.exists() and not overwrite:
            summary.skipped.append((job.input, f"{job.output} exists (use --overwrite)"))
        else:
            todo.append((index, job))
    return todo


def outcome(convert: Callable[[Job], FileResult], job: Job) -> FileResult | str:
    """``convert(job)``'s result, or the reason it failed (a user's error or, for a bug or
    an unmapped library error, its type and message). KeyboardInterrupt is not caught."""
    try:
        return convert(job)
    except VideostyleError as error:
        log.debug("failure details for %s", job.input, exc_info=True)
        return failure_reason(job, error)
    except Exception as error:
        log.debug("failure details for %s", job.input, exc_info=True)
        return f"unexpected {type(error).__name__}: {error}"


def record(summary: Summary, job: Job, result: FileResult | str) -> None:
    if isinstance(result, str):
        summary.failed.append((job.input, result))
    else:
        summary.converted.append(result)


def run_jobs(jobs: Sequence[Job], convert: Callable[[Job], FileResult], overwrite: bool = False,
             on_start: Callable[[int, Job], None] | None = None) -> Summary:
    """Convert each job with ``convert``; a failure is recorded and the next file goes on."""
    summary = Summary()
    for index, job in triage(jobs, overwrite, summary):
        if on_start:
            on_start(index, job)
        record(summary, job, outcome(convert, job))
    return summary


class Converter:
    """What converting one job of a ``run`` needs, loaded once per process: the network
    (or the blend of a model and its twin), the stylizer, the look, the encoding."""

    def __init__(self, config: RunConfig):
        self.config = config
        if config.stability is None:
            model = load_model(config.model, contrast_ramp=config.contrast_ramp)
        else:
            model = load_blend(config.model, config.stability, contrast_ramp=config.contrast_ramp)
        self.stylizer = Stylizer(model, config.device, config.batch_size, config.half, config.max_pixels,
                                 config.tile, config.style_scale, config.backend, compile_network=config.compile)
        fast = fast_variant(config.model) if config.stability is None else None
        if fast:
            self.stylizer.hints.append(f"--model {fast} (distilled: several times the frames/s)")
        self.look = Look(config.strength, config.preserve_color)
        self.segment = (config.start_s or 0.0, config.duration_s) if config.start_s or config.duration_s else None
        self.encoding = VideoEncoding(config.codec, config.crf, config.preset, config.gif_keep_levels,
                                      config.encoder_threads, config.gif_dither,
                                      hardware=self.stylizer.device.type == "cuda")

    def __call__(self, job: Job, progress: ProgressCallback | None = None) -> FileResult:
        config = self.config
        frame_filter = Stabilizer(config.stabilize) if config.stabilize else None
        return stylize_file(job.input, job.output, self.stylizer, max_size=config.max_size, encoding=self.encoding,
                            progress=progress, frame_filter=frame_filter, max_pixels=config.max_pixels,
                            keep_going=config.keep_going, look=self.look, segment=self.segment)


def run(config: RunConfig, progress: ProgressCallback | None = None,
        on_start: Callable[[int, Job], None] | None = None, plan: Plan | None = None) -> Summary:
    """Stylize every input of ``config`` with one loaded model. Folders that could not be
    listed are reported as failures, after the files that could."""
    name, _ = resolve_model(config.model)
    if plan is None:
        plan = plan_jobs(config.inputs, config.output, name, config.output_format)
    converter = Converter(config)
    summary = run_jobs(plan.jobs, lambda job: converter(job, progress), config.overwrite, on_start)
    summary.failed.extend(plan.unreadable)
    return summary
