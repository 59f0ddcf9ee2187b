"""snapshot save/restore/list/delete/push/pop, and reset."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from rich.markup import escape
from rich.tree import Tree

from hosted.apply import MachineResult
from hosted.bringup import BringUp, after_start
from hosted.cli.compose import backend_session
from hosted.cli.console import EventPrinter, can_ask, confirm, console, print_json
from hosted.cli.profile_cmds import load
from hosted.errors import EXIT_FAILED
from hosted.snapshots import (
    MachineSnapshots,
    SnapshotNode,
    delete,
    list_snapshots,
    pop,
    push,
    reset,
    restore,
    save,
)

JSON_KIND = "snapshots"


def cmd_snapshot(args: argparse.Namespace) -> int:
    if args.snapshot_command == "list":
        return _list(args)
    env = load(args)
    printer = EventPrinter()
    asker = confirm if can_ask() else None
    with backend_session(printer) as backend:
        action = args.snapshot_command
        if action == "save":
            results = save(env, backend, args.name, args.machines, printer, force=args.force)
        elif action == "restore":
            results = restore(env, backend, args.name, args.machines, printer, yes=args.yes, confirm=asker)
        elif action == "delete":
            results = delete(env, backend, args.name, args.machines, printer)
        elif action == "push":
            results = push(env, backend, args.machines, printer)
        else:
            results = pop(env, backend, args.machines, printer, yes=args.yes, confirm=asker)
    return summary(results)


def cmd_reset(args: argparse.Namespace) -> int:
    env = load(args)
    printer = EventPrinter()
    asker = confirm if can_ask() else None
    with backend_session(printer) as backend:
        hook = after_start(env, backend, BringUp())  # readiness, then "always" provisioning steps
        return summary(reset(env, backend, args.machines, printer, yes=args.yes, confirm=asker,
                             after_start=hook))


def summary(results: list[MachineResult]) -> int:
    """The events said what happened; failures are repeated at the end with their hints."""
    if not results:
        console.print("No machine of this environment exists yet: `hosted up` creates them.")
    for r in results:
        if r.error is not None:
            console.print(f"[bold red]✗ {escape(r.machine)}[/]: {escape(r.error.message)}")
            if r.error.hint:
                console.print(f"  [yellow]hint:[/] {escape(r.error.hint)}")
    return 0 if all(r.ok for r in results) else EXIT_FAILED


def _list(args: argparse.Namespace) -> int:
    env = load(args)
    with backend_session(EventPrinter()) as backend:
        machines = list_snapshots(env, backend, args.machines)
    if args.json:
        print_json(JSON_KIND, {"environment": env.name, "machines": [as_json(m) for m in machines]})
        return 0
    if not machines:
        console.print("No machine of this environment exists yet: `hosted up` creates them.")
    for m in machines:
        console.print(render_tree(m))
    return 0


def _when(taken_at: float) -> datetime:
    return datetime.fromtimestamp(taken_at, tz=UTC)


def render_tree(m: MachineSnapshots) -> Tree:
    root = Tree(f"[bold]{escape(m.machine)}[/] ({escape(m.vm_name)}, {m.power.value})")
    if not m.nodes:
        root.add("[dim]no snapshots[/]")
    parents: list[Tree] = [root]
    for node in m.nodes:
        del parents[node.depth + 1:]
        parents.append(parents[-1].add(_node_text(node)))
    return root


def _node_text(node: SnapshotNode) -> str:
    i = node.info
    when = _when(i.taken_at).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    text = f"{escape(i.name)}  [dim]{when}[/]"
    if i.online:
        text += "  [cyan]live[/]"
    if node.kind is None:
        text += "  [dim](not taken by hosted)[/]"
    if i.current:
        text += "  [bold green]◀ current[/]"
    return text


def as_json(m: MachineSnapshots) -> dict[str, Any]:
    """One machine's tree, nested: each snapshot's ``children`` are snapshots."""
    out: list[dict[str, Any]] = []
    stack: list[list[dict[str, Any]]] = [out]
    for node in m.nodes:
        del stack[node.depth + 1:]
        i = node.info
        item: dict[str, Any] = {
            "id": i.id, "name": i.name, "description": i.description,
            "taken_at": _when(i.taken_at).isoformat(timespec="seconds"),
            "current": i.current, "online": i.online, "hosted": node.kind is not None, "kind": node.kind,
            "children": [],
        }
        stack[-1].append(item)
        stack.append(item["children"])
    return {"machine": m.machine, "vm_name": m.vm_name, "uuid": m.uuid, "power": m.power.value,
            "snapshots": out}
