"""A failure injected at every step type in turn, before its work or after it (a lost
reply): the command reports it, a rerun converges, and a machine hosted does not own is
never touched.  On the backend double, whose NAT forwards relay to a real sshd standing
in for the guests, so the guest steps (wait, provision, baseline) run for real."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from double import MemoryBackend
from factories import fwd, nat, spec
from installer_iso import write_debian_netinst
from ssh.sshd import Sshd, client_key_fixture, sshd_fixture  # noqa: F401

from hosted import api
from hosted.errors import OperationFailed, SnapshotError
from hosted.events import Recorder
from hosted.model import (
    AnsibleRun,
    Disk,
    Environment,
    ImageSpec,
    InstallSpec,
    Nic,
    PowerState,
    ProvisionStep,
    ReadySpec,
    SshSpec,
)
from hosted.ports import PortAllocator
from hosted.run import RunResult, dispatch
from hosted.steps import (
    Clone,
    Configure,
    Create,
    DeleteSnapshot,
    Destroy,
    FetchImage,
    ImportTemplate,
    InstallFromIso,
    Provision,
    RebootGuest,
    RemoveNetwork,
    ReserveLinkPorts,
    RestoreSnapshot,
    Resume,
    RunAnsible,
    SetAddresses,
    SetHostname,
    SetUpDhcpServer,
    SetUpNatNetwork,
    SetUpSharedDisk,
    Start,
    Stop,
    Suspend,
    TakeBaseline,
    TakeSnapshot,
    WaitReady,
    WriteHosts,
    WriteSeed,
)

pytestmark = pytest.mark.sshd
QUICK = ReadySpec(vm_running=5, guest_network=5, tcp=10, ssh=30)
_envs = itertools.count(1)


@dataclass
class Lab:
    backend: MemoryBackend
    # every machine, from an image, a cloud image, an installer ISO, or empty; web and plain
    # linked (addresses and names set in the guests), web on an internal network with hosted's
    # DHCP server, old on a NAT Network
    first: Environment
    second: Environment  # web restarted for a change, plain resumed, old destroyed (and its NAT Network)
    foreign: str

    def owned(self) -> dict[str, Any]:
        return {m.label: m for m in self.backend.list_machines() if m.tags is not None}

    def converged(self, e: Environment) -> bool:
        return not api.plan(e, backend=self.backend).has_actions

    def up(self, e: Environment) -> RunResult:
        return api.up(e, yes=True, backend=self.backend, on_event=Recorder())


def _disk(path: Path, fill: bytes) -> Path:
    header = b"<<< Oracle VM VirtualBox Disk Image >>>\n".ljust(64, b"\0")
    path.write_bytes(header + bytes.fromhex("7f10dabe") + fill * 444)  # VDI signature at 64
    return path


@pytest.fixture
def _harmless_guest_scripts(tmp_path: Path) -> Iterator[Path]:
    """The sshd standing in for the guests is this host: the scripts that would set addresses
    and /etc/hosts write what they were given to a file instead.  Its own MonkeyPatch, which a
    test's ``monkeypatch.undo()`` leaves in place."""
    log = tmp_path / "guest-network.log"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("hosted.guestnet.addresses_script",
                   lambda addresses: f"echo 'addresses {list(addresses)}' >> {log}; echo 'hosted: set'")
        mp.setattr("hosted.guestnet.hosts_script",
                   lambda env, entries, path="": f"echo 'hosts {list(entries)}' >> {log}")
        mp.setattr("hosted.guestnet.hostname_script", lambda name: f"echo 'hostname {name}' >> {log}")
        boots = tmp_path / "boots"  # a reboot: one more line, a new boot id
        mp.setattr("hosted.guestnet.REBOOT_COMMAND", f"echo boot >> {boots}")
        mp.setattr("hosted.guestnet.BOOT_ID_COMMAND", f"cat {boots} 2>/dev/null | wc -l")
        yield log


