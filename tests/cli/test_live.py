"""The live view: one line per machine with what it does now; results scroll above."""

from __future__ import annotations

import io

from rich.console import Console

from hosted.cli.console import EventPrinter
from hosted.cli.live import LivePrinter, printer
from hosted.events import Event


def terminal() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=True, width=100, color_system=None), buf


def rendered(p: LivePrinter) -> str:
    out, buf = terminal()
    out.print(p.render())
    return buf.getvalue()


def test_each_machine_shows_what_it_is_doing_until_its_step_finishes() -> None:
    out, buf = terminal()
    p = LivePrinter(out)
    p(Event("step-started", "create demo-web", machine="web"))
    p(Event("stage", "ssh: waiting (up to 300 s)", machine="db"))
    view = rendered(p)
    assert "web" in view and "create demo-web" in view
    assert "db" in view and "ssh: waiting" in view
    p(Event("step-finished", "create demo-web", machine="web", seconds=0.2))
    assert "create demo-web" not in rendered(p)
    assert "web create demo-web (0.2s)" in buf.getvalue()


def test_progress_updates_the_line_with_its_percent() -> None:
    out, _ = terminal()
    p = LivePrinter(out)
    p(Event("progress", "importing", machine="web", percent=40))
    assert "importing 40%" in rendered(p)
    p(Event("progress", "importing", machine="web", percent=100))
    assert "importing" not in rendered(p)


def test_not_a_terminal_means_plain_lines() -> None:
    buf = io.StringIO()
    plain = Console(file=buf, force_terminal=False, width=100)
    with printer(plain) as emit:
        assert type(emit) is EventPrinter
        emit(Event("step-finished", "start", machine="web", seconds=1.0))
    assert buf.getvalue() == "web start (1.0s)\n"
