"""Entry point.  Parsing stays on argparse and imports nothing heavy, so that
`hosted --help` is fast; a command imports what it needs when it runs."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Iterator, Sequence

from hosted import __version__

# command name -> (module under hosted.cli, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("profile_cmds", "check the profile and report every problem: file, line, key and a hint"),
    "plan": ("profile_cmds", "show what `up` would change in VirtualBox, without changing it"),
    "schema": ("profile_cmds", "print the profile's JSON Schema (for editor plugins)"),
    "up": ("machine_cmds", "create, configure and start the machines so VirtualBox matches the profile"),
    "status": ("machine_cmds", "list the machines: power state, drift from the profile, forwarded ports"),
    "destroy": ("machine_cmds", "power off and delete machines hosted created (asks first)"),
    "doctor": ("doctor_cmd", "check the VirtualBox install, bindings and service, and say how to fix them"),
    "halt": ("lifecycle_cmds", "shut machines down (ACPI, then power off after a timeout)"),
    "suspend": ("lifecycle_cmds", "save machines' running state and stop them"),
    "resume": ("lifecycle_cmds", "bring suspended machines back"),
    "reload": ("lifecycle_cmds", "halt, apply changes that need power-off, and bring machines up again"),
    "logs": ("lifecycle_cmds", "show a machine's serial console log (or VBox.log with --vbox)"),
    "snapshot": ("snapshot_cmds", "save, restore, list and delete snapshots; push/pop to try and undo"),
    "reset": ("snapshot_cmds", "restore machines' 'baseline' snapshot and bring them to their desired state"),
    "provision": ("ssh_cmds", "run the provisioning steps again on running machines (\"once\" steps too)"),
    "ssh": ("ssh_cmds", "open an SSH session (or run a command) with your own OpenSSH client"),
    "ssh-config": ("ssh_cmds", "print an OpenSSH config block per machine, with its pinned host key"),
    "images": ("image_cmds", "list, pull (download and verify) and prune cached base images"),
    "bundle": ("image_cmds", "write one file holding the profile and its images, for `up` with no network"),
    "init": ("init_cmd", "write a commented starter hosted.yaml from a template (--list shows them)"),
}


def _add_profile_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--file", metavar="PATH", help="the profile (default: ./hosted.yaml)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hosted",
        description="Turn a YAML profile into running VirtualBox machines.",
        epilog="Exit codes: 0 success, 1 operation failed, 2 invalid input, 3 VirtualBox unavailable.",
    )
    parser.add_argument("--version", action="version", version=f"hosted {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, text) in COMMANDS.items():
        p = sub.add_parser(name, help=text, description=text)
        _add_profile_arg(p)
        _add_command_args(name, p)
    return parser


def _add_command_args(name: str, p: argparse.ArgumentParser) -> None:
    if name in ("plan", "status", "doctor"):
        p.add_argument("--json", action="store_true", help="machine-readable output")
    if name in ("plan", "up", "destroy", "status", "halt", "suspend", "resume", "reload", "provision",
                "ssh-config"):
        p.add_argument("machines", nargs="*", metavar="MACHINE", help="only these machines")
    if name in ("up", "destroy", "reload"):
        p.add_argument("-y", "--yes", action="store_true", help="answer yes to every confirmation")
    if name in ("up", "reload"):
        p.add_argument("--no-provision", action="store_true", help="do not run provisioning steps")
        p.add_argument("--no-wait", action="store_true",
                       help="start machines and return without waiting for SSH (and without provisioning)")
        p.add_argument("--parallel", type=int, default=0, metavar="N",
                       help="machines brought up at once (default: the number of CPUs, at most 4)")
    if name == "ssh":
        p.add_argument("machine", metavar="MACHINE")
        p.add_argument("remote_command", nargs=argparse.REMAINDER, metavar="-- COMMAND",
                       help="run this instead of an interactive shell")
    if name == "halt":
        p.add_argument("--force", action="store_true", help="power off at once, no ACPI shutdown")
    if name in ("halt", "reload"):
        p.add_argument("--timeout", type=float, default=60.0, metavar="S",
                       help="seconds to wait for an ACPI shutdown before powering off (default 60)")
    if name == "snapshot":
        _add_snapshot_args(p)
    if name == "reset":
        p.add_argument("machines", nargs="*", metavar="MACHINE", help="only these machines")
        p.add_argument("-y", "--yes", action="store_true",
                       help="discard running machines' state without asking")
    if name == "images":
        _add_images_args(p)
    if name == "bundle":
        p.add_argument("-o", "--output", metavar="FILE", help="the bundle to write (e.g. lab.bundle)")
    if name == "schema":
        p.add_argument("-o", "--output", metavar="FILE", help="write the schema to FILE (default: stdout)")
    if name == "init":
        p.add_argument("template", nargs="?", metavar="TEMPLATE",
                       help="minimal, test-guest, debian-12, ubuntu-24.04 (default) or workshop")
        p.add_argument("--list", action="store_true", help="list the templates and what each is")
        p.add_argument("--name", metavar="NAME", help="the environment's name (default: the directory's)")
        p.add_argument("--force", action="store_true", help="replace an existing file")
    if name == "logs":
        p.add_argument("machine", metavar="MACHINE")
        p.add_argument("--vbox", action="store_true", help="VirtualBox's own VBox.log instead")
        p.add_argument("-n", "--lines", type=int, default=0, metavar="N", help="only the last N lines")


SNAPSHOT_COMMANDS = {
    "save": "take a snapshot (live if the machine runs) of each machine",
    "restore": "go back to a snapshot and to its power state (asks before discarding a running state)",
    "list": "show each machine's snapshot tree",
    "delete": "delete a snapshot; a child absorbs its changes, as VirtualBox does",
    "push": "take the next push-N snapshot: try something, then `pop`",
    "pop": "restore the last pushed snapshot and delete it",
}


def _actions(p: argparse.ArgumentParser, dest: str,
             table: dict[str, str]) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Sub-commands of a command group, each taking -f like the group itself."""
    sub = p.add_subparsers(dest=dest, metavar="ACTION", required=True)
    for action, text in table.items():
        a = sub.add_parser(action, help=text, description=text)
        a.add_argument("-f", "--file", metavar="PATH", default=argparse.SUPPRESS,
                       help="the profile (default: ./hosted.yaml)")
        yield action, a


