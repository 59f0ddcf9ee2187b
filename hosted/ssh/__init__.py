"""SSH for hosted: per-environment keys, per-machine host-key pins, paramiko
sessions (commands, file copy without SFTP), and argv/config for the user's
own OpenSSH client."""

from hosted.ssh.hostkeys import PinnedKey, fingerprint, forget_host_key, pin_host_keys, read_pins
from hosted.ssh.keys import client_key, ensure_keypair, load_private_key, public_key_line
from hosted.ssh.openssh import openssh_argv, openssh_options, ssh_config_block
from hosted.ssh.session import SshConnectFailed, SshSession, await_banner, connect, open_socket
from hosted.ssh.target import SshTarget, known_hosts_path, ssh_endpoint, ssh_forward, ssh_target, target_for

__all__ = [
    "PinnedKey",
    "SshConnectFailed",
    "SshSession",
    "SshTarget",
    "await_banner",
    "client_key",
    "connect",
    "ensure_keypair",
    "fingerprint",
    "forget_host_key",
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
