"""halt, suspend, resume, reload, logs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.markup import escape

from hosted import api
from hosted.cli.console import OPTIONS, EventPrinter, aliases, asker, console, print_json
from hosted.cli.profile_cmds import check_names, load, one_machine
from hosted.cli.results import report
from hosted.errors import MachineNotFound


def cmd_halt(args: argparse.Namespace) -> int:
    env = load(args)
    check_names(env, args.machines)
    return report(api.halt(env, args.machines, force=args.force, timeout=args.timeout,
                           on_event=EventPrinter(aliases=aliases(env)), wait_lock=not args.no_wait_lock))


def cmd_suspend(args: argparse.Namespace) -> int:
    env = load(args)
    check_names(env, args.machines)
    return report(api.suspend(env, args.machines, on_event=EventPrinter(aliases=aliases(env)),
                              wait_lock=not args.no_wait_lock))


def cmd_resume(args: argparse.Namespace) -> int:
    env = load(args)
    check_names(env, args.machines)
    return report(api.resume(env, args.machines, on_event=EventPrinter(aliases=aliases(env)),
                             wait_lock=not args.no_wait_lock))


def cmd_reload(args: argparse.Namespace) -> int:
    env = load(args)
    check_names(env, args.machines)
    from hosted.cli import live

    with live.printer(env=env) as printer:
        result = api.reload(env, args.machines, yes=args.yes, confirm=asker(), on_event=printer,
                            parallel=args.parallel, wait=not args.no_wait, provision=not args.no_provision,
                            timeout=args.timeout, wait_lock=not args.no_wait_lock)
    return report(result)


def cmd_logs(args: argparse.Namespace) -> int:
    env = load(args)
    name = one_machine(env, args.machine, "logs")
    which = "vbox" if args.vbox else "serial"
    path = Path(api.log_paths(env, name).get(which, ""))
    if not path.is_file():
        raise MachineNotFound(f"{name}: no {which} log yet ({path})",
                              "the log appears once the machine has been started")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    if args.lines:
        lines = lines[-args.lines:]
    if OPTIONS.json:
        print_json(OPTIONS.kind, {"machine": name, "log": which, "path": str(path), "lines": lines})
        return 0
    if not OPTIONS.quiet:
        console.print(f"[dim]{escape(str(path))}[/]", highlight=False)
    sys.stdout.write("\n".join(lines) + ("\n" if lines else ""))
    return 0
