"""Entry point.  Every command is registered in one table (``COMMANDS``): its module,
its help and its arguments, as data.  Parsing stays on argparse and imports nothing
heavy, so that `hosted --help` is fast; a command imports what it needs when it runs.

The options every command takes (-f, -v, -q, --debug, --json) are accepted before or
after the command's name.  After `hosted ssh ... --`, every word is the remote command,
passed on as it is (a later ``--`` included)."""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple, NoReturn

from hosted import __version__
from hosted.cli import arguments as a

EPILOG = "Exit codes: 0 success, 1 operation failed, 2 invalid input, 3 VirtualBox unavailable."


class Command(NamedTuple):
    module: str  # under hosted.cli; its handler is cmd_<name>
    help: str
    args: tuple[a.Adder, ...] = ()
    actions: Mapping[str, Command] | None = None  # sub-commands (snapshot save, ...)
    profile: bool = True  # reads the profile: takes -f
    json: bool = True  # takes --json
    kind: str = ""  # the JSON envelope's kind (default: the command's name)
    aliases: tuple[str, ...] = ()


SNAPSHOT = {
    "save": Command("", "take a snapshot (live if the machine runs) of each machine",
                    (a.new_snapshot_name, a.machines, a.FORCE_SAVE, a.yes, a.NO_WAIT_LOCK)),
    "restore": Command("", "go back to a snapshot and to its power state (asks before discarding a "
                       "running state)", (a.snapshot_name, a.machines, a.yes, a.NO_WAIT_LOCK)),
    "list": Command("", "show each machine's snapshot tree", (a.machines,), kind="snapshots"),
    "delete": Command("", "delete a snapshot; a child absorbs its changes, as VirtualBox does",
                      (a.snapshot_name, a.machines, a.yes, a.NO_WAIT_LOCK)),
    "push": Command("", "take the next push-N snapshot: try something, then `pop`",
                    (a.machines, a.NO_WAIT_LOCK)),
    "pop": Command("", "restore the last pushed snapshot and delete it", (a.machines, a.yes, a.NO_WAIT_LOCK)),
}
IMAGES = {
    "list": Command("", "show cached images: digest, kind, size, name, last use and source",
                    profile=False, kind="images"),
    "pull": Command("", "download (resuming) and verify the profile's images into the cache",
                    (a.image_names,)),
    "prune": Command("", "remove cached images and templates that no machine on this host and not the "
                     "profile uses (asks first)", (a.prune, a.yes)),
}

COMMANDS: dict[str, Command] = {
    "init": Command("init_cmd", "write a commented starter hosted.yaml from a template (--list shows them)",
                    (a.init,)),
    "validate": Command("profile_cmds",
                        "check the profile and report every problem: file, line, key and a hint"),
    "plan": Command("profile_cmds", "show every step `up` would take (images, machines, guests), changing "
                    "nothing", (a.machines, a.up)),
    "up": Command("machine_cmds", "create, configure and start the machines so VirtualBox matches the "
                  "profile, wait for SSH and provision",
                  (a.machines, a.yes, a.up, a.parallel, a.NO_WAIT_LOCK, a.trust)),
    "status": Command("machine_cmds",
                      "list the machines: power state, drift from the profile, forwarded ports",
                      (a.machines,)),
    "list": Command("machine_cmds", "every environment and machine hosted made on this host (no profile "
                    "needed)", profile=False, aliases=("global-status",)),
    "ssh": Command("ssh_cmds", "open an SSH session (or run a command) with your own OpenSSH client",
                   (a.ssh,)),
    "cp": Command("ssh_cmds", "copy files or directories to or from a machine: hosted cp ./src web:/srv",
                  (a.cp,)),
    "ssh-config": Command("ssh_cmds", "print an OpenSSH config block per machine, with its pinned host key",
                          (a.machines,)),
    "provision": Command("ssh_cmds", "run the provisioning steps again on running machines (\"once\" steps "
                         "too)", (a.machines, a.NO_WAIT_LOCK)),
    "halt": Command("lifecycle_cmds", "shut machines down (ACPI, then power off after a timeout)",
                    (a.machines, a.FORCE_HALT, a.timeout, a.NO_WAIT_LOCK)),
    "suspend": Command("lifecycle_cmds", "save machines' running state and stop them",
                       (a.machines, a.NO_WAIT_LOCK)),
    "resume": Command("lifecycle_cmds", "bring suspended machines back", (a.machines, a.NO_WAIT_LOCK)),
    "reload": Command("lifecycle_cmds",
                      "halt, apply changes that need power-off, and bring machines up again",
                      (a.machines, a.yes, a.up, a.parallel, a.timeout, a.NO_WAIT_LOCK)),
    "destroy": Command("machine_cmds", "power off and delete machines hosted created (asks first)",
                       (a.machines, a.yes, a.NO_WAIT_LOCK)),
    "logs": Command("lifecycle_cmds", "show a machine's serial console log (or VBox.log with --vbox)",
                    (a.logs,)),
    "snapshot": Command("snapshot_cmds", "save, restore, list and delete snapshots; push/pop to try and undo",
                        actions=SNAPSHOT),
    "reset": Command("snapshot_cmds", "restore machines' 'baseline' snapshot and bring them to their desired "
                     "state", (a.machines, a.yes, a.no_wait, a.NO_WAIT_LOCK)),
    "images": Command("image_cmds", "list, pull (download and verify) and prune cached base images",
                      actions=IMAGES),
    "bundle": Command("image_cmds", "write one file holding the profile and its images, for `up` with no "
                      "network", (a.bundle_output, a.sign)),
    "inventory": Command("inventory_cmd", "print an Ansible inventory of the running machines: groups, "
                         "addresses, SSH ports, users, keys", (a.inventory,)),
    "schema": Command("profile_cmds", "print the profile's JSON Schema (for editor plugins)",
                      (a.schema_output,), profile=False),
    "doctor": Command("doctor_cmd", "check the VirtualBox install, bindings and service, and say how to fix "
                      "them", profile=False),
    "completion": Command("completion_cmd", "print the shell completion script: "
                          "eval \"$(hosted completion bash)\" (or zsh, fish)", (a.shell,),
                          profile=False, json=False),
}


