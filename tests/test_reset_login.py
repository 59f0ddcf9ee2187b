"""`hosted reset` to a live baseline: the guest already runs after the restore, so
readiness is one SSH login (stage ``login``), with no boot stages and no pauses.
On the backend double, whose NAT forward relays to a real sshd."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from double import MemoryBackend
from factories import env, fwd, nat, spec
from ssh.sshd import Sshd, client_key_fixture, sshd_fixture  # noqa: F401

from hosted import api
from hosted.events import Recorder
from hosted.model import ReadySpec, SshSpec
from hosted.ports import PortAllocator

pytestmark = pytest.mark.sshd


@pytest.fixture
def backend(sshd: Sshd, tmp_path: Path) -> Iterator[MemoryBackend]:
    b = MemoryBackend(root=tmp_path / "vms", ports=PortAllocator(tmp_path / "ports"),
                      guests={22: ("127.0.0.1", sshd.port)})
    yield b
    b.nat.close()


def test_reset_to_a_live_baseline_is_one_login(backend: MemoryBackend, client_key: Path) -> None:
    e = env(spec("web", baseline=True, nics=(nat(fwd(22, None, "ssh")),), ready=ReadySpec(ssh=20),
                 ssh=SshSpec(user="root", private_key=str(client_key))))
    assert api.up(e, yes=True, backend=backend).ok
    [info] = [s for m in api.snapshot_list(e, backend=backend) for s in m.nodes]
    assert info.info.name == "baseline" and info.info.online

    rec = Recorder()
    result = api.reset(e, yes=True, backend=backend, on_event=rec)
    assert result.ok, result.machines[0].error
    stages = rec.messages("stage")
    assert [m.split(":")[0] for m in stages if "passed" in m] == ["login"]
    assert not any(m.startswith(("vm_running", "guest_network", "tcp", "ssh")) for m in stages)
    assert any("check the SSH login" in m for m in rec.messages("step-started"))
