"""provision, ssh, cp, ssh-config."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from rich.markup import escape

from hosted import api
from hosted.cli.console import OPTIONS, EventPrinter, aliases, console, print_json
from hosted.cli.profile_cmds import check_names, load, one_machine
from hosted.cli.results import report
from hosted.errors import EXIT_FAILED, HostedError, SshError, UsageError
from hosted.model import Environment
from hosted.ssh import openssh_argv, ssh_config_block


def cmd_provision(args: argparse.Namespace) -> int:
    env = load(args)
    check_names(env, args.machines)
    return report(api.provision(env, args.machines, on_event=EventPrinter(aliases=aliases(env)),
                                wait_lock=not args.no_wait_lock))


def remote_words(args: argparse.Namespace) -> list[str]:
    """The command to run: ``-c CMD`` (one string), or every word after ``--``; [] for a login."""
    after = args.remote_command
    if args.command_string is not None and after is not None:
        raise UsageError("give the command either with -c or after --, not both",
                         "hosted ssh web -c 'ls -l /'  or  hosted ssh web -- ls -l /")
    if args.command_string is not None:
        if not args.command_string.strip():
            raise UsageError("-c needs a command", "hosted ssh web -c 'uname -a'")
        return [args.command_string]
    return list(after or [])


def cmd_ssh(args: argparse.Namespace) -> int:
    words = remote_words(args)  # a usage error comes before the profile is read
    if OPTIONS.json and not words:
        raise UsageError("--json needs a command to run (-c CMD or -- CMD...): a login shell has no "
                         "JSON output", "hosted ssh web --json -c 'uname -a'")
    env = load(args)
    name = one_machine(env, args.machine, "ssh")
    target = api.ssh_targets(env, [name])[0]
    if isinstance(target, HostedError):
        raise target
    argv = openssh_argv(target, words)
    try:
        if OPTIONS.json:
            done = subprocess.run(argv, capture_output=True, encoding="utf-8", errors="replace", check=False)
            print_json(OPTIONS.kind, {"machine": name, "command": words, "exit_status": done.returncode,
                                      "stdout": done.stdout, "stderr": done.stderr})
            return done.returncode
        return subprocess.call(argv)
    except FileNotFoundError as exc:
        raise SshError("no `ssh` client found", "install OpenSSH (Debian: openssh-client)") from exc


def parse_location(env: Environment, text: str) -> tuple[str | None, str]:
    """``MACHINE:PATH`` -> (machine, path) when MACHINE is one of the profile's machines
    (``web:`` is the login directory); anything else is a local path (None, text)."""
    machine, colon, path = text.partition(":")
    if colon and env.machine(machine) is not None:
        return machine, path or "."
    return None, text


def cmd_cp(args: argparse.Namespace) -> int:
    env = load(args)
    (src_machine, src), (dest_machine, dest) = (parse_location(env, args.source),
                                                parse_location(env, args.destination))
    if src_machine is not None and dest_machine is not None:
        raise UsageError("both SRC and DEST are in machines; one of them must be a local path",
                         f"copy through this host: hosted cp {args.source} ./tmp, then hosted cp ./tmp "
                         f"{args.destination}")
    if src_machine is None and dest_machine is None:
        known = ", ".join(m.name for m in env.machines)
        raise UsageError(f"neither {args.source!r} nor {args.destination!r} is in a machine",
                         f"name one as MACHINE:PATH (machines: {known}), e.g. hosted cp ./app "
                         f"{env.machines[0].name}:/srv/app")
    if src_machine is None:
        assert dest_machine is not None
        if not Path(src).exists():
            raise UsageError(f"{src}: no such file or directory", "check the local path")
        copied = api.upload(env, dest_machine, src, dest)
        machine, direction = dest_machine, "upload"
    else:
        copied = str(api.download(env, src_machine, src, dest).absolute())
        machine, direction = src_machine, "download"
    if OPTIONS.json:
        print_json(OPTIONS.kind, {"machine": machine, "direction": direction, "source": args.source,
                                  "destination": copied})
    elif not OPTIONS.quiet:
        where = f"{machine}:{copied}" if direction == "upload" else copied
        console.print(f"copied {escape(args.source)} to {escape(where)}")
    return 0


def cmd_ssh_config(args: argparse.Namespace) -> int:
    env = load(args)
    check_names(env, args.machines)
    names = args.machines or [m.name for m in env.machines]
    blocks: list[str] = []
    found: list[dict[str, object]] = []
    errors: list[HostedError] = []
    for name, target in zip(names, api.ssh_targets(env, names), strict=True):
        if isinstance(target, HostedError):
            errors.append(target)
            continue
        alias = f"{env.name}-{name}"
        try:
            blocks.append(ssh_config_block(alias, target))
        except (HostedError, ValueError) as exc:
            errors.append(exc if isinstance(exc, HostedError) else UsageError(str(exc)))
            continue
        found.append({"machine": name, "host_alias": alias, "host": target.host, "port": target.port,
                      "user": target.user, "identity_file": str(target.private_key),
                      "known_hosts": str(target.known_hosts), "host_key_alias": target.host_key_alias})
    code = 0 if blocks or not errors else EXIT_FAILED
    if OPTIONS.json:
        print_json(OPTIONS.kind, {"environment": env.name, "ok": code == 0, "machines": found,
                                  "skipped": [{"message": e.message, "hint": e.hint} for e in errors]})
        return code
    sys.stdout.write("\n".join(blocks))
    for err in errors:
        console.print(f"# skipped: {err.message}", markup=False, style="dim")
    return code
