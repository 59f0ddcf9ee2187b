"""validate, plan, schema."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.markup import escape

from hosted import api
from hosted.cli.console import EventPrinter, console, print_json
from hosted.cli.results import print_plan
from hosted.errors import UnknownMachine, UsageError
from hosted.model import Environment
from hosted.profile import find_profile, load_profile, profile_json_schema


def load(args: argparse.Namespace) -> Environment:
    return load_profile(find_profile(args.file))


def check_names(env: Environment, names: list[str]) -> None:
    unknown = [n for n in names if env.machine(n) is None]
    if unknown:
        known = ", ".join(m.name for m in env.machines)
        raise UnknownMachine(f"no machine named {', '.join(unknown)} in {env.path}", f"machines: {known}")


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
    check_names(env, args.machines)
    result = api.plan(env, args.machines, wait=not args.no_wait, provision=not args.no_provision,
                      on_event=EventPrinter())
    if args.json:
        print_json("plan", result.to_json())
    else:
        print_plan(result)
    return 0
