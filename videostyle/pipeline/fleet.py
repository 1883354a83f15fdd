"""A folder run on a Ray cluster (``videostyle run DIR -o OUT --ray [ADDRESS]``): one task
per file, a GPU per task where the cluster has GPUs, everything else as in a local run
— outputs written atomically, finished files skipped on a rerun, failures in the same
summary. Install with ``pip install 'videostyle[ray]'``.

Each worker process loads the network once (:class:`.jobs.Converter`, kept per process)
and converts the files Ray gives it; the paths must be the same on every machine (a
shared file system), as with any Ray job that reads files.
"""

from __future__ import annotations

import logging
from typing import Callable

from ..config import RunConfig
from ..errors import ConfigError
from .file import FileResult
from .jobs import Converter, Summary, outcome, record, triage
from .plan import Job, Plan

log = logging.getLogger(__name__)

_CONVERTERS: dict[RunConfig, Converter] = {}  # per worker process


def _convert(config: RunConfig, job: Job) -> FileResult | str:
    if config not in _CONVERTERS:
        _CONVERTERS[config] = Converter(config)
    return outcome(_CONVERTERS[config], job)


def run_on_ray(config: RunConfig, plan: Plan, address: str | None = None,
               on_done: Callable[[Job, FileResult | str], None] | None = None) -> Summary:
    """Convert ``plan``'s jobs as Ray tasks on the cluster at ``address`` (None: start a
    local Ray instance); ``on_done`` sees each job as it finishes."""
    try:
        import ray
    except ImportError as error:
        raise ConfigError("--ray needs Ray: pip install 'videostyle[ray]'") from error
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True,
                 logging_level=logging.WARNING)
    try:
        gpus = ray.cluster_resources().get("GPU", 0) if config.device in ("auto", "cuda") else 0
        task = ray.remote(num_cpus=1, num_gpus=1 if gpus else 0)(_convert)
        summary = Summary()
        todo = triage(plan.jobs, config.overwrite, summary)
        log.info("%d files on Ray (%s)%s", len(todo), address or "a local instance", ", a GPU each" if gpus else "")
        pending = {task.remote(config, job): job for _, job in todo}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            job = pending.pop(done[0])
            result = ray.get(done[0])
            record(summary, job, result)
            if on_done:
                on_done(job, result)
        summary.converted.sort(key=lambda r: str(r.input))
        summary.failed.extend(plan.unreadable)
        return summary
    finally:
        if started_here:
            ray.shutdown()
