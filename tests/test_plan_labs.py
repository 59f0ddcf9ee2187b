"""Planning labs (pure): host names, reboots, gui starts, VirtualBox settings and disks compared
key by key, a shareable disk made once for its machines, ansible runs after the machines."""

from __future__ import annotations

from dataclasses import replace

from factories import env, fwd, nat, observed, spec

from hosted.backend.base import MachineRecords
from hosted.facts import Facts
from hosted.model import AnsibleRun, Disk, Environment, Nic, ObservedMachine, PowerState, ProvisionStep
from hosted.model import VirtualBoxSettings as VB
from hosted.planner import Plan, UpOptions
from hosted.planner import plan as plan_with_facts
from hosted.planner.labs import ANSIBLE_RECORD
from hosted.steps import Configure, Noop, RebootGuest, RunAnsible, SetHostname, SetUpSharedDisk, Start

SSH = (nat(fwd(22, None, "ssh")),)


def plan(e: Environment, current: list[ObservedMachine], **facts: object) -> Plan:
    return plan_with_facts(e, Facts(machines=tuple(current), **facts))  # type: ignore[arg-type]


def kinds(p: Plan, machine: str) -> list[str]:
    found = p.machine(machine)
    assert found is not None
    return [s.kind for s in found.steps if not s.is_noop]


def test_a_new_machine_gets_its_hostname_over_ssh_and_the_plan_says_so() -> None:
    p = plan(env(spec(nics=SSH, hostname="web.lab")), [])
    assert kinds(p, "web") == ["create", "start", "wait-ready", "set-hostname"]
    step = next(s for s in p.steps if isinstance(s, SetHostname))
    assert step.describe() == "set the host name to web.lab (host name not set in this guest yet)"


def test_the_hostname_is_checked_again_when_the_machine_boots_and_skipped_when_recorded() -> None:
    e = env(spec(nics=SSH, hostname="web.lab"))
    first = plan(e, [])
    fp = next(s for s in first.steps if isinstance(s, SetHostname)).fingerprint
    records = {"uuid-demo-web": MachineRecords(guest={"hostname": fp})}
    running = observed(power=PowerState.RUNNING, nics=(nat(fwd(22, 2222, "ssh")),))
    assert [s.describe() for s in plan(e, [running], records=records).steps if s.kind == "noop"
            and "host name" in s.describe()] == ["host name already web.lab (recorded)"]
    booting = plan(e, [replace(running, power=PowerState.POWEROFF)], records=records)
    assert "set-hostname" in kinds(booting, "web")
    renamed = plan(env(spec(nics=SSH, hostname="other")), [running], records=records)
    assert "set-hostname" in kinds(renamed, "web")


def test_a_reboot_step_follows_its_provisioning_step_then_addresses_and_hostname_again() -> None:
    steps = (ProvisionStep(kind="shell", name="kernel", inline="x", reboot=True),
             ProvisionStep(kind="shell", name="after", inline="y"))
    e = env(spec(nics=(*SSH, Nic("link", peer="b", ip="10.9.0.1/24", mac="080027000001")), hostname="a",
                 provision=steps),
            spec("b", nics=(*SSH, Nic("link", peer="web", ip="10.9.0.2/24", mac="080027000002"))))
    p = plan(e, [], fingerprints={("web", "kernel"): "k", ("web", "after"): "a"})
    assert kinds(p, "web")[2:] == ["wait-ready", "set-hostname", "set-addresses", "provision", "reboot",
                                   "set-hostname", "set-addresses", "provision"]
    reboot = next(s for s in p.steps if isinstance(s, RebootGuest))
    assert reboot.after == "kernel" and "reboot the guest (after kernel)" in reboot.describe()


def test_no_reboot_when_its_step_does_not_run() -> None:
    e = env(spec(nics=SSH, provision=(ProvisionStep(kind="shell", name="k", inline="x", reboot=True),)))
    current = observed(power=PowerState.RUNNING, nics=(nat(fwd(22, 2222, "ssh")),))
    p = plan(e, [current], fingerprints={("web", "k"): "f"},
             records={"uuid-demo-web": MachineRecords(provisioned={"k": "f"})})
    assert kinds(p, "web") == []


def test_gui_starts_with_a_window() -> None:
    p = plan(env(spec(gui=True)), [])
    start = next(s for s in p.steps if isinstance(s, Start))
    assert start.gui and start.describe() == "start with a window (desired state is running)"


def test_virtualbox_settings_are_compared_key_by_key() -> None:
    have = observed(virtualbox=VB(groups=("/",), vram_mb=8, graphics="vboxvga", audio=True,
                                  clipboard="disabled", nested_virtualization=False, extradata=()))
    want = spec(state="poweroff", virtualbox=VB(
        groups=("/lab",), vram_mb=8, graphics="vmsvga", audio=False, clipboard="bidirectional",
        extradata=(("GUI/ScaleFactor", "2"),)))
    p = plan(env(want), [have])
    configure = next(s for s in p.steps if isinstance(s, Configure))
    assert {c.key: (c.old, c.new, c.needs_poweroff) for c in configure.changes} == {
        "virtualbox.groups": ("/", "/lab", True),
        "virtualbox.graphics": ("vboxvga", "vmsvga", True),
        "virtualbox.audio": ("on", "off", True),
        "virtualbox.clipboard": ("disabled", "bidirectional", False),
        "virtualbox.extradata": ("none", "GUI/ScaleFactor=2", False),
    }
    assert "VRAM already 8" in [s.describe() for s in p.steps if isinstance(s, Noop)]
    assert "extra data: none -> GUI/ScaleFactor=2" in configure.describe()


