"""snapshot save/restore/list/delete/push/pop, and reset."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from hosted import api
from hosted.cli.console import OPTIONS, EventPrinter, aliases, asker, console, glyph, print_json
from hosted.cli.profile_cmds import check_names, load
from hosted.cli.results import NO_MACHINES, report
from hosted.snapshots import MachineSnapshots, SnapshotNode, check_name

if TYPE_CHECKING:
    from rich.tree import Tree

    from hosted.run import RunResult


def cmd_snapshot(args: argparse.Namespace) -> int:
    action = args.snapshot_command
    if action in ("save", "restore", "delete"):
        check_name(args.name)  # invalid input: before the profile is read or VirtualBox asked
    env = load(args)
    check_names(env, args.machines)
    if action == "list":
        return _list(args, env.name, api.snapshot_list(env, args.machines))
    printer = EventPrinter(aliases=aliases(env))
    lock = not args.no_wait_lock
    result: RunResult
    if action == "save":
        result = api.snapshot_save(env, args.name, args.machines, force=args.force, on_event=printer,
                                   wait_lock=lock)
    elif action == "restore":
        result = api.snapshot_restore(env, args.name, args.machines, yes=args.yes, confirm=asker(),
                                      on_event=printer, wait_lock=lock)
    elif action == "delete":
        result = api.snapshot_delete(env, args.name, args.machines, on_event=printer, wait_lock=lock)
    elif action == "push":
        result = api.snapshot_push(env, args.machines, on_event=printer, wait_lock=lock)
    else:
        result = api.snapshot_pop(env, args.machines, yes=args.yes, confirm=asker(), on_event=printer,
                                  wait_lock=lock)
    return report(result)


def cmd_reset(args: argparse.Namespace) -> int:
    env = load(args)
    check_names(env, args.machines)
    from hosted.cli import live  # the live view's rich machinery: only for commands that change things

    with live.printer(env=env) as printer:
        result = api.reset(env, args.machines, yes=args.yes, confirm=asker(), on_event=printer,
                           wait=not args.no_wait, wait_lock=not args.no_wait_lock)
    return report(result)


def _list(args: argparse.Namespace, env_name: str, machines: list[MachineSnapshots]) -> int:
    if OPTIONS.json:
        print_json(OPTIONS.kind, {"environment": env_name, "machines": [as_json(m) for m in machines]})
        return 0
    if not machines:
        console.print(NO_MACHINES)
    for m in machines:
        console.print(render_tree(m))
    return 0


def _when(taken_at: float) -> datetime:
    return datetime.fromtimestamp(taken_at, tz=UTC)


def render_tree(m: MachineSnapshots) -> Tree:
    from rich.tree import Tree  # not for --json

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
        text += f"  [bold green]{glyph('◀', '<')} current[/]"
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