@pytest.fixture
def lab(sshd: Sshd, client_key: Path, tmp_path: Path, _harmless_guest_scripts: Path) -> Iterator[Lab]:
    backend = MemoryBackend(root=tmp_path / "vms", ports=PortAllocator(tmp_path / "ports"),
                            guests={22: ("127.0.0.1", sshd.port)})
    foreign = backend.add_foreign_machine("someone-elses-vm", memory_mb=77)
    images = (ImageSpec("tiny", str(_disk(tmp_path / "tiny.vdi", b"\0"))),
              ImageSpec("cloudy", str(_disk(tmp_path / "cloudy.vdi", b"\1")), cloud_init=True),
              ImageSpec("installer", str(write_debian_netinst(tmp_path / "debian.iso"))))
    base = {"nics": (nat(fwd(22, None, "ssh")),), "ready": QUICK,
            "ssh": SshSpec(user="root", private_key=str(client_key))}
    marker = tmp_path / "provisioned"
    ssh = base.pop("nics")[0]
    quorum = Disk("quorum", 16, fixed=True, shareable=True)
    web = spec("web", image="tiny", memory_mb=256, baseline=True, hosts=True, **base,
               nics=(ssh, Nic("internal", network="labnet", ip="10.20.0.11/24"),
                     Nic("link", peer="plain", ip="10.99.0.1/24")),
               hostname="web.lab", groups=("front",), disks=(quorum,),
               provision=(ProvisionStep(kind="shell", name="hello", inline=f"echo hello >> {marker}",
                                        reboot=True),
                          ProvisionStep(kind="shell", name="args", inline=f'echo "$@" >> {marker}.args',
                                        args=("one two", "it's"))))
    machines = (web, spec("cloud", image="cloudy", nics=(ssh,), **base),
                spec("inst", image="installer", disk_mb=8192, install=InstallSpec(password="pw"),
                     nics=(ssh,), **base),
                spec("plain", memory_mb=64, hosts=True, nics=(ssh, Nic("link", peer="web", ip="auto")),
                     disks=(quorum,), **base),
                spec("old", memory_mb=64, state="poweroff", nics=(ssh, Nic("natnetwork", network="oldnet")),
                     **base))
    name = f"faults{next(_envs)}"
    playbook = tmp_path / "site.yml"
    playbook.write_text(f"- hosts: all\n  gather_facts: false\n  tasks:\n"
                        f"    - raw: echo {{{{ greeting }}}} >> {tmp_path}/ansible.out\n")
    ansible = (AnsibleRun("site", str(playbook), ("front",), (("greeting", "hi"),)),)
    first = Environment(name, str(tmp_path / "hosted.yaml"), machines, images, ansible=ansible)
    second = replace(first, machines=(replace(web, memory_mb=512), *machines[1:4]))
    yield Lab(backend, first, second, foreign)
    backend.nat.close()


# How each step type is reached: (make ready, the command, the rerun, is it converged)
Scenario = tuple[Callable[[Lab], None], Callable[[Lab], RunResult], Callable[[Lab], bool]]


def _up_first(lab: Lab) -> RunResult:
    return lab.up(lab.first)


def _first_done(lab: Lab) -> bool:
    machines = lab.owned()
    networks = lab.backend.list_networks()
    return lab.converged(lab.first) and sorted(machines) == ["cloud", "inst", "old", "plain", "web"] \
        and machines["web"].power == PowerState.RUNNING and networks.natnetwork("oldnet") is not None \
        and networks.dhcp_server("labnet") is not None


def _ready_for_second(lab: Lab) -> None:
    assert lab.up(lab.first).ok
    assert api.suspend(lab.first, ["plain"], backend=lab.backend).ok


def _second_done(lab: Lab) -> bool:
    machines = lab.owned()
    return lab.converged(lab.second) and "old" not in machines and machines["web"].memory_mb == 512 \
        and machines["plain"].power == PowerState.RUNNING and lab.backend.list_networks().natnetworks == ()


def _up(lab: Lab) -> None:
    assert lab.up(lab.first).ok


def _saved(lab: Lab) -> None:
    _up(lab)
    assert api.snapshot_save(lab.first, "s", backend=lab.backend).ok


def _saved_then_changed(lab: Lab) -> None:
    """A snapshot to go back to, and a machine changed since (outside hosted)."""
    _saved(lab)
    lab.backend.modify(lab.owned()["old"].uuid, memory_mb=999)


def _snapshots(lab: Lab, name: str) -> list[int]:
    return [sum(s.name == name for s in lab.backend.list_snapshots(m.uuid)) for m in lab.owned().values()]


def _quiet(run: Callable[[Lab], RunResult]) -> Callable[[Lab], RunResult]:
    """A rerun that finds the work already done may refuse, saying so (a snapshot already gone)."""
    def rerun(lab: Lab) -> RunResult:
        with contextlib.suppress(SnapshotError):
            return run(lab)
        return RunResult(lab.first.name, "noop", [])

    return rerun


FIRST: Scenario = (lambda lab: None, _up_first, _first_done)
SECOND: Scenario = (_ready_for_second, lambda lab: lab.up(lab.second), _second_done)
SUSPEND: Scenario = (_up, lambda lab: api.suspend(lab.first, ["plain"], backend=lab.backend),
                     lambda lab: lab.owned()["plain"].power == PowerState.SAVED)
