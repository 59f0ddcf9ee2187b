"""The user's own ssh client, run for real against sshd with hosted's key and pins."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hosted.errors import SshError
from hosted.ssh import SshTarget, connect, openssh_argv, ssh_config_block
from ssh.sshd import Sshd, client_key_fixture, sshd_fixture  # noqa: F401


def _target(tmp_path: Path, known: str = "known_hosts") -> SshTarget:
    return SshTarget("127.0.0.1", 2222, "root", tmp_path / "id key", tmp_path / known, "env/web")


def test_argv_is_strict_and_uses_the_pin_file(tmp_path: Path) -> None:
    argv = openssh_argv(_target(tmp_path, "50% pins"), ["uname", "-a"], ssh="ssh")
    assert argv[:7] == ["ssh", "-i", f"{tmp_path}/id key", "-p", "2222", "-l", "root"]
    assert argv[-4:] == ["127.0.0.1", "--", "uname", "-a"]
    assert f'UserKnownHostsFile="{tmp_path}/50%% pins"' in argv
    assert "StrictHostKeyChecking=yes" in argv and "IdentitiesOnly=yes" in argv
    assert "HostKeyAlias=hosted-env-web" in argv
    assert openssh_argv(_target(tmp_path), [], ssh="ssh")[-1] == "127.0.0.1"


def test_config_block(tmp_path: Path) -> None:
    block = ssh_config_block("web", _target(tmp_path))
    assert block.startswith("Host web\n  HostName 127.0.0.1\n  Port 2222\n  User root\n")
    assert f'  IdentityFile "{tmp_path}/id key"\n' in block
    assert "StrictHostKeyChecking yes" in block and "StrictHostKeyChecking no" not in block
    with pytest.raises(SshError):
        ssh_config_block("two words", _target(tmp_path))


@pytest.mark.parametrize("field", ["user", "host", "key"])
def test_values_that_would_inject_ssh_config_are_refused(tmp_path: Path, field: str) -> None:
    # Defect 2: a user name with a newline became a working ProxyCommand in `hosted ssh-config`.
    from dataclasses import replace

    target = _target(tmp_path)
    bad = {"user": replace(target, user="root\nProxyCommand sh -c id"),
           "host": replace(target, host="127.0.0.1\n  ProxyCommand id"),
           "key": replace(target, private_key=tmp_path / "k\nProxyCommand id")}[field]
    with pytest.raises(SshError, match="unsafe"):
        ssh_config_block("web", bad)
    with pytest.raises(SshError, match="unsafe"):
        openssh_argv(bad, [], ssh="ssh")


@pytest.mark.sshd
def test_openssh_argv_logs_in_with_the_pin(sshd: Sshd, client_key: Path, tmp_path: Path) -> None:
    target = sshd.target(client_key, tmp_path / "pins dir" / "known_hosts")
    connect(target, timeout=10).close()  # pins the host key
    argv = openssh_argv(target, ["echo", "via", "openssh"])
    done = subprocess.run([*argv[:1], "-o", "BatchMode=yes", *argv[1:]], capture_output=True,
                          text=True, timeout=30)
    assert (done.returncode, done.stdout) == (0, "via openssh\n"), done.stderr


@pytest.mark.sshd
def test_openssh_refuses_a_changed_host_key(sshd: Sshd, client_key: Path, tmp_path: Path) -> None:
    target = sshd.target(client_key, tmp_path / "known_hosts")
    connect(target, timeout=10).close()
    sshd.restart_with_new_host_key()
    argv = openssh_argv(target, ["true"])
    done = subprocess.run([*argv[:1], "-o", "BatchMode=yes", *argv[1:]], capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 255
    assert "HOST IDENTIFICATION HAS CHANGED" in done.stderr


@pytest.mark.sshd
def test_config_block_works_with_ssh_F(sshd: Sshd, client_key: Path, tmp_path: Path) -> None:
    target = sshd.target(client_key, tmp_path / "known_hosts")
    connect(target, timeout=10).close()
    config = tmp_path / "config"
    config.write_text(ssh_config_block("hosted-web", target))
    done = subprocess.run(["ssh", "-F", str(config), "-o", "BatchMode=yes", "hosted-web", "echo ok"],
                          capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout) == (0, "ok\n"), done.stderr
