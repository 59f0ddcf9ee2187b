"""hosted doctor: one line per check (✓ ok, ! warning, ✗ failure) with how to fix it."""

from __future__ import annotations

import argparse

from rich.markup import escape

from hosted.backend.virtualbox import diagnose as vbox_diagnose
from hosted.cli.console import OPTIONS, console, glyph, print_json
from hosted.errors import EXIT_FAILED, EXIT_OK, EXIT_UNAVAILABLE


def marks() -> dict[str, str]:
    return {"ok": f"[green]{glyph('✓', '+')}[/]", "warn": "[yellow]![/]",
            "fail": f"[bold red]{glyph('✗', 'x')}[/]"}


def exit_code(checks: list[vbox_diagnose.Check]) -> int:
    if vbox_diagnose.unavailable(checks):
        return EXIT_UNAVAILABLE
    return EXIT_FAILED if any(c.status == "fail" for c in checks) else EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    checks = vbox_diagnose.diagnose()
    if OPTIONS.script and any(c.error == "ServiceRefused" for c in checks):
        from hosted.cli import reconnect

        reconnect.again()  # VBoxSVC was shutting down: a new process reaches a new one
    code = exit_code(checks)
    if OPTIONS.json:
        print_json(OPTIONS.kind, {"ok": code == EXIT_OK, "exit_code": code,
                              "checks": [c.to_json() for c in checks]})
        return code
    mark = marks()
    for c in checks:
        console.print(f"{mark[c.status]} {escape(c.name)}: {escape(c.detail)}")
        if c.hint and c.status != "ok":
            console.print(f"  [yellow]hint:[/] {escape(c.hint)}")
    failed = sum(c.status == "fail" for c in checks)
    warned = sum(c.status == "warn" for c in checks)
    if code == EXIT_UNAVAILABLE:
        console.print("[bold red]VirtualBox cannot be used by hosted here.[/]")
    elif failed or warned:
        console.print(f"{failed} problem(s), {warned} warning(s).")
    else:
        console.print("[green]Everything hosted needs is in place.[/]")
    return code
