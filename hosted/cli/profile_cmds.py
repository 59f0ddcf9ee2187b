"""validate, plan, schema."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape

from hosted import api
from hosted.cli.console import OPTIONS, EventPrinter, aliases, console, print_json
from hosted.cli.results import print_plan
from hosted.errors import UnknownMachine, UsageError
from hosted.model import Environment
from hosted.profile import find_profile, load_profile, profile_json_schema
from hosted.redact import redact_data

if TYPE_CHECKING:
    from hosted.images.bundle import OpenedBundle


def load(args: argparse.Namespace, *, cache: bool = True) -> Environment:
    """The profile: -f, else $HOSTED_FILE, else hosted.yaml here or in a parent directory;
    validated once and then taken from the compiled-profile cache while it is unchanged."""
    return load_profile(find_profile(getattr(args, "file", None)), cache=cache)


def load_with_bundle(args: argparse.Namespace,
                     allowed_signers: str | None) -> tuple[Environment, OpenedBundle | None]:
    """``load``, and the bundle the profile came from (None for a profile file), its signature
    checked against ``allowed_signers`` (a bad one is BadSignature, exit 2, before extraction)."""
    from hosted.profile import locate_profile

    located = locate_profile(getattr(args, "file", None),
                             allowed_signers=Path(allowed_signers).expanduser() if allowed_signers else None)
    return load_profile(located.profile, cache=located.bundle is None), located.bundle


def check_names(env: Environment, names: list[str]) -> None:
    unknown = [n for n in names if env.machine(n) is None]
    if unknown:
        known = ", ".join(m.name for m in env.machines)
        raise UnknownMachine(f"no machine named {', '.join(unknown)} in {env.path}", f"machines: {known}")


def one_machine(env: Environment, name: str | None, command: str) -> str:
    """The machine a one-machine command (ssh, cp, logs) works on: ``name``; without one, the
    environment's only machine, or the one marked ``primary: true``."""
    if name is not None:
        check_names(env, [name])
        return name
    if len(env.machines) == 1:
        return env.machines[0].name
    primary = [m.name for m in env.machines if m.primary]
    if len(primary) == 1:
        return primary[0]
    known = ", ".join(m.name for m in env.machines)
    raise UsageError(f"{command}: name the machine; environment {env.name!r} has {len(env.machines)} "
                     f"({known})", f"e.g. `hosted {command} {env.machines[0].name} ...`, or mark one "
                     "machine `primary: true` in the profile to make it the default")


def cmd_validate(args: argparse.Namespace) -> int:
    env = load(args, cache=False)  # validate always validates
    if OPTIONS.json:
        print_json(OPTIONS.kind, {"path": env.path, "environment": env.name,
                                  "machines": [m.name for m in env.machines],
                                  "images": [i.name for i in env.images], "warnings": list(env.warnings)})
        return 0
    names = ", ".join(m.name for m in env.machines)
    console.print(f"[green]ok[/] {escape(env.path)}: environment {env.name!r}, "
                  f"{len(env.machines)} machine(s): {escape(names)}")
    for warning in env.warnings:  # valid, but worth knowing: a forward open to the network, ...
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    schema = profile_json_schema()
    text = json.dumps(schema, indent=2) + "\n"
    output = getattr(args, "output", None)
    if not output:
        if OPTIONS.json:
            print_json(OPTIONS.kind, {"path": None, "schema": schema})
        else:
            sys.stdout.write(text)
        return 0
    target = Path(output).expanduser().absolute()
    if not target.parent.is_dir():
        raise UsageError(f"{target.parent} is not a directory; nothing was written",
                         "Create the directory first, or give -o a path in an existing one.")
    target.write_text(text, encoding="utf-8")
    if OPTIONS.json:
        print_json(OPTIONS.kind, {"path": str(target), "modeline": _modeline(target)})
        return 0
    console.print(f"wrote {escape(str(target))}; editors with the YAML language server use it when "
                  "the profile's first line is:")
    console.print(escape(_modeline(target)), highlight=False)
    return 0


def _modeline(target: Path) -> str:
    return f"# yaml-language-server: $schema={_relative(target)}"


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
                      on_event=EventPrinter(aliases=aliases(env)))
    if OPTIONS.json:
        print_json(OPTIONS.kind, redact_data(result.to_json(), env.secrets))
    else:
        print_plan(result, env.secrets)
    return 0
