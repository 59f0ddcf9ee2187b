"""The API's commands and copies over one login (open_remote, run_command with stdout and
stderr apart, forwarded_port, provision_log), on the double whose NAT relays to a real sshd."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from double import MemoryBackend
from factories import env, fwd, nat, spec
from ssh.sshd import Sshd, client_key_fixture, sshd_fixture  # noqa: F401

import hosted
from hosted import api
from hosted.errors import MachineNotFound, SshError, UsageError
from hosted.model import Environment, ProvisionStep, ReadySpec, SshSpec
from hosted.ports import PortAllocator

pytestmark = pytest.mark.sshd


@pytest.fixture
def running(sshd: Sshd, client_key: Path, tmp_path: Path) -> Iterator[tuple[Environment, MemoryBackend]]:
    backend = MemoryBackend(root=tmp_path / "vms", ports=PortAllocator(tmp_path / "ports"),
                            guests={22: ("127.0.0.1", sshd.port)})
    e = env(spec("web", nics=(nat(fwd(22, None, "ssh"), fwd(8080, None, "http")),), ready=ReadySpec(ssh=20),
                 ssh=SshSpec(user="root", private_key=str(client_key)),
                 provision=(ProvisionStep(kind="shell", name="hello", inline="echo provisioned"),)),
            name=f"remote{sshd.port}")
    assert api.up(e, yes=True, backend=backend).ok
    yield e, backend
    backend.nat.close()


def test_one_login_for_commands_and_copies(running: tuple[Environment, MemoryBackend],
                                           tmp_path: Path) -> None:
    e, backend = running
    (tmp_path / "in.txt").write_text("payload\n")
    with hosted.open_remote(e, "web", backend=backend) as remote:
        got = remote.run("cat; echo err >&2; exit 2", stdin="from stdin\n")
        assert (got.exit_status, got.stdout, got.stderr, got.ok) == (2, "from stdin\n", "err\n", False)
        with pytest.raises(hosted.CommandFailed) as failed:
            remote.run("echo why >&2; false", check=True)
        assert failed.value.result.stderr == "why\n" and "why" in failed.value.hint
        remote.upload(tmp_path / "in.txt", f"{tmp_path}/guest/")
        assert remote.download(f"{tmp_path}/guest/in.txt", tmp_path / "back.txt").read_text() == "payload\n"


def test_run_command_merged_or_apart(running: tuple[Environment, MemoryBackend]) -> None:
    e, backend = running
    merged = api.run_command(e, "web", "echo a; echo b >&2", backend=backend)
    assert (merged.output, merged.stdout, merged.stderr) == ("a\nb", "", "")
    apart = api.run_command(e, "web", "echo a; echo b >&2", backend=backend, separate=True)
    assert (apart.stdout, apart.stderr) == ("a\n", "b\n")
    with pytest.raises(SshError, match="exited with status 3"):
        api.run_command(e, "web", "exit 3", check=True, backend=backend)


def test_forwarded_port_and_provision_log(running: tuple[Environment, MemoryBackend]) -> None:
    e, backend = running
    ports = {f.guest: f.host for m in backend.list_machines(e.name) for f in m.forwards()}
    assert api.forwarded_port(e, "web", 8080, backend=backend) == ports[8080]
    with pytest.raises(UsageError, match="forwards no host port to guest port 9999/tcp"):
        api.forwarded_port(e, "web", 9999, backend=backend)
    with pytest.raises(MachineNotFound):
        api.forwarded_port(e, "db", 22, backend=backend)
    assert "provisioned" in api.provision_log(e, "web").read_text()
