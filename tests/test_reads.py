"""What status, plan and up read from VirtualBox (issue 11): the environment's machines, each
once, and of the host's other machines only one whose name a new machine wants.  Counted on
the double (``MemoryBackend.observed``: machines read in full), not timed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from double import MemoryBackend
from factories import env, fwd, nat, observed, spec

from hosted import api
from hosted.errors import NameConflict, PortConflict
from hosted.machine_status import endpoints
from hosted.model import Environment, Nic, VirtualBoxSettings
from hosted.ports import PortAllocator


def lab(n: int, *, state: str = "poweroff", host: int | None = None) -> Environment:
    return env(*(spec(f"m{i}", memory_mb=64, state=state, nics=(nat(fwd(22, host and host + i, "ssh")),))
                 for i in range(n)))


@pytest.fixture
def backend(tmp_path: Path) -> MemoryBackend:
    b = MemoryBackend(root=tmp_path / "vms", ports=PortAllocator(tmp_path / "ports"))
    for i in range(6):  # the user's own machines, and another environment's
        b.add_foreign_machine(f"mine-{i}")
    assert api.up(env(spec("x", memory_mb=64, state="poweroff"), name="other"), backend=b).ok
    return b


def others(b: MemoryBackend, environment: Environment) -> set[str]:
    return {m.uuid for m in b.list_machines() if m.tags is None or m.tags.environment != environment.name}


@pytest.mark.parametrize("n", [3, 50])
def test_status_reads_each_machine_of_the_environment_once_and_no_other(backend: MemoryBackend,
                                                                          n: int) -> None:
    e = lab(n)
    assert api.up(e, backend=backend).ok
    backend.observed.clear()
    rows = api.status(e, backend=backend)
    assert len(rows) == n and all(r.exists for r in rows)
    assert set(backend.observed) == {r.uuid for r in rows}
    assert set(backend.observed.values()) == {1}


def test_a_machine_not_made_yet_is_looked_up_by_its_name_alone(backend: MemoryBackend) -> None:
    e = lab(3)
    assert api.up(e, ["m0"], backend=backend).ok
    backend.observed.clear()
    lookups = backend.count("get_machine")
    rows = api.status(e, backend=backend)
    assert [r.exists for r in rows] == [True, False, False]
    assert sum(backend.observed.values()) == 1
    assert backend.count("get_machine") - lookups == 2  # m1, m2: by name, found nowhere


def test_a_name_taken_by_a_machine_outside_the_environment_is_still_refused(
        backend: MemoryBackend) -> None:
    e = lab(2)
    taken = backend.add_foreign_machine("demo-m1")
    backend.observed.clear()
    with pytest.raises(NameConflict, match="not managed by hosted"):
        api.status(e, backend=backend)
    assert set(backend.observed) == {taken}  # that one, found by its name; no other
    with pytest.raises(NameConflict):
        api.plan(e, backend=backend)
    with pytest.raises(NameConflict):
        api.up(e, backend=backend)


def test_up_and_plan_read_no_other_machine_without_a_fixed_port(backend: MemoryBackend) -> None:
    e = lab(3, state="running")
    foreign = others(backend, e)
    backend.observed.clear()
    assert api.up(e, backend=backend, wait=False).ok
    api.plan(e, backend=backend)
    assert not foreign & set(backend.observed)


def test_a_fixed_port_is_still_checked_against_every_machine(backend: MemoryBackend) -> None:
    foreign = backend.add_foreign_machine("web-server")
    backend.modify(foreign, nics=(nat(fwd(80, 8102, "http")),))
    backend.observed.clear()
    with pytest.raises(PortConflict, match="web-server"):
        api.plan(lab(3, host=8100), backend=backend)
    assert foreign in backend.briefed  # its forwards were read, in brief
    assert sum(backend.observed.values()) == 0  # no machine was read in full


@pytest.mark.parametrize("n", [3, 50])
def test_a_fixed_port_reads_the_other_machines_in_brief_only(backend: MemoryBackend, n: int) -> None:
    e = lab(n, host=9000)
    assert api.up(e, backend=backend, wait=False).ok
    foreign = others(backend, e)
    backend.observed.clear()
    backend.briefed.clear()
    api.plan(e, backend=backend)
    assert api.up(e, backend=backend, wait=False).ok
    assert set(backend.observed) == {m.uuid for m in backend.list_machines(e.name)}  # in full: its own
    assert set(backend.briefed) == foreign  # in brief: every other one


def test_up_prints_where_to_reach_the_machines_without_reading_them_again(backend: MemoryBackend) -> None:
    e = env(spec("auto", memory_mb=64, state="running", nics=(nat(fwd(22, None, "ssh")),)),
            spec("fixed", memory_mb=64, state="running", nics=(nat(fwd(22, 2299, "ssh")),)),
            spec("none", memory_mb=64, state="running", nics=(nat(fwd(80, None, "http")),)),
            spec("off", memory_mb=64, state="poweroff", nics=(nat(fwd(22, None, "ssh")),)))
    result = api.up(e, backend=backend, wait=False)
    assert result.ok
    reads = backend.count("get_machine")
    where = {name: (host, port) for name, _, host, port in endpoints(e, backend, result)}
    assert backend.count("get_machine") == reads  # nothing read
    assert set(where) == {"auto", "fixed"}
    assert where["fixed"] == ("127.0.0.1", 2299)
    auto = next(m for m in backend.list_machines("demo") if m.label == "auto")
    assert where["auto"] == ("127.0.0.1", auto.forwards()[0].host)
    # A second up changes nothing: the ports are those read before it.
    again = api.up(e, backend=backend, wait=False)
    reads = backend.count("get_machine")
    assert {n: (h, p) for n, _, h, p in endpoints(e, backend, again)} == where
    assert backend.count("get_machine") == reads


def test_nics_the_profile_leaves_undeclared_are_as_virtualbox_has_them(backend: MemoryBackend) -> None:
    e = env(spec("web", memory_mb=64, state="running"))
    result = api.up(e, backend=backend, wait=False)
    uuid = result.machines[0].uuid
    assert uuid is not None
    backend.modify(uuid, nics=(nat(fwd(22, 2022, "ssh")),))  # added outside hosted
    result.machines[0].forwards = None  # as if the run had not read them
    assert [(h, p) for _, _, h, p in endpoints(e, backend, result)] == [("127.0.0.1", 2022)]


BRIEF_COMMANDS = {
    "halt": lambda e, b: api.halt(e, force=True, backend=b),
    "snapshot save": lambda e, b: api.snapshot_save(e, "s1", backend=b),
    "snapshot list": lambda e, b: api.snapshot_list(e, backend=b),
    "snapshot restore": lambda e, b: api.snapshot_restore(e, "baseline", yes=True, backend=b),
    "snapshot delete": lambda e, b: api.snapshot_delete(e, "baseline", backend=b),
    "snapshot push": lambda e, b: api.snapshot_push(e, backend=b),
    "suspend": lambda e, b: api.suspend(e, backend=b),
    "destroy": lambda e, b: api.destroy(e, yes=True, backend=b),
}


@pytest.mark.parametrize("command", sorted(BRIEF_COMMANDS))
def test_power_and_snapshot_commands_read_the_machines_in_brief(backend: MemoryBackend, command: str) -> None:
    """Their planners compare no setting: power and tags are all they read of a machine, and
    the NICs only for destroy (a network hosted made goes with its last machine).  Without
    NICs, no network is read either, even in an environment that has networks."""
    e = env(*(spec(f"m{i}", memory_mb=64, state="running",
                   nics=(nat(fwd(22, None, "ssh")), Nic("internal", network="lab"))) for i in range(3)))
    assert api.up(e, backend=backend, wait=False).ok
    assert api.snapshot_save(e, "baseline", backend=backend).ok
    mine = {m.uuid for m in backend.list_machines(e.name)}
    backend.observed.clear()
    backend.briefed.clear()
    backend.nics_read.clear()
    networks = backend.count("list_networks")
    result = BRIEF_COMMANDS[command](e, backend)
    assert getattr(result, "ok", True)
    assert sum(backend.observed.values()) == 0, command
    assert set(backend.briefed) == mine and set(backend.briefed.values()) == {1}
    if command == "destroy":  # its NICs: only with a network of hosted's on the host (the next test)
        assert backend.count("list_networks") > networks
    else:
        assert not +backend.nics_read and backend.count("list_networks") == networks


@pytest.mark.parametrize("networked", [False, True])
def test_destroy_reads_nics_only_when_hosted_has_a_network_on_the_host(backend: MemoryBackend,
                                                                       networked: bool) -> None:
    """A network hosted made goes with its last machine: with none on the host (the usual case,
    NAT only), destroy reads no NIC and no machine's attachments.  Another environment's network
    is enough to read them: the profile may have dropped one this environment's machines use."""
    if networked:
        other = env(spec("y", memory_mb=64, state="poweroff", nics=(Nic("natnetwork", network="labnat"),)),
                    name="networked")
        assert api.up(other, backend=backend).ok
        assert any(n.owned for n in backend.list_networks().natnetworks)
    else:
        assert not any(d.owned for d in backend.list_networks().dhcp)
        assert not any(n.owned for n in backend.list_networks().natnetworks)
    e = lab(3)
    assert api.up(e, backend=backend).ok
    mine = {m.uuid for m in backend.list_machines(e.name)}
    backend.nics_read.clear()
    backend.briefed.clear()
    assert api.destroy(e, yes=True, backend=backend).ok
    assert set(backend.briefed) == mine
    assert set(+backend.nics_read) == (mine if networked else set())
    assert not backend.list_machines(e.name)


