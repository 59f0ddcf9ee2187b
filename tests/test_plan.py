"""Table-driven planner cases: (desired, observed) -> expected steps."""

from __future__ import annotations

from dataclasses import replace

import pytest
from factories import env, fwd, nat, observed, share, spec

from hosted.errors import NameConflict
from hosted.facts import Facts
from hosted.model import Environment, Nic, ObservedMachine, PowerState
from hosted.planner import Plan
from hosted.planner import plan as plan_with_facts
from hosted.steps import Configure


def plan(e: Environment, current: list[ObservedMachine], **kw: object) -> Plan:
    return plan_with_facts(e, Facts(machines=tuple(current)), **kw)  # type: ignore[arg-type]


def actions(p: Plan) -> list[tuple[str, str, str | None]]:
    return [(s.machine, s.kind, ",".join(s.keys) if isinstance(s, Configure) else None)
            for s in p.steps if not s.is_noop]


CASES = [
    pytest.param(
        [spec(state="poweroff", memory_mb=512)], [],
        [("web", "create", None)], id="create-poweroff",
    ),
    pytest.param(
        [spec(memory_mb=512)], [],
        [("web", "create", None), ("web", "start", None)], id="create-running",
    ),
    pytest.param(
        [spec(state="poweroff", memory_mb=1024, cpus=1)], [observed()],
        [], id="in-sync",
    ),
    pytest.param(
        [spec(state="poweroff", memory_mb=2048)], [observed()],
        [("web", "configure", "memory_mb")], id="memory",
    ),
    pytest.param(
        [spec(state="poweroff", cpus=2)], [observed()],
        [("web", "configure", "cpus")], id="cpus",
    ),
    pytest.param(
        [spec(state="poweroff", firmware="efi")], [observed()],
        [("web", "configure", "firmware")], id="firmware",
    ),
    pytest.param(
        [spec(state="poweroff", os_type="Debian_64")], [observed()],
        [("web", "configure", "os_type")], id="os-type",
    ),
    pytest.param(
        [spec(state="poweroff", nics=(nat(), Nic("internal", network="lab")))], [observed()],
        [("web", "configure", "nics")], id="add-nic",
    ),
    pytest.param(
        [spec(state="poweroff", nics=(nat(fwd(22, None, "ssh")),))],
        [observed(nics=(nat(fwd(22, 2201, "ssh")),))],
        [], id="auto-forward-keeps-its-port",
    ),
    pytest.param(
        [spec(state="poweroff", nics=(nat(fwd(22, 2222, "ssh")),))],
        [observed(nics=(nat(fwd(22, 2201, "ssh")),))],
        [("web", "configure", "forwards")], id="fixed-forward-port-changed",
    ),
    pytest.param(
        [spec(state="poweroff", nics=(nat(),))],
        [observed(nics=(nat(fwd(22, 2201, "ssh")),))],
        [("web", "configure", "forwards")], id="forward-removed",
    ),
    pytest.param(
        [spec(state="poweroff", shared_folders=(share(),))], [observed()],
        [("web", "configure", "shared_folders")], id="shared-folder-added",
    ),
    pytest.param(
        [spec(state="poweroff", disk_mb=2048)], [observed(disk_mb=1024)],
        [("web", "configure", "disk_mb")], id="disk-grows",
    ),
    pytest.param(
        [spec(state="poweroff", disk_mb=512)], [observed(disk_mb=1024)],
        [], id="disk-never-shrinks",
    ),
    pytest.param(
        [spec()], [observed()],
        [("web", "start", None)], id="start-stopped",
    ),
    pytest.param(
        [spec()], [observed(power=PowerState.SAVED)],
        [("web", "resume", None)], id="resume-saved",
    ),
    pytest.param(
        [spec(state="poweroff")], [observed(power=PowerState.RUNNING)],
        [("web", "stop", None)], id="stop-running",
    ),
    pytest.param(
        [spec(memory_mb=2048)], [observed(power=PowerState.RUNNING)],
        [("web", "stop", None), ("web", "configure", "memory_mb"), ("web", "start", None)],
        id="restart-for-memory",
    ),
    pytest.param(
        [spec(nics=(nat(fwd(80, 8080)),))], [observed(power=PowerState.RUNNING)],
        [("web", "configure", "forwards")], id="forwards-change-live",
    ),
    pytest.param(
        [spec(state="poweroff")], [observed(), observed("db")],
        [("db", "destroy", None)], id="orphan-destroyed",
    ),
    pytest.param(
        [spec(state="poweroff")], [observed(), observed("db", environment="other")],
        [], id="other-environment-left-alone",
    ),
    pytest.param(
        [spec(state="poweroff")], [observed(), observed("x", owned=False)],
        [], id="untagged-left-alone",
    ),
]


@pytest.mark.parametrize(("desired", "current", "expected"), CASES)
def test_plan_cases(desired: list, current: list, expected: list) -> None:
    assert actions(plan(env(*desired), current)) == expected


def test_noop_steps_say_why() -> None:
    p = plan(env(spec(state="poweroff", memory_mb=1024, cpus=1)), [observed()])
    reasons = [s.describe() for s in p.machines[0].steps if s.is_noop]
    assert "memory already 1 GB" in reasons
    assert "CPUs already 1" in reasons
    assert "already poweroff" in reasons


