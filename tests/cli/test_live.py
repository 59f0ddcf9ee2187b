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


def test_progress_updates_the_line_with_a_bar_until_it_is_done() -> None:
    out, _ = terminal()
    p = LivePrinter(out)
    p(Event("step-started", "clone demo-web from base", machine="web"))
    p(Event("progress", "cloning demo-web", machine="web", percent=40))
    view = rendered(p)
    assert "cloning demo-web" in view and "━━━━━━" in view and view.rstrip().endswith("40%    0s")
    p(Event("progress", "cloned demo-web", machine="web", percent=100))
    view = rendered(p)
    assert "clone demo-web from base" in view and "━" not in view and "%" not in view


def test_a_wait_counts_towards_its_limit_and_names_are_the_profile_s() -> None:
    out, _ = terminal()
    p = LivePrinter(out, {"demo-web": "web", "web": "web"})
    p(Event("progress", "starting demo-web", machine="demo-web", percent=50))
    p(Event("stage", "ssh: waiting (up to 300 s)", machine="web", limit=300))
    view = rendered(p)
    assert view.count("web") == 1 and "ssh: waiting (up to 300 s)" in view and "0/300s" in view
    p(Event("progress", "downloading base: 1 MB of 4 MB", percent=25))
    p(Event("progress", "importing base.ova", machine="hosted-template-base", percent=60))
    lines = rendered(p).splitlines()
    assert lines[-1].split()[1:3] == ["images", "importing"], "host work on its own line, last"


def test_not_a_terminal_means_plain_lines() -> None:
    buf = io.StringIO()
    plain = Console(file=buf, force_terminal=False, width=100)
    with printer(plain) as emit:
        assert type(emit) is EventPrinter
        emit(Event("step-finished", "start", machine="web", seconds=1.0))
    assert buf.getvalue() == "web start (1.0s)\n"
