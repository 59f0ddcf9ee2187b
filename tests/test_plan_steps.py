"""The planner's image and guest steps: everything `up` will do is in the plan, with the
reason each step runs or is skipped.  Pure: facts are built by hand."""

from __future__ import annotations

from dataclasses import replace

from factories import env, fwd, nat, observed, spec

from hosted.backend.base import MachineRecords
from hosted.facts import Facts, ImageFacts
from hosted.model import (
    Environment,
    ImageSpec,
    InstallSpec,
    MachineSpec,
    PowerState,
    ProvisionStep,
    SnapshotInfo,
)
from hosted.planner import Plan, UpOptions, plan, plan_reload

URL = "https://example.test/debian12.box"
SHELL = ProvisionStep(kind="shell", name="shell-1", inline="true")
ALWAYS = ProvisionStep(kind="shell", name="motd", inline="date", run="always")
SSH = nat(fwd(22, None, "ssh"))


def machine(name: str = "web", **kw: object) -> MachineSpec:
    kw.setdefault("nics", (SSH,))
    return spec(name, image="debian12", **kw)  # type: ignore[arg-type]


def with_image(*specs: MachineSpec, **image: object) -> Environment:
    declared = ImageSpec(name="debian12", source=URL, sha256="ab" * 32, **image)  # type: ignore[arg-type]
    return replace(env(*specs), images=(declared,))


def kinds(p: Plan, name: str = "web") -> list[str]:
    mp = p.machine(name)
    assert mp is not None
    return [s.kind for s in mp.steps if not s.is_noop]


def reasons(p: Plan, name: str = "web") -> list[str]:
    mp = p.machine(name)
    assert mp is not None
    return [s.describe() for s in mp.steps]


def new_image(**kw: object) -> ImageFacts:
    return ImageFacts(**{"name": "debian12", "digest": "ab" * 32, "cached": False, "size": 412_000_000,
                         **kw})  # type: ignore[arg-type]


def test_a_new_machine_from_an_image_lists_every_step_up_takes() -> None:
    e = with_image(machine(provision=(SHELL, ALWAYS), baseline=True))
    p = plan(e, Facts(images={"debian12": new_image()},
                      fingerprints={("web", "shell-1"): "f1", ("web", "motd"): "f2"}))
    assert [s.describe() for s in p.images] == [
        "fetch debian12 (412.0 MB, not cached)",
        "import template for debian12 (no template of this image yet)"]
    assert kinds(p) == ["clone", "start", "wait-ready", "provision", "provision", "take-baseline"]
    text = reasons(p)
    assert "clone demo-web from debian12 (linked clone): nat" in text
    assert "wait for SSH (≤ 300 s) (the machine was started)" in text
    assert "provision shell-1 (not run on this machine yet)" in text
    assert "take the 'baseline' snapshot (the first time the machine is ready)" in text
    data = p.to_json()
    assert [s["kind"] for s in data["images"]] == ["fetch-image", "import-template"]
    assert data["images"][0]["size"] == 412_000_000 and data["images"][0]["machine"] is None
    assert data["actions"] == 8


def test_an_image_is_fetched_and_imported_once_for_all_its_machines() -> None:
    e = with_image(machine("a"), machine("b"), machine("c"))
    p = plan(e, Facts(images={"debian12": new_image(cached=True)}), options=UpOptions(wait=False))
    assert [s.kind for s in p.images] == ["fetch-image", "import-template"]
    assert p.images[0].describe() == "fetch debian12 (412.0 MB, cached)"
    assert all(kinds(p, n) == ["clone", "start"] for n in "abc")


def test_a_template_already_in_virtualbox_needs_no_fetch() -> None:
    e = with_image(machine(state="poweroff"))
    p = plan(e, Facts(images={"debian12": new_image(template="tpl-uuid")}))
    assert [(s.kind, s.describe()) for s in p.images] == [
        ("noop", "image debian12: its template is in VirtualBox")]
    clone = p.machines[0].steps[0]
    assert clone.kind == "clone" and getattr(clone, "template", "") == "tpl-uuid"


def test_a_broken_template_is_imported_again_and_says_why() -> None:
    e = with_image(machine(state="poweroff"))
    p = plan(e, Facts(images={"debian12": new_image(template_problem="its disk is missing")}))
    assert p.images[1].describe() == "import template for debian12 (its template is broken (its disk is " \
                                     "missing): importing it again)"


def test_local_images_say_whether_they_must_be_hashed() -> None:
    e = replace(env(machine(state="poweroff")), images=(ImageSpec(name="debian12", source="/img/d.vdi"),))
    unknown = ImageFacts("debian12", None, True, 2_000_000_000, local=True)
    assert plan(e, Facts(images={"debian12": unknown})).images[0].describe() == \
        "fetch debian12 (2.0 GB, local file, to hash and verify)"
    missing = ImageFacts("debian12", None, False, None, local=True)
    assert plan(e, Facts(images={"debian12": missing})).images[0].describe() == \
        "fetch debian12 (local file, missing)"


