"""Showing job progress: a rich bar with rate and ETA on a terminal, plain lines otherwise."""

from __future__ import annotations

import math
from types import TracebackType
from typing import Any, TextIO

from ..jobs.progress import Progress

__all__ = ["ProgressDisplay", "format_eta"]


def format_eta(seconds: float | None) -> str:
    """``1:05`` style; ``?`` when unknown."""
    if seconds is None or math.isinf(seconds) or math.isnan(seconds):
        return "?"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class _PlainLines:
    """One line per 10% step and at the end of each phase, for logs and pipes."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._phase: str | None = None
        self._step = -1

    def update(self, p: Progress) -> None:
        if p.phase != self._phase:
            self._phase, self._step = p.phase, -1
        if p.total is None:
            return
        step = 10 if p.total == 0 else int(10 * p.done / p.total)
        if step <= self._step:
            return
        self._step = step
        total = f"/{p.total}" if p.total is not None else ""
        failed = f", {p.failed} failed" if p.failed else ""
        self._out.write(f"{p.phase}: {p.done}{total} ({p.rate:.0f}/s{failed}, ETA {format_eta(p.eta)})\n")
        self._out.flush()

    def close(self) -> None:
        pass


class _RichBar:
    """A rich progress bar per phase."""

    def __init__(self, out: TextIO) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            TextColumn("{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>8}/s"),
            TextColumn("{task.fields[failed]}"),
            TimeRemainingColumn(),
            console=Console(file=out),
            transient=False,
        )
        self._tasks: dict[str, Any] = {}
        self._bar.start()

    def update(self, p: Progress) -> None:
        task = self._tasks.get(p.phase)
        failed = f"[red]{p.failed} failed[/]" if p.failed else ""
        if task is None:
            task = self._tasks[p.phase] = self._bar.add_task(p.phase, total=p.total, rate="0", failed="")
        self._bar.update(task, completed=p.done, total=p.total, rate=f"{p.rate:.0f}", failed=failed)

    def close(self) -> None:
        self._bar.stop()


class ProgressDisplay:
    """A :class:`~bitrix_bizproc.jobs.ProgressCallback` that draws on ``out`` (rich on a terminal).

    ``close()`` stops drawing (e.g. before a confirmation prompt); the next update starts again.
    """

    def __init__(self, out: TextIO, *, rich: bool | None = None) -> None:
        self._out = out
        self._rich = out.isatty() if rich is None else rich
        self._view: _PlainLines | _RichBar | None = None

    def _make_view(self) -> _PlainLines | _RichBar:
        if self._rich:
            try:
                return _RichBar(self._out)
            except ImportError:  # the optional ``cli`` extra is not installed
                self._rich = False
        return _PlainLines(self._out)

    def __call__(self, progress: Progress) -> None:
        if self._view is None:
            self._view = self._make_view()
        self._view.update(progress)

    def close(self) -> None:
        """Stop drawing (leaves the final state on screen)."""
        if self._view is not None:
            view, self._view = self._view, None
            view.close()

    def __enter__(self) -> ProgressDisplay:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
