"""provision, ssh, ssh-config."""

from __future__ import annotations

import argparse
import subprocess
import sys

from rich.markup import escape

from hosted.bringup import BringUp, after_start, ssh_target
from hosted.cli.compose import backend_session
from hosted.cli.console import EventPrinter, console
from hosted.cli.profile_cmds import load
from hosted.errors import EXIT_FAILED, HostedError, MachineNotFound, SshError
from hosted.lifecycle import for_each, owned_machines
from hosted.model import Environment, MachineSpec, ObservedMachine
from hosted.ssh import SshTarget, openssh_argv, ssh_config_block


def _spec(env: Environment, machine: ObservedMachine) -> MachineSpec:
    name = machine.tags.machine if machine.tags else machine.vm_name
    spec = env.machine(name)
    if spec is None:
        raise MachineNotFound(f"{name} is no longer in the profile", "`hosted up` destroys it")
    return spec


def cmd_provision(args: argparse.Namespace) -> int:
    env = load(args)
    printer = EventPrinter()
    with backend_session(printer) as backend:
        hook = after_start(env, backend, BringUp(force_provision=True))

        def act(m: ObservedMachine) -> str | None:
            if not m.power.is_on:
                return f"not running ({m.power.value}); `hosted up` starts and provisions it"
            hook(_spec(env, m), m.uuid, printer)
            return None

        results = for_each(owned_machines(env, backend, args.machines), "provision", act, printer)
    for r in results:
        if r.error is not None and r.error.hint:
            console.print(f"[bold]{escape(r.machine)}[/] {escape(r.error.hint)}")
    return 0 if all(r.ok for r in results) else EXIT_FAILED


def _targets(env: Environment, names: list[str]) -> list[SshTarget | HostedError]:
    """Each named machine's SSH target, or why it has none; one look at VirtualBox for all."""
    with backend_session(EventPrinter()) as backend:
        owned = {m.label: m for m in owned_machines(env, backend)}
    found: list[SshTarget | HostedError] = []
    for name in names:
        try:
            found.append(_target(env, name, owned.get(name)))
        except HostedError as exc:
            found.append(exc)
    return found


def _target(env: Environment, name: str, machine: ObservedMachine | None) -> SshTarget:
    if machine is None:
        raise MachineNotFound(f"no machine named {name} exists in environment {env.name!r}",
                              "`hosted status` lists the environment's machines; `hosted up` creates them")
    if not machine.power.is_on:
        raise SshError(f"{name} is not running ({machine.power.value})", "`hosted up` starts it")
    target = ssh_target(env, machine, _spec(env, machine))
    if target is None:
        raise SshError(f"{name} has no NAT forward to its SSH port",
                       "add {name: ssh, guest: 22, host: auto} to the machine's nat NIC")
    return target


def cmd_ssh(args: argparse.Namespace) -> int:
    env = load(args)
    target = _targets(env, [args.machine])[0]
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
    names = args.machines or [m.name for m in env.machines]
    blocks: list[str] = []
    errors: list[HostedError] = []
    for name, target in zip(names, _targets(env, names), strict=True):
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
