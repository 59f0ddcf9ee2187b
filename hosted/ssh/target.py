"""Where and how to reach one machine over SSH."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hosted import paths
from hosted.model import ANY_ADDRESSES, Forward, MachineSpec, ObservedMachine, SshSpec
from hosted.ssh.keys import client_key

KNOWN_HOSTS = "known_hosts"


@dataclass(frozen=True)
class SshTarget:
    """Everything needed to open an SSH session to a machine."""
    host: str  # usually 127.0.0.1: the host side of a NAT forward
    port: int
    user: str
    private_key: Path
    known_hosts: Path  # the machine's own pin file
    label: str  # the machine, as messages name it ("web" or "env/web")
    forward_agent: bool = False  # the user's own ssh: -A (profile: ssh.forward_agent)
    forward_x11: bool = False  # the user's own ssh: -X

    @property
    def host_key_alias(self) -> str:
        """The name host keys are pinned under (stable across port changes)."""
        return "hosted-" + re.sub(r"[^A-Za-z0-9._-]+", "-", self.label).strip("-")


def target_for(env_name: str, machine: str, host: str, port: int, spec: SshSpec) -> SshTarget:
    """The target of a profile machine: its key (or the environment's) and its pin file."""
    return SshTarget(
        host=host,
        port=port,
        user=spec.user,
        private_key=client_key(env_name, spec),
        known_hosts=known_hosts_path(env_name, machine),
        label=f"{env_name}/{machine}",
        forward_agent=spec.forward_agent,
        forward_x11=spec.forward_x11,
    )


def known_hosts_path(env_name: str, machine: str) -> Path:
    """The machine's host-key pin file (forget_host_key it when the machine is destroyed)."""
    return paths.machine_dir(env_name, machine) / KNOWN_HOSTS


def ssh_forward(machine: ObservedMachine, spec: MachineSpec) -> Forward | None:
    """The NAT forward that reaches the machine's SSH port, as ``machine`` was observed."""
    return forward_to_ssh(machine.forwards(), spec)


def forward_to_ssh(forwards: Iterable[Forward], spec: MachineSpec) -> Forward | None:
    """Of ``forwards`` (observed, or the profile's), the one to the machine's SSH port."""
    return next((f for f in forwards if f.guest == spec.ssh.port and f.protocol == "tcp"), None)


def ssh_endpoint(machine: ObservedMachine, spec: MachineSpec) -> tuple[str, int] | None:
    """(host address, port) to reach the machine's SSH port from this host, if it is forwarded."""
    return endpoint_of(machine.forwards(), spec)


def endpoint_of(forwards: Iterable[Forward], spec: MachineSpec) -> tuple[str, int] | None:
    """(host address, port) of the forward to the SSH port among ``forwards``; None without one,
    or when its host port is not chosen yet (``host: auto`` in the profile)."""
    fwd = forward_to_ssh(forwards, spec)
    if fwd is None or fwd.host is None:
        return None
    if fwd.host_ip in ANY_ADDRESSES:  # listens everywhere: reach it on loopback
        return ("::1" if fwd.host_ip == "::" else "127.0.0.1"), fwd.host
    return fwd.host_ip, fwd.host


def ssh_target(env_name: str, machine: ObservedMachine, spec: MachineSpec) -> SshTarget | None:
    endpoint = ssh_endpoint(machine, spec)
    return None if endpoint is None else target_for(env_name, spec.name, *endpoint, spec.ssh)
