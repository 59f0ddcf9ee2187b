"""The CLI's one rich Console, the options every command takes, error rendering, the JSON
envelope and the event renderer.

When stdout is not a terminal, output degrades to plain lines (rich does that
by itself; NO_COLOR and COLUMNS are honoured).  With ``--json`` stdout holds one JSON
document (a failure too, in the same envelope), and progress goes to stderr.  Output
redirected on Windows is encoded as cp1252: a character it lacks (a mark, a guest's
output) is written as '?' rather than ending the command, and the marks have plain
stand-ins there."""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from hosted import __version__
from hosted.cli import debuglog
from hosted.errors import EXIT_FAILED, HostedError, ProfileError, ServiceRefused
from hosted.events import Event
from hosted.model import Environment
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
# A terminal gets long lines wrapped between words; a pipe or a file gets each line whole.
console.soft_wrap, err_console.soft_wrap = not console.is_terminal, not err_console.is_terminal
events_log = logging.getLogger("hosted.events")


def glyph(char: str, plain: str, out: Console | None = None) -> str:
    """``char`` where the output can show it, else ``plain`` (cp1252 has no ✓ ✗ ◀)."""
    try:
        char.encode((out or console).encoding)
    except (UnicodeEncodeError, LookupError):
        return plain
    return char


@dataclass
class Options:
    """-v, -q, --json and --debug, as the entry point parsed them (before or after the command)."""

    verbose: bool = False  # also show each step as it starts
    quiet: bool = False  # no progress: results, errors and warnings only
    json: bool = False  # stdout is one JSON document
    debug: bool = False  # the debug log gets everything
    kind: str = "error"  # the JSON envelope's kind for this command
    script: bool = False  # the console script's own process (main(script=True)), not main() in process


OPTIONS = Options()


def run_command(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a command with the options it was given; named errors print their message and hint
    (in the JSON envelope with --json) and exit with their code; anything else is a bug."""
    # In place: the command modules hold this object (``from hosted.cli.console import OPTIONS``).
    OPTIONS.__dict__.update(vars(Options(
        verbose=bool(args.verbose), quiet=bool(args.quiet), json=bool(args.json), debug=bool(args.debug),
        kind=getattr(args, "command_kind", "error"), script=bool(getattr(args, "script", False)))))
    if OPTIONS.debug:
        debuglog.start(sys.argv)
    try:
        return run_guarded(handler, args)
    finally:
        if OPTIONS.debug:
            debuglog.stop()


def run_guarded(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    kind = OPTIONS.kind
    try:
        return handler(args)
    except HostedError as exc:
        if OPTIONS.debug:
            debuglog.log.debug("%s: %s", type(exc).__name__, exc.message, exc_info=True)
        if isinstance(exc, ServiceRefused) and OPTIONS.script:
            from hosted.cli import reconnect

            reconnect.again()  # a new process reaches a new VBoxSVC; back here only if not
        if OPTIONS.json:
            print_json(kind, {"ok": False, "error": error_json(exc)})
        else:
            print_error(exc)
            if OPTIONS.debug:
                err_console.print(f"[dim]debug log: {escape(str(debuglog.path()))}[/]")
        return exc.exit_code
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    except BrokenPipeError:  # `hosted ... | head`: the reader left; say nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush must not fail too
        return 141
    except Exception as exc:  # a bug: short on screen, full in the debug log
        path = debuglog.record_traceback(f"internal error in {getattr(args, 'command', '?')}")
        message = f"internal error: {type(exc).__name__}: {exc}"
        hint = f"This is a bug in hosted. The full traceback is in {path}"
        if OPTIONS.json:
            print_json(kind, {"ok": False, "error": {"message": message, "hint": hint,
                                                     "exit_code": EXIT_FAILED, "type": "InternalError"}})
        else:
            err_console.print(f"[bold red]internal error:[/] {escape(type(exc).__name__)}: "
                              f"{escape(str(exc))}")
            err_console.print(escape(hint))
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


def error_json(exc: HostedError) -> dict[str, Any]:
    """A failure as the envelope's ``error``: message, hint, exit code; a profile's every problem."""
    data: dict[str, Any] = {"message": exc.message, "hint": exc.hint, "exit_code": exc.exit_code,
                            "type": type(exc).__name__}
    if isinstance(exc, ProfileError):
        data["problems"] = [{"message": p.message, "hint": p.hint, "file": p.file, "line": p.line,
                             "column": p.column, "key": p.key} for p in exc.problems]
    return data


def print_json(kind: str, data: dict[str, Any]) -> None:
    """The one envelope: format version, kind, hosted's version, ``ok`` and ``error`` (null on
    success), then the command's own data."""
    envelope = {"hosted_json": JSON_FORMAT_VERSION, "kind": kind, "hosted_version": __version__,
                "ok": data.get("ok", True), "error": data.get("error"), **data}
    sys.stdout.write(json.dumps(envelope, indent=2, sort_keys=False) + "\n")
    sys.stdout.flush()


