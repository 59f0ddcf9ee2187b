"""SSH for hosted: per-environment keys, per-machine host-key pins, paramiko
sessions (commands, file copy without SFTP), and argv/config for the user's
own OpenSSH client.

The names below are imported on first use: where a machine's SSH endpoint is
(``hosted status``) needs neither paramiko nor cryptography, which a session
and the host-key pins load (``python -X importtime -c "import hosted.ssh"``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hosted.ssh.hostkeys import PinnedKey, fingerprint, forget_host_key, pin_host_keys, read_pins
    from hosted.ssh.keys import client_key, ensure_keypair, load_private_key, public_key_line
    from hosted.ssh.openssh import openssh_argv, openssh_options, ssh_config_block
    from hosted.ssh.session import SshConnectFailed, SshSession, await_banner, connect, open_socket
    from hosted.ssh.target import (
        SshTarget,
        endpoint_of,
        forward_to_ssh,
        known_hosts_path,
        ssh_endpoint,
        ssh_forward,
        ssh_target,
        target_for,
    )

_WHERE = {
    **dict.fromkeys(("PinnedKey", "fingerprint", "forget_host_key", "pin_host_keys", "read_pins"),
                    "hostkeys"),
    **dict.fromkeys(("client_key", "ensure_keypair", "load_private_key", "public_key_line"), "keys"),
    **dict.fromkeys(("openssh_argv", "openssh_options", "ssh_config_block"), "openssh"),
    **dict.fromkeys(("SshConnectFailed", "SshSession", "await_banner", "connect", "open_socket"), "session"),
    **dict.fromkeys(("SshTarget", "endpoint_of", "forward_to_ssh", "known_hosts_path", "ssh_endpoint",
                     "ssh_forward", "ssh_target", "target_for"), "target"),
}

__all__ = [
    "PinnedKey",
    "SshConnectFailed",
    "SshSession",
    "SshTarget",
    "await_banner",
    "client_key",
    "connect",
    "endpoint_of",
    "ensure_keypair",
    "fingerprint",
    "forget_host_key",
    "forward_to_ssh",
    "known_hosts_path",
    "load_private_key",
    "open_socket",
    "openssh_argv",
    "openssh_options",
    "pin_host_keys",
    "public_key_line",
    "read_pins",
    "ssh_config_block",
    "ssh_endpoint",
    "ssh_forward",
    "ssh_target",
    "target_for",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'hosted.ssh' has no attribute {name!r}")
    return getattr(importlib.import_module(f"hosted.ssh.{module}"), name)