@pytest.mark.parametrize("declared", [False, True])
def test_virtualbox_settings_are_read_only_when_the_profile_declares_one(backend: MemoryBackend,
                                                                         declared: bool) -> None:
    """An undeclared ``virtualbox:`` key is never compared: without one in the profile, status,
    plan, up and reset read no machine's settings (a third of a full read's calls).  One
    declared key, on one machine, and every command that compares reads them, and sees drift."""
    e = lab(3, state="running")
    if declared:
        e = replace(e, machines=(replace(e.machines[0], virtualbox=VirtualBoxSettings(vram_mb=16)),
                                 *e.machines[1:]))
    assert api.up(e, backend=backend, wait=False).ok
    assert api.snapshot_save(e, "baseline", backend=backend).ok
    mine = {m.uuid for m in backend.list_machines(e.name)}
    for call in (lambda: api.status(e, backend=backend), lambda: api.plan(e, backend=backend),
                 lambda: api.up(e, wait=False, backend=backend),
                 lambda: api.reset(e, yes=True, wait=False, backend=backend)):
        backend.observed.clear()
        backend.settings_read.clear()
        call()
        assert mine <= set(backend.observed)
        assert set(+backend.settings_read) == (mine if declared else set())
    if declared:  # changed outside hosted: drift on the declared key
        uuid = next(m.uuid for m in backend.list_machines(e.name) if m.tags and m.tags.machine == "m0")
        backend.modify(uuid, vbox=VirtualBoxSettings(vram_mb=32))
        [row] = [r for r in api.status(e, backend=backend) if r.machine == "m0"]
        assert row.drift == ("VRAM: 32 -> 16 (needs power-off)",)


