"""The one renderer of what a command did (a RunResult) and of what it would do (a Plan)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from hosted.cli.console import OPTIONS, console, glyph, print_json
from hosted.errors import EXIT_FAILED, EXIT_OK, EXIT_UNAVAILABLE
from hosted.redact import redact

if TYPE_CHECKING:  # read-only commands (status, snapshot list) load neither
    from hosted.planner import Plan
    from hosted.run import MachineResult, RunResult

NO_MACHINES = "No machine of this environment exists yet: `hosted up` creates them."


def report(result: RunResult, extra: dict[str, Any] | None = None) -> int:
    """One line per machine (and image) after the events: what changed, or the error and its hint;
    with --json, the result in the envelope (``extra`` added), with ``error`` saying what failed.
    With -q only the failures are shown."""
    code = exit_code(result)
    if OPTIONS.json:
        print_json(OPTIONS.kind, {**result.to_json(), "error": failure(result), **(extra or {})})
        return code
    if not result.machines and not result.images and not OPTIONS.quiet:
        console.print(NO_MACHINES)
    for m in [*result.images, *result.machines]:
        if m.error is not None or not OPTIONS.quiet:
            _line(m)
    return code


def exit_code(result: RunResult) -> int:
    """0; 3 when VirtualBox went away under any machine (it is gone for all of them, and a rerun
    once it is back is the answer); else 1."""
    if result.ok:
        return EXIT_OK
    if any(m.error is not None and m.error.exit_code == EXIT_UNAVAILABLE for m in result.failed):
        return EXIT_UNAVAILABLE
    return EXIT_FAILED


def failure(result: RunResult) -> dict[str, Any] | None:
    """The envelope's ``error`` for a run in which something failed (each one is in its result)."""
    failed = result.failed
    if not failed:
        return None
    first = failed[0].error
    assert first is not None
    if len(failed) == 1:
        message = f"{failed[0].machine}: {first.message}"
    else:
        message = f"{len(failed)} failed: {', '.join(m.machine for m in failed)}"
    return {"message": message, "hint": first.hint if len(failed) == 1 else "each one's error is in "
            "its entry", "exit_code": exit_code(result), "type": type(first).__name__ if len(failed) == 1 else
            "OperationFailed"}


def _line(m: MachineResult) -> None:
    name = escape(m.machine) + (f" ({escape(m.vm_name)})" if m.vm_name else "")
    if m.error is not None:
        console.print(f"[bold red]{glyph('✗', 'x')} {name}[/]: {escape(m.error.message)}")
        if m.error.hint:
            console.print(f"  [yellow]hint:[/] {escape(m.error.hint)}")
        return
    if not m.changed:
        console.print(f"[green]{glyph('✓', '+')} {name}[/]: nothing to do")
        return
    phases = ", ".join(f"{k} {v:.1f}s" for k, v in m.phases.items())
    console.print(f"[green]{glyph('✓', '+')} {name}[/]: {len(m.changed)} step(s) done"
                  + (f" — {phases}" if phases else ""))


def print_plan(plan: Plan, secrets: Sequence[str] = ()) -> None:
    """The plan as lines, the profile's ``secrets`` masked (a step's text may carry a value)."""
    for w in plan.warnings:
        console.print(f"[yellow]warning:[/] {escape(redact(w, secrets))}")
    if plan.images:
        console.print("[bold]this host[/] (images and networks)")
        for step in plan.images:
            _step(step.is_noop, step.needs_confirmation, redact(step.describe(), secrets))
    for mp in plan.machines:
        console.print(f"[bold]{escape(mp.machine)}[/] ({escape(mp.vm_name)})")
        for step in mp.steps:
            _step(step.is_noop, step.needs_confirmation, redact(step.describe(), secrets))
    n = sum(1 for s in plan.steps if not s.is_noop)
    console.print(f"{n} step(s) to take." if n else "Nothing to do: VirtualBox matches the profile.")


def _step(noop: bool, confirm: bool, text: str) -> None:
    mark = "[dim]=[/]" if noop else "[yellow]![/]" if confirm else "+"
    text = escape(text)
    console.print(f"  {mark} " + (f"[dim]{text}[/]" if noop else text))