def test_installer_iso_machines_are_created_then_prepared() -> None:
    e = with_image(machine(state="poweroff", disk_mb=8192, install=InstallSpec()))
    p = plan(e, Facts(images={"debian12": new_image(iso=True)}))
    assert [s.kind for s in p.images] == ["fetch-image"]  # no template for an installer
    assert kinds(p) == ["create", "install-from-iso"]
    assert getattr(p.machines[0].steps[0], "install", False) is True


def test_an_install_left_pending_by_a_crash_is_prepared_before_starting() -> None:
    e = with_image(machine(disk_mb=8192, install=InstallSpec()))
    cur = observed(nics=(SSH,), disk_mb=8192)
    p = plan(e, Facts(machines=(cur,), images={"debian12": new_image(iso=True)},
                      records={cur.uuid: MachineRecords(install="pending")}), options=UpOptions(wait=False))
    assert kinds(p) == ["install-from-iso", "start"]
    assert "prepare the unattended install from debian12 (its preparation never finished)" in reasons(p)


def test_cloud_images_get_a_seed_unless_a_dvd_is_declared() -> None:
    e = with_image(machine(state="poweroff"), cloud_init=True)
    assert kinds(plan(e, Facts(images={"debian12": new_image()}))) == ["write-seed", "clone"]
    declared = with_image(machine(state="poweroff", dvd="/x.iso"), cloud_init=True)
    assert kinds(plan(declared, Facts(images={"debian12": new_image()}))) == ["clone"]


def running(**kw: object) -> tuple[Environment, object]:
    cur = observed(power=PowerState.RUNNING, nics=(nat(fwd(22, 2222, "ssh")),), **kw)  # type: ignore[arg-type]
    return env(spec("web", nics=(SSH,), provision=(SHELL, ALWAYS), baseline=True)), cur


def test_provisioning_steps_of_a_running_machine_say_why_they_run_or_not() -> None:
    e, cur = running()
    baseline = SnapshotInfo("s1", "baseline", "", 0.0, True, True, None)
    facts = Facts(machines=(cur,), records={cur.uuid: MachineRecords({"shell-1": "f1"})},  # type: ignore
                  fingerprints={("web", "shell-1"): "f1", ("web", "motd"): "f2"},
                  snapshots={cur.uuid: (baseline,)})  # type: ignore[attr-defined]
    p = plan(e, facts)
    assert kinds(p) == ["wait-ready", "provision"]
    assert "provision shell-1: already ran, unchanged (run: once)" in reasons(p)
    assert "provision motd (runs every time (run: always))" in reasons(p)
    assert "the 'baseline' snapshot exists" in reasons(p)
    changed = replace(facts, fingerprints={("web", "shell-1"): "f9", ("web", "motd"): "f2"})
    assert "provision shell-1 (changed since its last run)" in reasons(plan(e, changed))


def test_a_converged_running_machine_has_nothing_to_do_and_no_wait() -> None:
    cur = observed(power=PowerState.RUNNING, nics=(nat(fwd(22, 2222, "ssh")),))
    e = env(spec("web", nics=(SSH,), provision=(SHELL,)))
    facts = Facts(machines=(cur,), records={cur.uuid: MachineRecords({"shell-1": "f1"})},
                  fingerprints={("web", "shell-1"): "f1"})
    p = plan(e, facts)
    assert not p.has_actions, [s.describe() for s in p.steps]


def test_no_provision_and_no_wait_skip_guest_steps_and_say_so() -> None:
    e = with_image(machine(provision=(SHELL,), baseline=True))
    facts = Facts(images={"debian12": new_image()}, fingerprints={("web", "shell-1"): "f1"})
    p = plan(e, facts, options=UpOptions(provision=False))
    assert kinds(p) == ["clone", "start", "wait-ready"]
    assert "provision shell-1: skipped (--no-provision)" in reasons(p)
    assert "'baseline' not taken: provisioning is skipped (--no-provision)" in reasons(p)
    p = plan(e, facts, options=UpOptions(wait=False))
    assert kinds(p) == ["clone", "start"]
    assert "provision shell-1: skipped (--no-wait)" in reasons(p)


def test_without_an_ssh_forward_there_is_no_wait_unless_provisioning_needs_one() -> None:
    e = env(spec("web"))
    p = plan(e, Facts())
    assert kinds(p) == ["create", "start"]
    assert "no NAT forward to guest port 22: not waiting for SSH" in reasons(p)
    e2 = env(spec("web", provision=(SHELL,)))
    assert kinds(plan(e2, Facts(fingerprints={("web", "shell-1"): "f1"}))) == [
        "create", "start", "wait-ready", "provision"]


def test_reload_shuts_running_machines_down_then_does_what_up_does() -> None:
    cur = observed(power=PowerState.RUNNING, nics=(nat(fwd(22, 2222, "ssh")),))
    e = env(spec("web", nics=(SSH,), memory_mb=2048))
    p = plan_reload(e, Facts(machines=(cur,)), timeout=30.0)
    assert kinds(p) == ["stop", "configure", "start", "wait-ready"]
    assert p.operation == "reload" and not p.needing_confirmation()
    assert getattr(p.machines[0].steps[0], "timeout", None) == 30.0
