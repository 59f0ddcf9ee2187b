"""A live per-machine view for long commands on a terminal.

Each machine gets one line saying what it does now, cut to the terminal's width: a
spinner, its name, the step or wait, a progress bar when the work has a percent (a
download, an import, a clone, a start) or a time limit (a readiness wait, as far as it has
got towards its limit), and the seconds spent.  VirtualBox names machines by their VM name
and templates by theirs; both are shown on the machine's line (templates and downloads on
the ``images`` line).  Finished steps, warnings and guest output scroll above.  When stdout
is not a terminal (or with --json or -q), ``printer()`` returns the plain line printer.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from rich.console import Console, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from hosted.cli.console import OPTIONS, EventPrinter, aliases, console
from hosted.events import Emit, Event
from hosted.model import Environment

HOST = "images"  # the line of the host's own work: downloads, template imports
NAME_WIDTH = 16
BAR_WIDTH = 16


@dataclass
class Row:
    """One machine's line in the live view."""
    text: str
    since: float  # when the machine's current step began
    step: str = ""  # the step itself, shown again when its progress is done
    percent: float | None = None
    limit: float | None = None  # a wait's time limit (seconds), counted from waiting
    waiting: float = 0.0


class LivePrinter(EventPrinter):
    def __init__(self, out: Console, aliases: Mapping[str, str] | None = None) -> None:
        super().__init__(out, aliases=aliases)
        self.labels = set(self.aliases.values())
        self._rows: dict[str, Row] = {}
        self._lock = threading.Lock()
        self._spinner = Spinner("dots")
        self.live = Live(console=out, refresh_per_second=8, transient=True, get_renderable=self.render)

    def row_of(self, machine: str | None) -> str:
        if machine in self.aliases:
            return self.aliases[machine]
        if machine is None or (self.labels and machine not in self.labels):
            return HOST  # a download (no machine), or a template VirtualBox names its own way
        return machine

    def show(self, event: Event) -> None:
        self._update(self.row_of(event.machine), event, time.monotonic())
        if event.kind in ("progress", "step-started") or (event.kind == "stage" and "passed" not in
                                                           event.message):
            return  # on the machine's line, not scrolled
        super().show(event)

    def _update(self, key: str, event: Event, now: float) -> None:
        with self._lock:
            row = self._rows.get(key)
            if event.kind == "progress":
                if (event.percent or 0) >= 100:
                    if row is not None:  # this part is done; the step may go on
                        row.text, row.percent = row.step or row.text, None
                    return
                row = self._rows.setdefault(key, Row(event.message, now))
                row.text, row.percent, row.limit = event.message, event.percent, None
            elif event.kind == "step-started":
                self._rows[key] = Row(event.message, now, event.message)
            elif event.kind == "stage":
                row = self._rows.setdefault(key, Row(event.message, now))
                row.text, row.percent = event.message, None
                if event.limit is not None:
                    row.limit, row.waiting = event.limit, now
            elif event.kind == "step-finished" or (event.kind == "warning"
                                                   and event.message.startswith("failed:")):
                self._rows.pop(key, None)

    def render(self) -> RenderableType:
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(width=1, no_wrap=True)
        table.add_column(max_width=NAME_WIDTH, no_wrap=True, overflow="ellipsis", style="bold")
        table.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        table.add_column(width=BAR_WIDTH, no_wrap=True)
        table.add_column(width=10, no_wrap=True, justify="right")  # "100%", "1200/3600s"
        table.add_column(width=5, no_wrap=True, justify="right", style="dim")
        now = time.monotonic()
        with self._lock:
            rows = sorted(self._rows.items(), key=lambda kv: (kv[0] == HOST, kv[0]))
            for key, row in rows:
                bar, figure = self._measure(row, now)
                table.add_row(self._spinner, Text(key), Text(row.text), bar, figure,
                              f"{now - row.since:.0f}s")
        return table

    @staticmethod
    def _measure(row: Row, now: float) -> tuple[RenderableType, str]:
        if row.percent is not None:
            return ProgressBar(total=100, completed=row.percent, width=BAR_WIDTH), f"{row.percent:.0f}%"
        if row.limit:
            waited = min(now - row.waiting, row.limit)
            return (ProgressBar(total=row.limit, completed=waited, width=BAR_WIDTH),
                    f"{waited:.0f}/{row.limit:.0f}s")
        return "", ""


@contextlib.contextmanager
def printer(out: Console | None = None, env: Environment | None = None) -> Iterator[Emit]:
    """A live view on a terminal, plain lines otherwise."""
    out = out or console
    if not out.is_terminal or out.is_dumb_terminal or OPTIONS.json or OPTIONS.quiet:
        yield EventPrinter(None if OPTIONS.json else out, aliases=aliases(env))
        return
    live = LivePrinter(out, aliases(env))
    with live.live:
        yield live
