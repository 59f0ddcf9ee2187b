"""validate, plan, schema."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.markup import escape

from hosted.cli.compose import backend_session
from hosted.cli.console import EventPrinter, console, print_json
from hosted.errors import UsageError
from hosted.model import Environment
from hosted.plan import Plan, plan
from hosted.profile import find_profile, load_profile, profile_json_schema


def load(args: argparse.Namespace) -> Environment:
    return load_profile(find_profile(args.file))


def cmd_validate(args: argparse.Namespace) -> int:
    env = load(args)
    names = ", ".join(m.name for m in env.machines)
    console.print(f"[green]ok[/] {escape(env.path)}: environment {env.name!r}, "
                  f"{len(env.machines)} machine(s): {escape(names)}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    text = json.dumps(profile_json_schema(), indent=2) + "\n"
    output = getattr(args, "output", None)
    if not output:
        sys.stdout.write(text)
        return 0
    target = Path(output).expanduser().absolute()
    if not target.parent.is_dir():
        raise UsageError(f"{target.parent} is not a directory; nothing was written",
                         "Create the directory first, or give -o a path in an existing one.")
    target.write_text(text, encoding="utf-8")
    console.print(f"wrote {escape(str(target))}; editors with the YAML language server use it when "
                  "the profile's first line is:")
    console.print(f"# yaml-language-server: $schema={escape(_relative(target))}", highlight=False)
    return 0


def _relative(target: Path) -> str:
    """The schema as the profile in the current directory would name it (./hosted.schema.json)."""
    try:
        return "./" + target.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return target.as_uri()


def cmd_plan(args: argparse.Namespace) -> int:
    env = load(args)
    printer = EventPrinter()
    with backend_session(printer) as backend:
        result = plan(env, backend.list_machines(), only=tuple(args.machines))
    if args.json:
        print_json("plan", result.to_json())
    else:
        print_plan(result)
    return 0


def print_plan(result: Plan) -> None:
    for w in result.warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}")
    for mp in result.machines:
        console.print(f"[bold]{escape(mp.machine)}[/] ({escape(mp.vm_name)})")
        for step in mp.steps:
            mark = "+"
            if step.action == "noop":
                mark = "[dim]=[/]"
            elif step.needs_confirmation:
                mark = "[yellow]![/]"
            text = escape(step.describe())
            console.print(f"  {mark} " + (f"[dim]{text}[/]" if step.action == "noop" else text))
    n = sum(len(m.actions) for m in result.machines)
    console.print(f"{n} step(s) to apply." if n else "Nothing to do: VirtualBox matches the profile.")