class UsageProblem(Exception):
    """A command line argparse refuses: its message, and the parser whose usage line fits."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser
        self.message = message


class Parser(argparse.ArgumentParser):
    """argparse, whose usage errors are raised (main() prints them, as JSON with --json);
    sub-parsers are of the same class."""

    def error(self, message: str) -> NoReturn:
        raise UsageProblem(self, message)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line's parser; with ``only`` (a command's name), the other commands'
    sub-parsers are left without their arguments: the same parse of a line that runs ``only``,
    for a fraction of the time (about 8 ms of every command's start)."""
    parser = Parser(prog="hosted", description="Turn a YAML profile into running VirtualBox machines.",
                    epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"hosted {__version__}")
    a.common(parser, profile=True, json=True, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, command in COMMANDS.items():
        p = sub.add_parser(name, help=command.help, description=command.help, aliases=command.aliases,
                           epilog=EPILOG)
        p.set_defaults(command_name=name, command_kind=command.kind or name,
                       takes_profile=command.profile, takes_json=command.json)
        if only is not None and name != only:
            continue
        if command.actions:
            shared = all(c.profile for c in command.actions.values())
            a.common(p, profile=shared, json=True)
            actions = p.add_subparsers(dest=f"{name}_command", metavar="ACTION", required=True)
            for action, sub_command in command.actions.items():
                q = actions.add_parser(action, help=sub_command.help, description=sub_command.help)
                q.set_defaults(command_kind=sub_command.kind or f"{name}-{action}",
                               takes_profile=sub_command.profile)
                a.common(q, profile=sub_command.profile, json=True)
                _add(q, sub_command)
        else:
            a.common(p, profile=command.profile, json=command.json)
            _add(p, command)
    return parser


def _add(p: argparse.ArgumentParser, command: Command) -> None:
    for adder in command.args:
        adder(p)


def _command_index(argv: list[str]) -> int:
    """Where the command's name is in ``argv``: after the options given before it."""
    i = 0
    while i < len(argv):
        word = argv[i]
        if word in ("-f", "--file"):
            i += 2
            continue
        if word.startswith("-"):
            i += 1
            continue
        break
    return i


def command_named(argv: list[str]) -> str | None:
    """The command ``argv`` runs (an alias resolved), or None: no command, an unknown one, or
    help asked before it."""
    i = _command_index(argv)
    if i >= len(argv) or any(w in ("-h", "--help") for w in argv[:i]):
        return None
    word = argv[i]
    for name, command in COMMANDS.items():
        if word == name or word in command.aliases:
            return name
    return None


def split_remote_command(argv: list[str]) -> tuple[list[str], list[str] | None]:
    """For `hosted ssh`: the words before the first ``--`` and the remote command after it."""
    i = _command_index(argv)
    if i < len(argv) and argv[i] == "ssh" and "--" in argv[i + 1:]:
        cut = argv.index("--", i + 1)
        return argv[:cut], argv[cut + 1:]
    return argv, None


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """The parsed command line; a usage error exits 2 with argparse's message."""
    words, remote = split_remote_command(list(argv))
    completing = "_ARGCOMPLETE" in os.environ  # a shell asks for completions: answer and exit
    parser = build_parser(None if completing else command_named(words))
    if completing:
        from hosted.cli import complete

        complete.autocomplete(parser)
    args, extra = parser.parse_known_args(words)
    if not args.command:
        parser.print_help()
        raise SystemExit(2)
    own = _subparser(parser, args)
    if extra:
        hint = "; a command to run goes after -- (hosted ssh web -- ls -l) or in -c" \
            if args.command_name == "ssh" else ""
        own.error(f"unrecognized arguments: {' '.join(extra)}{hint}")
    if args.file is not None and not getattr(args, "takes_profile", True):
        own.error("-f/--file: this command reads no profile")
    if args.json and not getattr(args, "takes_json", True):
        own.error("--json: this command has no JSON output")
    if args.verbose and args.quiet:
        own.error("-v/--verbose and -q/--quiet exclude each other")
    args.remote_command = remote
    return args


def _subparser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The parser of the command (or action) given, for its usage line in an error."""
    found = parser
    for choice in (args.command, getattr(args, f"{args.command_name}_command", None)):
        subs = [x for x in found._actions if isinstance(x, argparse._SubParsersAction)]
        if choice is None or not subs:
            break
        found = subs[0].choices[choice]
    return found


def main(argv: Sequence[str] | None = None, *, script: bool = False) -> int:
    """Parse and run one command.  ``script`` (the console script's own process): compile
    dataclasses through hosted.cli.codecache, and collect no garbage while the command line is
    parsed and the command's modules are imported."""
    words = list(sys.argv[1:] if argv is None else argv)
    if script:
        # Importing builds objects that live as long as the process: scanning them for
        # cycles meanwhile is wasted (20-30 ms of a command's start, bench/README.md).
        gc.disable()
        from hosted.cli import codecache

        # Before the parser: on Python 3.14 argparse's first formatter imports _colorize,
        # whose themes are dataclasses too (about 8 ms to compile).
        codecache.install()
    try:
        try:
            args = parse(words)
        except SystemExit as exit_:  # argparse: --help, --version
            return exit_.code if isinstance(exit_.code, int) else 2
        except UsageProblem as problem:
            return usage_error(problem, words)
        command = COMMANDS[args.command_name]
        module = importlib.import_module(f"hosted.cli.{command.module}")
        handler: Callable[[argparse.Namespace], int] = getattr(module,
                                                               "cmd_" + args.command_name.replace("-", "_"))
    finally:
        if script:
            gc.freeze()  # what was imported is never scanned again
            gc.enable()
    from hosted.cli import console

    args.script = script
    return console.run_command(handler, args)


def run(argv: Sequence[str] | None = None) -> NoReturn:
    """The console script's entry (and ``python -m hosted``): ``main``, then leave the process at
    once, without the interpreter's finalisation (hosted.cli.leave says what is still done)."""
    try:
        code = main(argv, script=True)
    except SystemExit as exit_:  # rich's broken-pipe handling, a handler's own exit
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    from hosted.cli import codecache
    from hosted.cli.leave import leave

    codecache.save(code)
    leave(code)


def usage_error(problem: UsageProblem, words: list[str]) -> int:
    """argparse's usage line and message on stderr, exit 2; with --json (before any ``--``), the
    failure in the JSON envelope instead."""
    given = words[:words.index("--")] if "--" in words else words
    if "--json" not in given:
        problem.parser.print_usage(sys.stderr)
        sys.stderr.write(f"{problem.parser.prog}: error: {problem.message}\n")
        return 2
    from hosted.cli import console
    from hosted.errors import UsageError

    kind = next((w for w in given if w in COMMANDS), "hosted")
    usage = " ".join(problem.parser.format_usage().split())
    console.print_json(kind, {"ok": False, "error": console.error_json(UsageError(problem.message, usage))})
    return 2


if __name__ == "__main__":  # pragma: no cover
    run()