def _add_snapshot_args(p: argparse.ArgumentParser) -> None:
    for action, a in _actions(p, "snapshot_command", SNAPSHOT_COMMANDS):
        if action in ("save", "restore", "delete"):
            a.add_argument("name", metavar="NAME")
        a.add_argument("machines", nargs="*", metavar="MACHINE", help="only these machines")
        if action == "save":
            a.add_argument("--force", action="store_true", help="replace a snapshot of the same name")
        if action in ("restore", "pop"):
            a.add_argument("-y", "--yes", action="store_true",
                           help="discard running machines' state without asking")
        if action == "list":
            a.add_argument("--json", action="store_true", help="machine-readable output")


IMAGES_COMMANDS = {
    "list": "show cached images: digest, kind, size, name, last use and source",
    "pull": "download (resuming) and verify the profile's images into the cache",
    "prune": "remove cached images the profile does not use and not used for --older-than days",
}


def _add_images_args(p: argparse.ArgumentParser) -> None:
    for action, a in _actions(p, "images_command", IMAGES_COMMANDS):
        if action == "pull":
            a.add_argument("names", nargs="*", metavar="NAME", help="only these images")
        if action in ("list", "prune"):
            a.add_argument("--json", action="store_true", help="machine-readable output")
        if action == "prune":
            a.add_argument("--older-than", type=float, default=30.0, metavar="DAYS",
                           help="only images not used for this many days (default 30)")
            a.add_argument("--all", action="store_true", help="every image the profile does not use")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    module_name, _ = COMMANDS[args.command]
    module = importlib.import_module(f"hosted.cli.{module_name}")
    handler: Callable[[argparse.Namespace], int] = getattr(module, "cmd_" + args.command.replace("-", "_"))
    from hosted.cli.console import run_guarded

    return run_guarded(handler, args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
