"""The CLI's one rich Console, error rendering and the event renderer.

When stdout is not a terminal, output degrades to plain lines (rich does that
by itself; NO_COLOR and COLUMNS are honoured).  Output redirected on Windows is
encoded as cp1252: a character it lacks (a mark, a guest's output) is written as
'?' rather than ending the command, and the marks have plain stand-ins there."""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from hosted import __version__, paths
from hosted.errors import EXIT_FAILED, HostedError, ProfileError
from hosted.events import Event
from hosted.redact import printable

JSON_FORMAT_VERSION = 1


class _Console(Console):
    """Text from profiles and bundles is shown as text: control characters escaped, no emoji codes."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(printable(text), **kwargs)


def _tolerant(stream: object) -> None:
    """Characters the stream's encoding lacks become '?' instead of UnicodeEncodeError."""
    if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
        stream.reconfigure(errors="replace")


_tolerant(sys.stdout)
_tolerant(sys.stderr)
console = _Console(highlight=False, soft_wrap=True, emoji=False)
err_console = _Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def glyph(char: str, plain: str, out: Console | None = None) -> str:
    """``char`` where the output can show it, else ``plain`` (cp1252 has no ✓ ✗ ◀)."""
    try:
        char.encode((out or console).encoding)
    except (UnicodeEncodeError, LookupError):
        return plain
    return char


def debug_log_path() -> Path:
    return paths.debug_log_path()


def run_guarded(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Named errors print their message and hint; anything else is a bug."""
    try:
        return handler(args)
    except HostedError as exc:
        print_error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    except Exception as exc:  # a bug: short on screen, full in the debug log
        try:
            path = debug_log_path()
            with paths.open_private(path) as fh:
                fh.write(f"hosted {__version__} {sys.argv!r}\n{traceback.format_exc()}\n")
        except HostedError as log_error:
            path = Path(f"nowhere ({log_error.message})")
        err_console.print(f"[bold red]internal error:[/] {escape(type(exc).__name__)}: {escape(str(exc))}")
        err_console.print(f"This is a bug in hosted. The full traceback is in {path}")
        return EXIT_FAILED


def print_error(exc: HostedError) -> None:
    """The message and hint; for a profile, those of every problem found, and how many."""
    problems: Sequence[HostedError] = exc.problems if isinstance(exc, ProfileError) else [exc]
    for problem in problems:
        err_console.print(f"[bold red]error:[/] {escape(problem.message)}")
        if problem.hint:
            err_console.print(f"[yellow]hint:[/] {escape(problem.hint)}")
    if isinstance(exc, ProfileError) and len(problems) > 1:
        where = os.path.basename(exc.file) or "the profile"
        err_console.print(f"[bold red]{len(problems)} problems[/] in {escape(where)}")


def print_json(kind: str, data: dict[str, Any]) -> None:
    envelope = {"hosted_json": JSON_FORMAT_VERSION, "kind": kind, "hosted_version": __version__, **data}
    sys.stdout.write(json.dumps(envelope, indent=2, sort_keys=False) + "\n")


def confirm(questions: Sequence[str]) -> bool:
    from rich.prompt import Confirm

    console.print("[bold]These steps need your confirmation:[/]")
    for q in questions:
        console.print(f"  - {escape(q)}")
    return Confirm.ask("Go ahead?", default=False, console=console)


def can_ask() -> bool:
    return sys.stdin is not None and sys.stdin.isatty() and sys.stdout.isatty()


def asker() -> Callable[[Sequence[str]], bool] | None:
    """How to ask for a confirmation: on a terminal, ask; otherwise there is no way (None)."""
    return confirm if can_ask() else None


VERBOSE = False  # -v: also show each step as it starts (set by the entry point)


class EventPrinter:
    """Renders library events as lines prefixed with the machine's name."""

    STYLE = {"warning": "yellow", "step-finished": "green", "step-noop": "dim", "stage": "cyan"}

    def __init__(self, out: Console | None = None, verbose: bool | None = None) -> None:
        self.out = out or console
        self.verbose = VERBOSE if verbose is None else verbose
        self._last_percent: dict[tuple[str | None, str], int] = {}

    def __call__(self, event: Event) -> None:
        if event.kind == "progress":
            self._progress(event)
            return
        if event.kind == "step-started" and not self.verbose:
            return
        prefix = f"[bold]{escape(event.machine)}[/] " if event.machine else ""
        text = escape(event.message)
        if event.kind == "step-finished" and event.seconds is not None:
            text += f" [dim]({event.seconds:.1f}s)[/]"
        if event.kind == "warning":
            text = "warning: " + text
        if event.kind == "step-started":
            text = "> " + text
        style = self.STYLE.get(event.kind)
        self.out.print(prefix + (f"[{style}]{text}[/]" if style else text))

    def _progress(self, event: Event) -> None:
        # Plain lines: one every 25 %, not one per VirtualBox progress tick.
        pct = int(event.percent or 0)
        # Keyed on what is in progress, not on the changing details after ":".
        key = (event.machine, event.message.split(":", 1)[0])
        if pct // 25 > self._last_percent.get(key, -1) // 25 or pct == 100:
            self._last_percent[key] = pct
            prefix = f"{event.machine} " if event.machine else ""
            self.out.print(f"{escape(prefix)}[dim]{escape(event.message)}: {pct}%[/]")