def test_a_setting_compared_on_a_machine_read_without_settings_is_a_bug_not_drift() -> None:
    from hosted.planner.config import COMPARERS

    compare = dict(COMPARERS)["virtualbox.vram_mb"]
    spec_ = spec("web", virtualbox=VirtualBoxSettings(vram_mb=16))
    with pytest.raises(ValueError, match="without its virtualbox settings"):
        compare(spec_, observed("web", settings_read=False))
    assert compare(spec_, observed("web", virtualbox=VirtualBoxSettings(vram_mb=16))) == (True, "16", "16")


def test_reset_reads_its_machines_in_full_and_the_networks(backend: MemoryBackend) -> None:
    """reset brings machines to the profile's state, addresses on their networks included: a
    full read, and the networks, in the command and in its preview."""
    e = env(*(spec(f"m{i}", memory_mb=64, state="running",
                   nics=(nat(fwd(22, None, "ssh")), Nic("internal", network="lab"))) for i in range(2)))
    assert api.up(e, backend=backend, wait=False).ok
    assert api.snapshot_save(e, "baseline", backend=backend).ok
    for call in (lambda: api.preview(e, "reset", wait=False, backend=backend),
                 lambda: api.reset(e, yes=True, wait=False, backend=backend)):
        backend.briefed.clear()
        networks = backend.count("list_networks")
        call()
        assert not backend.briefed and backend.count("list_networks") > networks


def test_forwards_of_a_machine_read_without_its_nics_are_refused(backend: MemoryBackend) -> None:
    """No NICs read is not no forwards: asking for them is a bug, not an empty answer."""
    e = lab(1)
    assert api.up(e, backend=backend).ok
    [bare] = backend.list_machines(e.name, brief=True, nics=False)
    [brief] = backend.list_machines(e.name, brief=True)
    assert brief.forwards() and not bare.nics and not bare.nics_read
    with pytest.raises(ValueError, match="without its NICs"):
        bare.forwards()


def test_commands_that_compare_settings_read_the_machines_in_full(backend: MemoryBackend) -> None:
    e = lab(3, state="running")
    assert api.up(e, backend=backend, wait=False).ok
    mine = {m.uuid for m in backend.list_machines(e.name)}
    for call in (lambda: api.status(e, backend=backend), lambda: api.plan(e, backend=backend),
                 lambda: api.up(e, wait=False, backend=backend)):
        backend.observed.clear()
        backend.briefed.clear()
        call()
        assert set(backend.observed) == mine and not backend.briefed


def test_listing_and_finding_ssh_read_the_machines_in_brief(backend: MemoryBackend) -> None:
    """`hosted list`, `hosted ssh`/`cp`/`ssh-config`, `inventory` and `forwarded_port` need a
    machine's tags, power and forwards: none is read in full."""
    e = lab(3, state="running")
    assert api.up(e, backend=backend, wait=False).ok
    every = {m.uuid for m in backend.list_machines()}
    mine = {m.uuid for m in backend.list_machines(e.name)}
    backend.observed.clear()
    backend.briefed.clear()
    summary = {s.name: s for s in api.list_environments(backend=backend)}
    assert [m.machine for m in summary[e.name].machines] == ["m0", "m1", "m2"]
    assert all(m.power == "running" and m.forwards for m in summary[e.name].machines)
    assert set(backend.briefed) == every
    targets = api.ssh_targets(e, ["m0", "m1"], backend=backend)
    port = api.forwarded_port(e, "m2", 22, backend=backend)
    text, left_out = api.inventory(e, backend=backend)
    assert [t.port for t in targets] == [m.forwards[0].host for m in summary[e.name].machines[:2]]  # type: ignore[union-attr]
    assert port == summary[e.name].machines[2].forwards[0].host and str(port) in text and left_out == []
    assert sum(backend.observed.values()) == 0
    assert mine <= set(backend.briefed)