def test_extra_data_changed_outside_hosted_is_drift_and_undeclared_settings_are_not_compared() -> None:
    have = observed(virtualbox=VB(vram_mb=128, extradata=(("GUI/ScaleFactor", "1"),)))
    p = plan(env(spec(state="poweroff", virtualbox=VB(extradata=(("GUI/ScaleFactor", "2"),)))), [have])
    assert p.machines[0].drift == ("extra data: GUI/ScaleFactor=1 -> GUI/ScaleFactor=2",)


def test_runtime_settings_on_a_running_machine_need_no_restart() -> None:
    have = observed(power=PowerState.RUNNING, virtualbox=VB(clipboard="disabled", drag_and_drop="disabled"))
    p = plan(env(spec(virtualbox=VB(clipboard="bidirectional", drag_and_drop="host_to_guest"))), [have])
    assert kinds(p, "web") == ["configure"]
    assert p.needing_confirmation() == []


def test_disks_compared_by_name_and_grown_never_shrunk() -> None:
    want = (Disk("data", 2048, nonrotational=True), Disk("logs", 512, port=4))
    have = observed(disks=(Disk("data", 1024, port=1, nonrotational=True), Disk("logs", 512, port=4)))
    p = plan(env(spec(state="poweroff", disks=want)), [have])
    configure = next(s for s in p.steps if isinstance(s, Configure))
    assert configure.keys == ("disks",) and configure.needs_poweroff
    same = plan(env(spec(state="poweroff", disks=(Disk("data", 1024, nonrotational=True),))), [have])
    assert kinds(same, "web") == []
    assert any("disks already data 1 GB (ssd)" in s.describe() for s in same.steps)
    smaller = plan(env(spec(state="poweroff", disks=(Disk("data", 512, nonrotational=True),))), [have])
    assert any("never shrinks" in w for w in smaller.warnings)


def test_a_shareable_disk_is_made_once_before_the_machines_that_attach_it() -> None:
    quorum = Disk("quorum", 64, fixed=True, shareable=True)
    e = env(spec("a", disks=(quorum,)), spec("b", disks=(quorum, Disk("own", 10))), spec("c"))
    p = plan(e, [])
    shared = [s for s in p.images if isinstance(s, SetUpSharedDisk)]
    assert [(s.disk, s.size_mb, s.machines, s.lane) for s in shared] == \
        [("quorum", 64, ("a", "b"), "disk quorum")]
    done = [observed("a", disks=(replace(quorum, port=1),)), observed("b", disks=(replace(quorum, port=1),
                                                                                Disk("own", 10, port=2))),
            observed("c")]
    again = plan(env(*(replace(s, state="poweroff") for s in e.machines)), done)
    assert not [s for s in again.images if isinstance(s, SetUpSharedDisk)]


def _ansible_env(run: str = "once") -> Environment:
    machines = (spec("a", nics=SSH, groups=("workers",)), spec("b", nics=SSH, groups=("workers",)),
                spec("c", nics=SSH))
    return replace(env(*machines), ansible=(AnsibleRun("site", "/p/site.yml", ("workers",), run=run),))


def test_an_ansible_run_comes_after_the_machines_it_targets() -> None:
    p = plan(_ansible_env(), [], fingerprints={("", ANSIBLE_RECORD + "site"): "f1"})
    assert [(s.kind, getattr(s, "machines", None)) for s in p.after] == [("ansible", ("a", "b"))]
    assert p.after[0].describe() == "run ansible-playbook site on a, b (not run on a, b yet)"
    assert p.to_json()["after"][0]["kind"] == "ansible"


def test_an_ansible_run_is_once_unless_it_changed_or_says_always() -> None:
    running = [observed(n, power=PowerState.RUNNING, nics=(nat(fwd(22, 2200 + i, "ssh")),))
               for i, n in enumerate("abc")]
    done = {f"uuid-demo-{n}": MachineRecords(provisioned={ANSIBLE_RECORD + "site": "f1"}) for n in "ab"}
    fps = {("", ANSIBLE_RECORD + "site"): "f1"}
    assert [s.kind for s in plan(_ansible_env(), running, records=done, fingerprints=fps).after] == ["noop"]
    changed = {("", ANSIBLE_RECORD + "site"): "f2"}
    assert isinstance(plan(_ansible_env(), running, records=done, fingerprints=changed).after[0],
                      RunAnsible)
    assert isinstance(plan(_ansible_env("always"), running, records=done, fingerprints=fps).after[0],
                      RunAnsible)
    skipped = plan_with_facts(_ansible_env(), Facts(machines=tuple(running)),
                              options=UpOptions(provision=False))
    assert skipped.after[0].describe() == "ansible site: skipped (--no-provision)"
