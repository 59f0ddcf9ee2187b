"""`hosted up` of machines whose image is an installer ISO, on the in-memory double:
an empty machine with its disk, prepared once for the unattended install, then started;
refusals leave nothing behind; a machine a crash left unprepared is prepared before it starts."""

from __future__ import annotations

import stat
from dataclasses import replace
from pathlib import Path

import pytest
from double import MemoryBackend
from factories import env, fwd, nat, spec
from installer_iso import write_debian_netinst, write_unknown_iso

from hosted import api, paths
from hosted.backend.base import INSTALL_PENDING
from hosted.errors import ImageError
from hosted.events import Recorder
from hosted.images import unattended
from hosted.model import Environment, ImageSpec, InstallSpec, MachineSpec
from hosted.planner import Plan
from hosted.ports import PortAllocator
from hosted.run import RunResult


@pytest.fixture
def backend(tmp_path: Path) -> MemoryBackend:
    return MemoryBackend(root=tmp_path / "vms", ports=PortAllocator(tmp_path / "ports"))


def lab(iso: Path, state: str = "running", **kw: object) -> Environment:
    kw.setdefault("install", InstallSpec())
    kw.setdefault("disk_mb", 8192)
    web = spec("web", image="deb", state=state, nics=(nat(fwd(22, None, "ssh")),), **kw)
    return replace(env(web), images=(ImageSpec("deb", str(iso)),))


def up(e: Environment, b: MemoryBackend, recorder: Recorder | None = None) -> RunResult:
    return api.up(e, backend=b, wait=False, on_event=recorder or Recorder())


def plan(e: Environment, b: MemoryBackend) -> Plan:
    return api.plan(e, backend=b, wait=False)


def owned(b: MemoryBackend) -> str:
    [m] = [m for m in b.list_machines() if m.tags is not None]
    return m.uuid


def test_up_installs_from_the_iso_once(backend: MemoryBackend, tmp_path: Path) -> None:
    iso = write_debian_netinst(tmp_path / "debian-12.iso")
    e = lab(iso, install=InstallSpec(user="dev", password="s3cret", hostname="web"))
    steps = [s.describe() for s in plan(e, backend).steps]
    assert steps[:4] == ["fetch deb (88.1 kB, local file, to hash and verify)",
                         "create demo-web: 8 GB disk, nat (for an install from deb)",
                         "prepare the unattended install from deb", "start (desired state is running)"]
    result = up(e, backend)
    assert result.ok, [m.error for m in result.failed]
    calls = [c.method for c in backend.calls if c.method in
             ("create_machine", "prepare_unattended", "start", "import_template", "clone_from_template")]
    assert calls == ["create_machine", "prepare_unattended", "start"]
    uuid = owned(backend)
    made = backend.machines[uuid]
    assert made.unattended is not None
    assert (made.unattended.user, made.unattended.password, made.unattended.hostname) == \
        ("dev", "s3cret", "web.localdomain")
    assert made.unattended.iso_path == str(iso)
    assert made.unattended.authorized_key.startswith("ssh-")
    observed = backend.get_machine(uuid)
    assert observed is not None and observed.os_type == "Debian12_64" and observed.disk_mb == 8192
    assert backend.records(uuid).install == "Debian12_64"

    again = up(e, backend)
    assert again.ok and backend.count("prepare_unattended") == 1 and backend.count("create_machine") == 1
    assert not plan(e, backend).has_actions, "the installer's DVD shows up as drift"


def test_a_generated_password_is_kept_in_a_private_file_and_never_shown(
    backend: MemoryBackend, tmp_path: Path
) -> None:
    events = Recorder()
    assert up(lab(write_debian_netinst(tmp_path / "d.iso"), state="poweroff"), backend, events).ok
    file = paths.machine_dir("demo", "web") / unattended.PASSWORD_FILE
    password = file.read_text().strip()
    assert len(password) >= 12 and stat.S_IMODE(file.stat().st_mode) == 0o600
    assert backend.machines[owned(backend)].unattended.password == password  # type: ignore[union-attr]
    texts = [ev.message for ev in events.events]
    assert any(str(file) in t for t in texts), texts
    assert not any(password in t for t in texts)


def test_a_password_from_the_profile_is_never_in_an_event(backend: MemoryBackend, tmp_path: Path) -> None:
    events = Recorder()
    e = lab(write_debian_netinst(tmp_path / "d.iso"), state="poweroff",
            install=InstallSpec(password="hunter2-secret"))
    assert up(e, backend, events).ok
    assert not any("hunter2-secret" in repr(ev) for ev in events.events)


def test_an_unsupported_iso_is_refused_and_leaves_no_machine(backend: MemoryBackend, tmp_path: Path) -> None:
    e = lab(write_unknown_iso(tmp_path / "data.iso"))
    [failed] = up(e, backend).failed
    assert isinstance(failed.error, ImageError) and "does not recognise" in failed.error.message
    assert backend.list_machines() == [] and backend.count("start") == 0
    assert not list((tmp_path / "vms").glob("*/*")), "files of the half-made machine are left"


def test_a_machine_without_a_disk_is_refused_before_anything_is_made(
    backend: MemoryBackend, tmp_path: Path
) -> None:
    e = lab(write_debian_netinst(tmp_path / "d.iso"), disk_mb=None)
    [failed] = up(e, backend).failed
    assert isinstance(failed.error, ImageError) and "disk:" in failed.error.hint
    assert backend.count("create_machine") == 0


def test_a_machine_left_pending_is_prepared_before_it_starts(backend: MemoryBackend, tmp_path: Path) -> None:
    e = lab(write_debian_netinst(tmp_path / "d.iso"))
    backend.fail_next("prepare_unattended", KeyboardInterrupt())  # the process dies mid-way
    with pytest.raises(KeyboardInterrupt):
        up(e, backend)
    uuid = owned(backend)
    assert backend.records(uuid).install == INSTALL_PENDING
    assert up(e, backend).ok
    starts = [i for i, c in enumerate(backend.calls) if c.method == "start"]
    prepares = [i for i, c in enumerate(backend.calls) if c.method == "prepare_unattended"]
    assert len(prepares) == 2 and prepares[-1] < starts[0]
    assert backend.records(uuid).install == "Debian12_64"


def test_a_declared_os_type_is_kept(backend: MemoryBackend, tmp_path: Path) -> None:
    e = lab(write_debian_netinst(tmp_path / "d.iso"), state="poweroff", os_type="Debian_64")
    assert up(e, backend).ok
    observed = backend.get_machine(owned(backend))
    assert observed is not None and observed.os_type == "Debian_64"


def test_the_host_name_is_fully_qualified() -> None:
    assert unattended.fqdn("web") == "web.localdomain"
    assert unattended.fqdn("web.lab.test") == "web.lab.test"
    assert unattended.fqdn("my_box 1") == "my-box-1.localdomain"


def test_unattended_spec_uses_the_machines_own_key(tmp_path: Path) -> None:
    from hosted.ssh.keys import ensure_keypair, public_key_line

    key = ensure_keypair("other-env")
    machine: MachineSpec = spec("web", install=InstallSpec(password="x", full_name=""))
    machine = replace(machine, ssh=replace(machine.ssh, private_key=str(key)))
    got = unattended.unattended_spec(env(machine), machine, "/x.iso", Recorder())
    assert got.authorized_key == public_key_line(key) != public_key_line(ensure_keypair("demo"))
    assert got.full_name == "hosted"
    assert got.set_os_type and got.locale == "en_US" and got.time_zone == "Etc/UTC"
