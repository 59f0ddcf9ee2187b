"""up, status, destroy."""

from __future__ import annotations

import argparse
import os
from typing import Any

from rich.markup import escape
from rich.table import Table

from hosted.apply import ApplyOptions, ApplyResult, apply
from hosted.backend.base import Backend
from hosted.bringup import BringUp, after_start, ssh_endpoint
from hosted.cli import live
from hosted.cli.compose import backend_session
from hosted.cli.console import EventPrinter, can_ask, confirm, console, print_json
from hosted.cli.profile_cmds import load
from hosted.errors import EXIT_FAILED, MachineNotFound
from hosted.events import Event
from hosted.images.resolve import from_cache
from hosted.lifecycle import owned_machines
from hosted.model import Environment, ObservedMachine, PowerState
from hosted.plan import destroy_plan, plan
from hosted.snapshots import take_baseline_if_needed


def cmd_up(args: argparse.Namespace) -> int:
    env = load(args)
    _check_names(env, args.machines)
    with live.printer() as printer, backend_session(printer) as backend:
        the_plan = plan(env, backend.list_machines(), only=tuple(args.machines))
        for w in the_plan.warnings:
            printer(Event("warning", w))
        result = apply(the_plan, env, backend, printer, up_options(args, env, backend))
        endpoints = _endpoints(env, backend, result)
    code = report(result)
    for name, user, host, port in endpoints:
        console.print(f"  {escape(name)}: hosted ssh {escape(name)}  [dim]({user}@{host}:{port})[/]")
    return code


def _endpoints(env: Environment, backend: Backend, result: ApplyResult) -> list[tuple[str, str, str, int]]:
    """Where to connect to each running machine (read again: auto ports were just chosen)."""
    out = []
    for m in result.machines:
        spec = env.machine(m.machine)
        observed = backend.get_machine(m.uuid) if m.uuid and spec else None
        if spec is None or observed is None or observed.power != PowerState.RUNNING:
            continue
        endpoint = ssh_endpoint(observed, spec)
        if endpoint is not None:
            out.append((m.machine, spec.ssh.user, *endpoint))
    return out


def up_options(args: argparse.Namespace, env: Environment, backend: Backend) -> ApplyOptions:
    """ApplyOptions for `up` and `reload`: confirmation, parallelism, readiness and provisioning."""
    parallel = args.parallel or min(4, os.cpu_count() or 1)
    bring_up = BringUp(wait=not args.no_wait, provision=not args.no_provision,
                       baseline=take_baseline_if_needed)
    return ApplyOptions(
        yes=args.yes,
        confirm=confirm if can_ask() else None,
        parallel=parallel,
        after_start=after_start(env, backend, bring_up),
        images=from_cache,
    )


def _check_names(env: Environment, names: list[str]) -> None:
    unknown = [n for n in names if env.machine(n) is None]
    if unknown:
        known = ", ".join(m.name for m in env.machines)
        raise MachineNotFound(f"no machine named {', '.join(unknown)} in {env.path}", f"machines: {known}")


def report(result: ApplyResult) -> int:
    for m in result.machines:
        phases = ", ".join(f"{k} {v:.1f}s" for k, v in m.phases.items())
        if m.error is not None:
            console.print(f"[bold red]✗ {escape(m.machine)}[/]: {escape(m.error.message)}")
            if m.error.hint:
                console.print(f"  [yellow]hint:[/] {escape(m.error.hint)}")
        elif m.changed:
            console.print(f"[green]✓ {escape(m.machine)}[/] ({escape(m.vm_name)}): "
                          f"{len(m.changed)} change(s){' — ' + phases if phases else ''}")
        else:
            console.print(f"[green]✓ {escape(m.machine)}[/] ({escape(m.vm_name)}): up to date")
    return 0 if result.ok else EXIT_FAILED


def machine_status(
    env: Environment, observed: list[ObservedMachine], names: list[str]
) -> list[dict[str, Any]]:
    the_plan = plan(env, observed, only=tuple(names))
    by_uuid = {m.uuid: m for m in observed}
    rows = []
    for mp in the_plan.machines:
        cur = by_uuid.get(mp.uuid or "")
        spec = mp.spec
        drift = [s.describe() for s in mp.changes]
        forwards = [] if cur is None else [
            {"name": f.name, "host_ip": f.host_ip, "host": f.host, "guest": f.guest, "protocol": f.protocol}
            for f in cur.forwards()
        ]
        endpoint = ssh_endpoint(cur, spec) if cur is not None and spec is not None else None
        ssh = None if endpoint is None or spec is None else {
            "host": endpoint[0], "port": endpoint[1], "user": spec.ssh.user}
        rows.append({
            "machine": mp.machine,
            "vm_name": mp.vm_name,
            "uuid": mp.uuid,
            "exists": cur is not None,
            "in_profile": spec is not None,
            "power": cur.power.value if cur else "not created",
            "desired": spec.state if spec else "absent",
            "drift": drift,
            "forwards": forwards,
            "ssh": ssh,
        })
    return rows


def cmd_status(args: argparse.Namespace) -> int:
    env = load(args)
    _check_names(env, args.machines)
    with backend_session(EventPrinter()) as backend:
        rows = machine_status(env, backend.list_machines(), args.machines)
    if args.json:
        print_json("status", {"environment": env.name, "machines": rows})
        return 0
    table = Table(title=f"environment {env.name}", title_justify="left")
    for col in ("machine", "VM", "state", "drift", "forwards"):
        table.add_column(col)
    for r in rows:
        drift = "; ".join(r["drift"]) or ("in sync" if r["exists"] else "-")
        if not r["in_profile"]:
            drift = "not in the profile"
        fwd = ", ".join(f"{f['host_ip']}:{f['host']}->{f['guest']}" for f in r["forwards"]) or "-"
        table.add_row(r["machine"], r["vm_name"], r["power"], escape(drift), fwd)
    console.print(table)
    return 0


def cmd_destroy(args: argparse.Namespace) -> int:
    env = load(args)
    printer = EventPrinter()
    with backend_session(printer) as backend:
        targets = owned_machines(env, backend, args.machines)
        if not targets:
            console.print("Nothing to destroy: no machine of this environment exists.")
            return 0
        options = ApplyOptions(yes=args.yes, confirm=confirm if can_ask() else None)
        result = apply(destroy_plan(env.name, targets, "asked for"), env, backend, printer, options)
    return report(result)
