"""up, status, destroy."""

from __future__ import annotations

import argparse

from rich.markup import escape
from rich.table import Table

from hosted import api
from hosted.cli import live
from hosted.cli.console import EventPrinter, asker, console, print_json
from hosted.cli.profile_cmds import check_names, load
from hosted.cli.results import report
from hosted.compose import backend_session
from hosted.machine_status import endpoints


def cmd_up(args: argparse.Namespace) -> int:
    env = load(args)
    check_names(env, args.machines)
    with live.printer() as printer, backend_session(printer) as backend:
        result = api.up(env, args.machines, yes=args.yes, confirm=asker(), on_event=printer,
                        parallel=args.parallel, wait=not args.no_wait, provision=not args.no_provision,
                        backend=backend, wait_lock=not args.no_wait_lock)
        where = endpoints(env, backend, result)
    code = report(result)
    for name, user, host, port in where:
        console.print(f"  {escape(name)}: hosted ssh {escape(name)}  [dim]({user}@{host}:{port})[/]")
    return code


def cmd_status(args: argparse.Namespace) -> int:
    env = load(args)
    check_names(env, args.machines)
    rows = api.status(env, args.machines)
    if args.json:
        print_json("status", {"environment": env.name, "machines": [r.to_json() for r in rows]})
        return 0
    table = Table(title=f"environment {env.name}", title_justify="left")
    addresses = any(r.addresses for r in rows)
    for col in ("machine", "VM", "state", "drift", "forwards", *(("addresses",) if addresses else ())):
        table.add_column(col)
    for r in rows:
        drift = "; ".join(r.drift) or ("in sync" if r.exists else "-")
        if not r.in_profile:
            drift = "not in the profile"
        fwd = ", ".join(f"{f.host_ip}:{f.host}->{f.guest}" for f in r.forwards) or "-"
        extra = (escape("; ".join(r.addresses) or "-"),) if addresses else ()
        table.add_row(escape(r.machine), escape(r.vm_name), r.power, escape(drift), fwd, *extra)
    console.print(table)
    return 0


def cmd_destroy(args: argparse.Namespace) -> int:
    env = load(args)
    check_names(env, args.machines)
    printer = EventPrinter()
    return report(api.destroy(env, args.machines, yes=args.yes, confirm=asker(), on_event=printer,
                              wait_lock=not args.no_wait_lock))