def confirm(questions: Sequence[str]) -> bool:
    from rich.prompt import Confirm

    out = err_console if OPTIONS.json else console  # stdout holds only the JSON document
    out.print("[bold]These steps need your confirmation:[/]")
    for q in questions:
        out.print(f"  - {escape(q)}")
    return Confirm.ask("Go ahead?", default=False, console=out)


def can_ask() -> bool:
    return sys.stdin is not None and sys.stdin.isatty() and \
        (err_console if OPTIONS.json else console).is_terminal


def asker() -> Callable[[Sequence[str]], bool] | None:
    """How to ask for a confirmation: on a terminal, ask; otherwise there is no way (None)."""
    return confirm if can_ask() else None


def aliases(env: Environment | None) -> dict[str, str]:
    """VirtualBox's names of the environment's machines (and their own) -> the profile's names."""
    return {} if env is None else {m.vm_name: m.name for m in env.machines} | \
        {m.name: m.name for m in env.machines}


def events_console() -> Console:
    """Where progress goes: stderr when stdout holds JSON."""
    return err_console if OPTIONS.json else console


class EventPrinter:
    """Renders library events as lines prefixed with the machine's name."""

    STYLE = {"warning": "yellow", "step-finished": "green", "step-noop": "dim", "stage": "cyan"}

    def __init__(self, out: Console | None = None, verbose: bool | None = None,
                 quiet: bool | None = None, aliases: Mapping[str, str] | None = None) -> None:
        self.out = out or events_console()
        self.aliases = dict(aliases or {})  # VirtualBox's names for machines -> the profile's
        self.verbose = OPTIONS.verbose if verbose is None else verbose
        self.quiet = OPTIONS.quiet if quiet is None else quiet
        self._last_percent: dict[tuple[str | None, str], int] = {}

    def __call__(self, event: Event) -> None:
        events_log.debug("%s %s: %s%s", event.kind, event.machine or "-", event.message,
                         "" if event.percent is None else f" ({event.percent:.0f}%)")
        self.show(event)

    def show(self, event: Event) -> None:
        if self.quiet and event.kind != "warning":
            return
        if event.kind == "progress":
            self._progress(event)
            return
        if event.kind == "step-started" and not self.verbose:
            return
        self.out.print(self.line(event))

    def name(self, event: Event) -> str | None:
        return self.aliases.get(event.machine, event.machine) if event.machine else None

    def line(self, event: Event) -> str:
        name = self.name(event)
        prefix = f"[bold]{escape(name)}[/] " if name else ""
        text = escape(event.message)
        if event.kind == "step-finished" and event.seconds is not None:
            text += f" [dim]({event.seconds:.1f}s)[/]"
        if event.kind == "warning":
            text = "warning: " + text
        if event.kind == "step-started":
            text = "> " + text
        style = self.STYLE.get(event.kind)
        return prefix + (f"[{style}]{text}[/]" if style else text)

    def _progress(self, event: Event) -> None:
        # Plain lines: one every 25 %, not one per VirtualBox progress tick.
        pct = int(event.percent or 0)
        # Keyed on what is in progress, not on the changing details after ":".
        name = self.name(event)
        key = (name, event.message.split(":", 1)[0])
        if pct // 25 > self._last_percent.get(key, -1) // 25 or pct == 100:
            self._last_percent[key] = pct
            prefix = f"{name} " if name else ""
            self.out.print(f"{escape(prefix)}[dim]{escape(event.message)}: {pct}%[/]")
