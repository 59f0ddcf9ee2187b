"""up, status, list (global-status), destroy."""

from __future__ import annotations

import argparse

from rich.markup import escape

from hosted import api
from hosted.cli.console import OPTIONS, EventPrinter, aliases, asker, console, print_json
from hosted.cli.profile_cmds import check_names, load, load_with_bundle
from hosted.cli.results import report
from hosted.compose import backend_session
from hosted.machine_status import endpoints
from hosted.model import Forward
from hosted.redact import redact_data


def cmd_up(args: argparse.Namespace) -> int:
    from hosted.cli import live  # the live view's rich machinery: only for commands that change things

    env, bundle = load_with_bundle(args, args.trust)
    check_names(env, args.machines)
    if bundle is not None:  # what it shares, copies and runs, shown; asked for unless a signer vouches
        from hosted.images.trust import require_trust

        require_trust(bundle, env, yes=args.yes, confirm=asker(), emit=EventPrinter(aliases=aliases(env)))
    with live.printer(env=env) as printer, backend_session(printer) as backend:
        result = api.up(env, args.machines, yes=args.yes, confirm=asker(), on_event=printer,
                        parallel=args.parallel, wait=not args.no_wait, provision=not args.no_provision,
                        backend=backend, wait_lock=not args.no_wait_lock)
        ready = {m.machine for m in result.machines if m.ok}
        where = [e for e in endpoints(env, backend, result) if e[0] in ready]
    ssh = [{"machine": name, "user": user, "host": host, "port": port} for name, user, host, port in where]
    code = report(result, {"ssh": ssh})
    if not OPTIONS.json and not OPTIONS.quiet:
        for name, user, host, port in where:
            console.print(f"  {escape(name)}: hosted ssh {escape(name)}  [dim]({user}@{host}:{port})[/]")
    return code


def _forwards(forwards: tuple[Forward, ...]) -> str:
    return ", ".join(f"{f.host_ip}:{f.host}->{f.guest}" for f in forwards) or "-"


def cmd_status(args: argparse.Namespace) -> int:
    env = load(args)
    check_names(env, args.machines)
    rows = api.status(env, args.machines)
    if OPTIONS.json:
        data = {"environment": env.name, "machines": [r.to_json() for r in rows]}
        print_json(OPTIONS.kind, redact_data(data, env.secrets))
        return 0
    from rich.table import Table  # not for --json

    table = Table(title=f"environment {env.name}", title_justify="left")
    addresses = any(r.addresses for r in rows)
    for col in ("machine", "VM", "state", "drift", "forwards", *(("addresses",) if addresses else ())):
        table.add_column(col)
    for r in rows:
        drift = "; ".join(r.drift) or ("in sync" if r.exists else "-")
        if not r.in_profile:
            drift = "not in the profile"
        extra = (escape("; ".join(r.addresses) or "-"),) if addresses else ()
        table.add_row(escape(r.machine), escape(r.vm_name), r.power, escape(drift), _forwards(r.forwards),
                      *extra)
    console.print(table)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    environments = api.list_environments()
    if OPTIONS.json:
        print_json(OPTIONS.kind, {"environments": [e.to_json() for e in environments]})
        return 0
    if not environments:
        console.print("No machine made by hosted on this host: `hosted up` in a directory with a "
                      "hosted.yaml makes some.")
        return 0
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for col in ("ENVIRONMENT", "MACHINE", "VM", "STATE", "FORWARDS"):
        table.add_column(col)
    for e in environments:
        for m in e.machines:
            table.add_row(escape(e.name), escape(m.machine), escape(m.vm_name), m.power,
                          _forwards(m.forwards))
    console.print(table)
    return 0


def cmd_destroy(args: argparse.Namespace) -> int:
    env = load(args)
    check_names(env, args.machines)
    printer = EventPrinter(aliases=aliases(env))
    return report(api.destroy(env, args.machines, yes=args.yes, confirm=asker(), on_event=printer,
                              wait_lock=not args.no_wait_lock))
