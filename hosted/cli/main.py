"""Entry point.  Every command is registered in one table (``COMMANDS``): its module,
its help and its arguments, as data.  Parsing stays on argparse and imports nothing
heavy, so that `hosted --help` is fast; a command imports what it needs when it runs."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from hosted import __version__

Adder = Callable[[argparse.ArgumentParser], None]


def _machines(p: argparse.ArgumentParser) -> None:
    p.add_argument("machines", nargs="*", metavar="MACHINE", help="only these machines")


def _yes(p: argparse.ArgumentParser) -> None:
    p.add_argument("-y", "--yes", action="store_true", help="answer yes to every confirmation")


def _up(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-provision", action="store_true", help="do not run provisioning steps")
    p.add_argument("--no-wait", action="store_true",
                   help="start machines and return without waiting for SSH (and without provisioning)")


def _parallel(p: argparse.ArgumentParser) -> None:
    p.add_argument("--parallel", type=int, default=0, metavar="N",
                   help="machines worked on at once (default: all of them, at most 8)")


def _timeout(p: argparse.ArgumentParser) -> None:
    p.add_argument("--timeout", type=float, default=60.0, metavar="S",
                   help="seconds to wait for an ACPI shutdown before powering off (default 60)")


def _name(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME")


def _flag(flag: str, text: str) -> Adder:
    def add(p: argparse.ArgumentParser) -> None:
        p.add_argument(flag, action="store_true", help=text)

    return add


def _ssh(p: argparse.ArgumentParser) -> None:
    p.add_argument("machine", metavar="MACHINE")
    p.add_argument("remote_command", nargs=argparse.REMAINDER, metavar="-- COMMAND",
                   help="run this instead of an interactive shell")


def _logs(p: argparse.ArgumentParser) -> None:
    p.add_argument("machine", metavar="MACHINE")
    p.add_argument("--vbox", action="store_true", help="VirtualBox's own VBox.log instead")
    p.add_argument("-n", "--lines", type=int, default=0, metavar="N", help="only the last N lines")


def _output(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", metavar="FILE", help="the bundle to write (e.g. lab.bundle)")


def _older_than(p: argparse.ArgumentParser) -> None:
    p.add_argument("--older-than", type=float, default=30.0, metavar="DAYS",
                   help="only images not used for this many days (default 30)")
    p.add_argument("--all", action="store_true", help="every image the profile does not use")


def _image_names(p: argparse.ArgumentParser) -> None:
    p.add_argument("names", nargs="*", metavar="NAME", help="only these images")


def _schema_output(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", metavar="FILE", help="write the schema to FILE (default: stdout)")


def _init(p: argparse.ArgumentParser) -> None:
    p.add_argument("template", nargs="?", metavar="TEMPLATE",
                   help="minimal, test-guest, debian-12, ubuntu-24.04 (default) or workshop")
    p.add_argument("--list", action="store_true", help="list the templates and what each is")
    p.add_argument("--name", metavar="NAME", help="the environment's name (default: the directory's)")
    p.add_argument("--force", action="store_true", help="replace an existing file")


def _inventory(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("ini", "yaml"), default="ini", help="inventory format (default ini)")
    p.add_argument("-o", "--output", metavar="FILE", help="write it to FILE (default: stdout)")


JSON = _flag("--json", "machine-readable output")
NO_WAIT_LOCK = _flag("--no-wait-lock", "fail at once when another run holds the environment "
                     "(default: wait for it)")
FORCE_HALT = _flag("--force", "power off at once, no ACPI shutdown")
FORCE_SAVE = _flag("--force", "replace a snapshot of the same name")


@dataclass(frozen=True)
class Command:
    module: str  # under hosted.cli; its handler is cmd_<name>
    help: str
    args: tuple[Adder, ...] = ()
    actions: dict[str, Command] = field(default_factory=dict)  # sub-commands (snapshot save, ...)


SNAPSHOT = {
    "save": Command("", "take a snapshot (live if the machine runs) of each machine",
                    (_name, _machines, FORCE_SAVE, NO_WAIT_LOCK)),
    "restore": Command("", "go back to a snapshot and to its power state (asks before discarding a "
                       "running state)", (_name, _machines, _yes, NO_WAIT_LOCK)),
    "list": Command("", "show each machine's snapshot tree", (_machines, JSON)),
    "delete": Command("", "delete a snapshot; a child absorbs its changes, as VirtualBox does",
                      (_name, _machines, NO_WAIT_LOCK)),
    "push": Command("", "take the next push-N snapshot: try something, then `pop`",
                    (_machines, NO_WAIT_LOCK)),
    "pop": Command("", "restore the last pushed snapshot and delete it", (_machines, _yes, NO_WAIT_LOCK)),
}
IMAGES = {
    "list": Command("", "show cached images: digest, kind, size, name, last use and source", (JSON,)),
    "pull": Command("", "download (resuming) and verify the profile's images into the cache",
                    (_image_names,)),
    "prune": Command("", "remove cached images the profile does not use and not used for --older-than days",
                     (JSON, _older_than)),
}

COMMANDS: dict[str, Command] = {
    "validate": Command("profile_cmds",
                        "check the profile and report every problem: file, line, key and a hint"),
    "plan": Command("profile_cmds", "show every step `up` would take (images, machines, guests), changing "
                    "nothing", (JSON, _machines, _up)),
    "schema": Command("profile_cmds", "print the profile's JSON Schema (for editor plugins)",
                      (_schema_output,)),
    "up": Command("machine_cmds", "create, configure and start the machines so VirtualBox matches the "
                  "profile, wait for SSH and provision",
                  (_machines, _yes, _up, _parallel, NO_WAIT_LOCK)),
    "status": Command("machine_cmds",
                      "list the machines: power state, drift from the profile, forwarded ports",
                      (JSON, _machines)),
    "destroy": Command("machine_cmds", "power off and delete machines hosted created (asks first)",
                       (_machines, _yes, NO_WAIT_LOCK)),
    "doctor": Command("doctor_cmd", "check the VirtualBox install, bindings and service, and say how to fix "
                      "them", (JSON,)),
    "halt": Command("lifecycle_cmds", "shut machines down (ACPI, then power off after a timeout)",
                    (_machines, FORCE_HALT, _timeout, NO_WAIT_LOCK)),
    "suspend": Command("lifecycle_cmds", "save machines' running state and stop them",
                       (_machines, NO_WAIT_LOCK)),
    "resume": Command("lifecycle_cmds", "bring suspended machines back", (_machines, NO_WAIT_LOCK)),
    "reload": Command("lifecycle_cmds",
                      "halt, apply changes that need power-off, and bring machines up again",
                      (_machines, _yes, _up, _parallel, _timeout, NO_WAIT_LOCK)),
    "logs": Command("lifecycle_cmds", "show a machine's serial console log (or VBox.log with --vbox)",
                    (_logs,)),
    "snapshot": Command("snapshot_cmds", "save, restore, list and delete snapshots; push/pop to try and undo",
                        actions=SNAPSHOT),
    "reset": Command("snapshot_cmds", "restore machines' 'baseline' snapshot and bring them to their desired "
                     "state", (_machines, _yes, NO_WAIT_LOCK)),
    "provision": Command("ssh_cmds", "run the provisioning steps again on running machines (\"once\" steps "
                         "too)", (_machines, NO_WAIT_LOCK)),
    "ssh": Command("ssh_cmds", "open an SSH session (or run a command) with your own OpenSSH client",
                   (_ssh,)),
    "ssh-config": Command("ssh_cmds", "print an OpenSSH config block per machine, with its pinned host key",
                          (_machines,)),
    "images": Command("image_cmds", "list, pull (download and verify) and prune cached base images",
                      actions=IMAGES),
    "bundle": Command("image_cmds", "write one file holding the profile and its images, for `up` with no "
                      "network", (_output,)),
    "inventory": Command("inventory_cmd", "print an Ansible inventory of the running machines: groups, "
                         "addresses, SSH ports, users, keys", (_inventory,)),
    "init": Command("init_cmd", "write a commented starter hosted.yaml from a template (--list shows them)",
                    (_init,)),
}


def _profile_arg(p: argparse.ArgumentParser, **extra: object) -> None:
    p.add_argument("-f", "--file", metavar="PATH", help="the profile (default: ./hosted.yaml)",
                   **extra)  # type: ignore[arg-type]
    p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                   help="also show each step as it starts")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hosted",
        description="Turn a YAML profile into running VirtualBox machines.",
        epilog="Exit codes: 0 success, 1 operation failed, 2 invalid input, 3 VirtualBox unavailable.",
    )
    parser.add_argument("--version", action="version", version=f"hosted {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="also show each step as it starts")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, command in COMMANDS.items():
        p = sub.add_parser(name, help=command.help, description=command.help)
        _profile_arg(p)
        _add(p, command)
        if command.actions:
            actions = p.add_subparsers(dest=f"{name}_command", metavar="ACTION", required=True)
            for action, sub_command in command.actions.items():
                a = actions.add_parser(action, help=sub_command.help, description=sub_command.help)
                _profile_arg(a, default=argparse.SUPPRESS)  # -f before or after the action
                _add(a, sub_command)
    return parser


def _add(p: argparse.ArgumentParser, command: Command) -> None:
    for adder in command.args:
        adder(p)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    module = importlib.import_module(f"hosted.cli.{COMMANDS[args.command].module}")
    handler: Callable[[argparse.Namespace], int] = getattr(module, "cmd_" + args.command.replace("-", "_"))
    from hosted.cli import console

    console.VERBOSE = bool(getattr(args, "verbose", False))
    return console.run_guarded(handler, args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
