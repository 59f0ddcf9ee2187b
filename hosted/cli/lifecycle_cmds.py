"""halt, suspend, resume, reload, logs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.markup import escape

from hosted.apply import MachineResult, apply
from hosted.cli.compose import backend_session
from hosted.cli.console import EventPrinter, console
from hosted.cli.machine_cmds import report, up_options
from hosted.cli.profile_cmds import load
from hosted.errors import EXIT_FAILED, MachineNotFound
from hosted.lifecycle import halt, owned_machines, resume, suspend
from hosted.plan import plan


def _summary(results: list[MachineResult]) -> int:
    if not results:
        console.print("No machine of this environment exists yet: `hosted up` creates them.")
    return 0 if all(r.ok for r in results) else EXIT_FAILED


def cmd_halt(args: argparse.Namespace) -> int:
    env = load(args)
    printer = EventPrinter()
    with backend_session(printer) as backend:
        return _summary(halt(env, backend, args.machines, printer, force=args.force, timeout=args.timeout))


def cmd_suspend(args: argparse.Namespace) -> int:
    env = load(args)
    printer = EventPrinter()
    with backend_session(printer) as backend:
        return _summary(suspend(env, backend, args.machines, printer))


def cmd_resume(args: argparse.Namespace) -> int:
    env = load(args)
    printer = EventPrinter()
    with backend_session(printer) as backend:
        return _summary(resume(env, backend, args.machines, printer))


def cmd_reload(args: argparse.Namespace) -> int:
    env = load(args)
    printer = EventPrinter()
    with backend_session(printer) as backend:
        halted = halt(env, backend, args.machines, printer, timeout=args.timeout)
        if not all(r.ok for r in halted):
            return _summary(halted)
        the_plan = plan(env, backend.list_machines(), only=tuple(args.machines))
        return report(apply(the_plan, env, backend, printer, up_options(args, env, backend)))


def cmd_logs(args: argparse.Namespace) -> int:
    env = load(args)
    with backend_session(EventPrinter()) as backend:
        machine = owned_machines(env, backend, [args.machine])[0]
        paths = backend.log_paths(machine.uuid)
    which = "vbox" if args.vbox else "serial"
    path = Path(paths.get(which, ""))
    if not path.is_file():
        raise MachineNotFound(
            f"{args.machine}: no {which} log yet ({path})",
            "the log appears once the machine has been started",
        )
    lines = path.read_text(errors="replace").splitlines()
    if args.lines:
        lines = lines[-args.lines:]
    console.print(f"[dim]{escape(str(path))}[/]", highlight=False)
    sys.stdout.write("\n".join(lines) + ("\n" if lines else ""))
    return 0
