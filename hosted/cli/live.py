"""A live per-machine view for long commands on a terminal.

Each machine gets one line showing what it is doing now (with a spinner);
finished steps, warnings and guest output scroll above it.  When stdout is not
a terminal, ``printer()`` returns the plain line printer instead.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.spinner import Spinner
from rich.table import Table

from hosted.cli.console import OPTIONS, EventPrinter, console
from hosted.events import Emit, Event


class LivePrinter(EventPrinter):
    def __init__(self, out: Console) -> None:
        super().__init__(out)
        self._now: dict[str, tuple[str, float]] = {}  # machine -> (doing, since)
        self._lock = threading.Lock()
        self.live = Live(console=out, refresh_per_second=8, transient=True, get_renderable=self.render)

    def __call__(self, event: Event) -> None:
        machine = event.machine or ""
        if event.kind == "progress" and (event.percent or 0) >= 100:
            with self._lock:
                self._now.pop(machine, None)  # done: the step's own line follows
            return
        if event.kind in ("step-started", "stage", "progress"):
            text = event.message if event.percent is None else f"{event.message} {int(event.percent)}%"
            with self._lock:
                self._now[machine] = (text, time.monotonic())
            if event.kind == "stage" and "passed" in event.message:
                super().__call__(event)
            return
        if event.kind == "step-finished":
            with self._lock:
                self._now.pop(machine, None)
        super().__call__(event)

    def render(self) -> RenderableType:
        table = Table.grid(padding=(0, 1))
        with self._lock:
            rows = sorted(self._now.items())
        for machine, (doing, since) in rows:
            table.add_row(Spinner("dots"), f"[bold]{escape(machine)}[/]", escape(doing),
                          f"[dim]{time.monotonic() - since:.0f}s[/]")
        return Group(table)


@contextlib.contextmanager
def printer(out: Console | None = None) -> Iterator[Emit]:
    """A live view on a terminal, plain lines otherwise."""
    out = out or console
    if not out.is_terminal or OPTIONS.json or OPTIONS.quiet:
        yield EventPrinter(None if OPTIONS.json else out)
        return
    live = LivePrinter(out)
    with live.live:
        yield live