SAVE: Scenario = (_up, lambda lab: api.snapshot_save(lab.first, "s", force=True, backend=lab.backend),
                  lambda lab: _snapshots(lab, "s") == [1] * 5)
RESTORE: Scenario = (_saved_then_changed,
                     lambda lab: api.snapshot_restore(lab.first, "s", yes=True, backend=lab.backend),
                     lambda lab: lab.owned()["old"].memory_mb == 64
                     and lab.owned()["web"].power == PowerState.RUNNING)
DELETE: Scenario = (_saved, _quiet(lambda lab: api.snapshot_delete(lab.first, "s", backend=lab.backend)),
                    lambda lab: _snapshots(lab, "s") == [0] * 5)

COVERAGE = {
    FetchImage: FIRST, ImportTemplate: FIRST, WriteSeed: FIRST, Clone: FIRST, Create: FIRST,
    InstallFromIso: FIRST, Start: FIRST, WaitReady: FIRST, Provision: FIRST, TakeBaseline: FIRST,
    SetUpDhcpServer: FIRST, SetUpNatNetwork: FIRST, ReserveLinkPorts: FIRST, SetAddresses: FIRST,
    WriteHosts: FIRST, SetUpSharedDisk: FIRST, SetHostname: FIRST, RebootGuest: FIRST, RunAnsible: FIRST,
    Stop: SECOND, Configure: SECOND, Resume: SECOND, Destroy: SECOND, RemoveNetwork: SECOND, Suspend: SUSPEND,
    TakeSnapshot: SAVE, RestoreSnapshot: RESTORE, DeleteSnapshot: DELETE,
}


def test_every_step_type_is_covered() -> None:
    assert set(COVERAGE) == set(dispatch.HANDLERS)


def _inject(monkeypatch: pytest.MonkeyPatch, kind: type, after: bool) -> list[str]:
    """The first step of ``kind`` fails (before its work, or after it as a lost reply)."""
    real = dispatch.HANDLERS[kind]
    failed: list[str] = []

    def handler(step: Any, ctx: Any) -> None:
        if failed:
            return real(step, ctx)
        failed.append(step.describe())
        if after:
            real(step, ctx)
        raise OperationFailed(f"injected failure at {step.kind}", "run again")

    monkeypatch.setitem(dispatch.HANDLERS, kind, handler)
    return failed


@pytest.mark.parametrize("after", [False, True], ids=["before-work", "lost-reply"])
@pytest.mark.parametrize("kind", list(COVERAGE), ids=[k.kind for k in COVERAGE])
def test_failure_at_each_step_then_a_rerun_converges(lab: Lab, monkeypatch: pytest.MonkeyPatch,
                                                     kind: type, after: bool) -> None:
    prepare, run, done = COVERAGE[kind]
    prepare(lab)
    failed = _inject(monkeypatch, kind, after)
    result = run(lab)
    assert failed, f"no {kind.kind} step ran"
    assert not result.ok and all("injected" in (m.error.message if m.error else "")
                                 or "could not be prepared" in (m.error.message if m.error else "")
                                 for m in result.failed)
    monkeypatch.undo()
    rerun = run(lab)
    assert rerun.ok, [(m.machine, m.error) for m in rerun.failed]
    assert done(lab)
    user_vm = lab.backend.get_machine(lab.foreign)
    assert user_vm is not None and (user_vm.memory_mb, user_vm.tags) == (77, None)
    assert lab.backend.list_snapshots(lab.foreign) == []


def test_the_first_up_really_provisions_and_keeps_a_baseline(lab: Lab, tmp_path: Path) -> None:
    result = lab.up(lab.first)
    assert result.ok, [(m.machine, m.error) for m in result.failed]
    said = (tmp_path / "guest-network.log").read_text()
    assert "hosts [(10.99.0.2, plain)]" in said and "10.99.0.1/24, link to plain)]" in said
    assert (tmp_path / "provisioned").read_text() == "hello\n"
    assert (tmp_path / "provisioned.args").read_text() == "one two it's\n"
    assert "hostname web.lab" in said and (tmp_path / "boots").read_text() == "boot\n"
    assert (tmp_path / "ansible.out").read_text() == "hi\n"
    web = lab.owned()["web"]
    assert [s.name for s in lab.backend.list_snapshots(web.uuid)] == ["baseline"]
    assert lab.up(lab.first).ok and (tmp_path / "provisioned").read_text() == "hello\n"
