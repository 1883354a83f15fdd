"""Progress bars on a terminal (tqdm), fed by the library's progress callbacks; nothing
when quiet or when stderr is not a terminal."""

from __future__ import annotations

import sys


def bars_enabled(args) -> bool:
    return not args.quiet and sys.stderr.isatty()


class FileBars:
    """``run``: one bar per file (frames) and one overall (files)."""

    def __init__(self, total_files: int, enabled: bool):
        self.enabled = enabled
        self.total_files = total_files
        self.overall = None
        self.file_bar = None
        if enabled:
            from tqdm import tqdm
            self._tqdm = tqdm
            if total_files > 1:
                self.overall = tqdm(total=total_files, unit="file", position=0, desc="overall")

    def start(self, index: int, job) -> None:
        if not self.enabled:
            return
        self._close_file()
        self.file_bar = self._tqdm(unit="frame", desc=job.input.name[:40], position=1 if self.overall else 0,
                                   leave=self.overall is None)
        if self.overall:
            self.overall.n = index
            self.overall.refresh()

    def update(self, progress) -> None:
        if self.file_bar is None:
            return
        if progress.frames_total and self.file_bar.total != progress.frames_total:
            self.file_bar.total = progress.frames_total
        self.file_bar.n = progress.frames_done
        self.file_bar.refresh()

    def done_one(self) -> None:
        """A file finished elsewhere (a Ray task): the overall bar moves."""
        if self.overall is not None:
            self.overall.update(1)

    def _close_file(self) -> None:
        if self.file_bar is not None:
            self.file_bar.close()
            self.file_bar = None

    def close(self) -> None:
        self._close_file()
        if self.overall is not None:
            self.overall.n = self.total_files
            self.overall.close()


class StepBar:
    """``train``, ``finetune``, ``optimize``: one bar of optimizer steps with the loss."""

    def __init__(self, enabled: bool, description: str):
        self.bar = None
        if enabled:
            from tqdm import tqdm
            self.bar = tqdm(unit="step", desc=description)

    def __call__(self, step: int, total: int, parts: dict) -> None:
        if self.bar is None:
            return
        self.bar.total = total
        self.bar.n = step
        self.bar.set_postfix(loss=f"{parts.get('total', float('nan')):.4g}", refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def with_step_bar(args, description: str, run):
    """``run(progress)`` with a step bar on a terminal (none with --quiet)."""
    bar = StepBar(bars_enabled(args), description)
    try:
        return run(bar)
    finally:
        bar.close()


def train_with_step_bar(args, description: str, run) -> int:
    """:func:`with_step_bar` for the training commands, then one line on what they wrote."""
    result = with_step_bar(args, description, run)
    if not args.quiet:
        print(f"wrote {result.model_path} after {result.steps} steps in {result.wall_s:.0f} s; "
              f"samples and logs in {result.run_dir}")
        if result.unreadable_images:
            print(f"{result.unreadable_images} unreadable training images were skipped")
    return 0
