"""The one renderer of what a command did (a RunResult) and of what it would do (a Plan)."""

from __future__ import annotations

from rich.markup import escape

from hosted.cli.console import console, glyph
from hosted.errors import EXIT_FAILED
from hosted.planner import Plan
from hosted.run import MachineResult, RunResult

NO_MACHINES = "No machine of this environment exists yet: `hosted up` creates them."


def report(result: RunResult) -> int:
    """One line per machine (and image) after the events: what changed, or the error and its hint."""
    if not result.machines and not result.images:
        console.print(NO_MACHINES)
    for m in [*result.images, *result.machines]:
        _line(m)
    return 0 if result.ok else EXIT_FAILED


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


def print_plan(plan: Plan) -> None:
    for w in plan.warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}")
    if plan.images:
        console.print("[bold]this host[/] (images and networks)")
        for step in plan.images:
            _step(step.is_noop, step.needs_confirmation, step.describe())
    for mp in plan.machines:
        console.print(f"[bold]{escape(mp.machine)}[/] ({escape(mp.vm_name)})")
        for step in mp.steps:
            _step(step.is_noop, step.needs_confirmation, step.describe())
    n = sum(1 for s in plan.steps if not s.is_noop)
    console.print(f"{n} step(s) to take." if n else "Nothing to do: VirtualBox matches the profile.")


def _step(noop: bool, confirm: bool, text: str) -> None:
    mark = "[dim]=[/]" if noop else "[yellow]![/]" if confirm else "+"
    text = escape(text)
    console.print(f"  {mark} " + (f"[dim]{text}[/]" if noop else text))