def test_undeclared_keys_are_not_compared() -> None:
    # VirtualBox has 4 CPUs, EFI and a DVD; the profile says nothing about them.
    cur = observed(cpus=4, firmware="efi", dvd="/x.iso", memory_mb=333)
    assert actions(plan(env(spec(state="poweroff")), [cur])) == []


def test_restart_steps_need_confirmation_and_power_changes_do_not() -> None:
    p = plan(env(spec(memory_mb=2048)), [observed(power=PowerState.RUNNING)])
    assert [s.kind for s in p.steps if s.needs_confirmation] == ["stop"]
    [question] = p.needing_confirmation()
    assert question.startswith("web (demo-web): shut down") and "to apply: memory" in question
    p2 = plan(env(spec(state="poweroff")), [observed(power=PowerState.RUNNING)])
    assert p2.needing_confirmation() == []


def test_discarding_a_saved_state_is_destructive() -> None:
    p = plan(env(spec(cpus=2)), [observed(power=PowerState.SAVED)])
    stop = p.machines[0].steps[0]
    assert (stop.kind, stop.needs_confirmation, getattr(stop, "discards", None)) == ("stop", True, True)
    assert "discards the saved state" in stop.describe()


def test_name_taken_by_untagged_machine_is_an_error() -> None:
    foreign = observed(owned=False)  # same VirtualBox name demo-web, no tags
    with pytest.raises(NameConflict) as err:
        plan(env(spec()), [foreign])
    assert "demo-web" in err.value.message and "not managed by hosted" in err.value.message
    assert "vm_name" in err.value.hint


def test_name_taken_by_other_environment_is_an_error() -> None:
    other = replace(observed(environment="other"), vm_name="demo-web")
    with pytest.raises(NameConflict, match="environment 'other'"):
        plan(env(spec()), [other])


def test_machine_renamed_outside_hosted_is_found_by_tags_with_a_warning() -> None:
    cur = replace(observed(), vm_name="renamed-in-gui")
    p = plan(env(spec(state="poweroff")), [cur])
    assert p.machines[0].uuid == cur.uuid
    assert any("renamed-in-gui" in w for w in p.warnings)


def test_gui_clone_with_copied_tags_is_ignored_with_a_warning() -> None:
    original = observed()
    clone = replace(observed(), uuid="other-uuid", vm_name="demo-web Clone", cpus=8)
    p = plan(env(spec(state="poweroff", cpus=1)), [clone, original])
    assert p.machines[0].uuid == original.uuid
    assert actions(p) == []
    assert any("demo-web Clone" in w for w in p.warnings)


def test_only_limits_machines_and_leaves_orphans() -> None:
    e = env(spec("web", state="poweroff"), spec("db", state="poweroff"))
    p = plan(e, [observed("gone")], only=("db",))
    assert actions(p) == [("db", "create", None)]


def test_plan_json_is_data() -> None:
    p = plan(env(spec(state="poweroff", memory_mb=2048)), [observed()])
    data = p.to_json()
    step = next(s for s in data["machines"][0]["steps"] if s["kind"] == "configure")
    assert step["changes"] == [{"key": "memory_mb", "old": "1 GB", "new": "2 GB", "needs_poweroff": True}]
    assert step["needs_poweroff"] is True and step["noop"] is False
    assert step["description"] == "change memory: 1 GB -> 2 GB (needs power-off)"
    assert data["actions"] == 1 and data["operation"] == "up"


def test_fixed_port_forwarded_by_another_vm_is_refused_naming_it() -> None:
    from hosted.errors import PortConflict

    other = observed("x", owned=False, nics=(nat(fwd(80, 8080, "web")),))
    with pytest.raises(PortConflict) as err:
        plan(env(spec(nics=(nat(fwd(8000, 8080, "app")),))), [other])
    assert "127.0.0.1:8080/tcp" in err.value.message and "demo-x" in err.value.message
    assert "host: auto" in err.value.hint


def test_port_conflict_rules() -> None:
    from dataclasses import replace as rep

    from hosted.errors import PortConflict

    mine = observed(nics=(nat(fwd(80, 8080, "web")),))
    # The machine's own forward, being rewritten, is no obstacle.
    assert plan(env(spec(state="poweroff", nics=(nat(fwd(8000, 8080, "app")),))), [mine])
    # Other protocol, or another host address: no clash.
    udp = observed("x", owned=False, nics=(nat(rep(fwd(80, 8080), protocol="udp")),))
    other_ip = observed("y", owned=False, nics=(nat(rep(fwd(80, 8080), host_ip="127.0.0.2")),))
    assert plan(env(spec(nics=(nat(fwd(8000, 8080)),))), [udp, other_ip])
    # 0.0.0.0 and :: clash with every address.
    for any_address in ("0.0.0.0", "::"):
        wildcard = observed("z", owned=False, nics=(nat(rep(fwd(80, 8080), host_ip=any_address)),))
        with pytest.raises(PortConflict):
            plan(env(spec(nics=(nat(fwd(8000, 8080)),))), [wildcard])
    # Another environment's machine counts, even when powered off.
    theirs = observed("w", environment="other", nics=(nat(fwd(80, 8080)),))
    with pytest.raises(PortConflict, match="environment 'other'"):
        plan(env(spec(nics=(nat(fwd(8000, 8080)),))), [theirs])
