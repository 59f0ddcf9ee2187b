"""provision, ssh, ssh-config."""

from __future__ import annotations

import argparse
import subprocess
import sys

from hosted import api
from hosted.cli.console import EventPrinter, console
from hosted.cli.profile_cmds import check_names, load
from hosted.cli.results import report
from hosted.errors import EXIT_FAILED, HostedError, SshError
from hosted.ssh import openssh_argv, ssh_config_block


def cmd_provision(args: argparse.Namespace) -> int:
    env = load(args)
    check_names(env, args.machines)
    return report(api.provision(env, args.machines, on_event=EventPrinter(), wait_lock=not args.no_wait_lock))


def cmd_ssh(args: argparse.Namespace) -> int:
    env = load(args)
    check_names(env, [args.machine])
    target = api.ssh_targets(env, [args.machine])[0]
    if isinstance(target, HostedError):
        raise target
    command = [c for c in args.remote_command if c != "--"] if args.remote_command else []
    argv = openssh_argv(target, command)
    try:
        return subprocess.call(argv)
    except FileNotFoundError as exc:
        raise SshError("no `ssh` client found", "install OpenSSH (Debian: openssh-client)") from exc


def cmd_ssh_config(args: argparse.Namespace) -> int:
    env = load(args)
    check_names(env, args.machines)
    names = args.machines or [m.name for m in env.machines]
    blocks: list[str] = []
    errors: list[HostedError] = []
    for name, target in zip(names, api.ssh_targets(env, names), strict=True):
        if isinstance(target, HostedError):
            errors.append(target)
            continue
        try:
            blocks.append(ssh_config_block(f"{env.name}-{name}", target))
        except HostedError as exc:
            errors.append(exc)
    sys.stdout.write("\n".join(blocks))
    for err in errors:
        console.print(f"# skipped: {err.message}", markup=False, style="dim")
    return 0 if blocks or not errors else EXIT_FAILED

