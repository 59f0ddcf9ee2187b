"""`up` of machines made from an image, on the in-memory double with the real image
cache: one template per image, linked clones (full with ``linked: false``),
convergence, and a machine whose image cannot be had failing alone."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest
from double import MemoryBackend
from factories import env, fwd, nat, spec

from hosted import api
from hosted.errors import ImageError
from hosted.events import Recorder
from hosted.images.prepared import PreparedImage
from hosted.model import Environment, ImageSpec
from hosted.planner import Plan
from hosted.ports import PortAllocator
from hosted.run import RunResult


@pytest.fixture
def backend(tmp_path: Path) -> MemoryBackend:
    return MemoryBackend(root=tmp_path / "vms", ports=PortAllocator(tmp_path / "ports"))


@pytest.fixture
def image(tmp_path: Path) -> ImageSpec:
    path = tmp_path / "debian12.vdi"
    header = b"<<< Oracle VM VirtualBox Disk Image >>>\n".ljust(64, b"\0")
    path.write_bytes(header + bytes.fromhex("7f10dabe") + b"\0" * 444)  # VDI signature at 64
    return ImageSpec(name="debian12", source=str(path))


def workshop(image: ImageSpec, *machines: str, **kw: object) -> Environment:
    specs = [spec(m, image=image.name, state="poweroff", memory_mb=256,
                  nics=(nat(fwd(22, None, "ssh")),), **kw) for m in machines]  # type: ignore[arg-type]
    return replace(env(*specs), images=(image,))


def up(e: Environment, b: MemoryBackend, rec: Recorder | None = None) -> RunResult:
    return api.up(e, backend=b, wait=False, on_event=rec or Recorder())


def plan(e: Environment, b: MemoryBackend) -> Plan:
    return api.plan(e, backend=b, wait=False)


def test_machines_from_one_image_share_one_template(backend: MemoryBackend, image: ImageSpec) -> None:
    e = workshop(image, "web", "db", "cache")
    p = plan(e, backend)
    clones = [s for s in p.steps if s.kind == "clone"]
    assert len(clones) == 3 and all("from debian12 (linked clone)" in s.describe() for s in clones)
    assert [s.kind for s in p.images] == ["fetch-image", "import-template"]

    rec = Recorder()
    result = up(e, backend, rec)
    assert result.ok, [m.error for m in result.failed]
    assert backend.count("import_template") == 1 and backend.count("clone_from_template") == 3
    assert backend.count("create_machine") == 0
    [template] = backend.list_templates()
    owned = [m for m in backend.list_machines() if m.tags is not None]
    assert set(template.users) == {m.uuid for m in owned} and len(owned) == 3
    assert all(m.memory_mb == 256 for m in owned)
    assert template.uuid not in {m.uuid for m in owned}
    assert rec.messages("step-finished").count("fetch debian12 (512 B, local file, to hash and verify)") == 1
    assert not plan(e, backend).has_actions

    more = replace(e, machines=(*e.machines, spec("extra", image="debian12", state="poweroff")))
    assert [s.describe() for s in plan(more, backend).images] == [
        "image debian12: its template is in VirtualBox"]
    assert up(more, backend).ok
    assert backend.count("import_template") == 1, "the second run imported the image again"


def test_linked_false_makes_a_full_clone(backend: MemoryBackend, image: ImageSpec) -> None:
    e = workshop(image, "solo", linked=False)
    assert "from debian12 (full clone)" in plan(e, backend).machines[0].steps[0].describe()
    assert up(e, backend).ok
    clone = next(c for c in backend.calls if c.method == "clone_from_template")
    assert clone.args[-1] is False
    [m] = [m for m in backend.list_machines() if m.tags is not None]
    assert len(backend.disk_chain(m.uuid)) == 1


def test_a_machine_whose_image_cannot_be_had_fails_alone(
    backend: MemoryBackend, image: ImageSpec, tmp_path: Path
) -> None:
    missing = ImageSpec(name="gone", source=str(tmp_path / "gone.box"))
    machines = (spec("ok", image="debian12", state="poweroff"), spec("bad", image="gone", state="poweroff"),
                spec("plain", state="poweroff", memory_mb=128))
    e = replace(env(*machines), images=(image, missing))
    result = up(e, backend)
    failed = {m.machine: m.error for m in result.failed}
    assert list(failed) == ["image gone", "bad"] and isinstance(failed["bad"], ImageError)
    assert "could not be prepared" in failed["bad"].message and "does not exist" in failed["bad"].message
    names = {m.tags.machine for m in backend.list_machines() if m.tags is not None}
    assert names == {"ok", "plain"}


def test_a_failed_import_fails_every_machine_of_the_image_once(
    backend: MemoryBackend, image: ImageSpec
) -> None:
    backend.fail_next("import_template", ImageError("disk full"))
    result = up(workshop(image, "web", "db"), backend)
    assert [m.machine for m in result.failed] == ["image debian12", "web", "db"]
    assert all("disk full" in m.error.message for m in result.failed)  # type: ignore[union-attr]
    assert backend.list_templates() == [] and backend.count("clone_from_template") == 0


def test_a_failed_clone_leaves_the_template_and_a_rerun_converges(
    backend: MemoryBackend, image: ImageSpec
) -> None:
    e = workshop(image, "web")
    backend.fail_next("clone_from_template", ImageError("clone failed"))
    assert not up(e, backend).ok
    assert len(backend.list_templates()) == 1
    assert up(e, backend).ok
    assert backend.count("import_template") == 1
    assert not plan(e, backend).has_actions


def test_an_x86_image_on_an_arm_host_is_refused(
    backend: MemoryBackend, image: ImageSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("platform.machine", lambda: "arm64")
    result = up(workshop(replace(image, arch="x86_64"), "web"), backend)
    failed = result.failed[0]
    assert isinstance(failed.error, ImageError) and "arm64" in failed.error.message
    assert backend.count("import_template") == 0


def test_a_cloud_image_gets_its_seed_in_the_dvd_drive(backend: MemoryBackend, image: ImageSpec) -> None:
    cloud = replace(image, cloud_init=True)
    e = replace(env(spec("web", image="debian12", state="poweroff")), images=(cloud,))
    assert up(e, backend).ok
    [m] = [m for m in backend.list_machines() if m.tags is not None]
    assert m.dvd is not None and m.dvd.endswith("cidata.iso") and Path(m.dvd).is_file()
    assert not plan(e, backend).has_actions, "the seed shows up as drift"


def test_the_image_caches_result_becomes_what_to_import(tmp_path: Path) -> None:
    from hosted.images.resolve import prepared_image
    from hosted.images.sources import ImageInfo

    box = ImageInfo("box", "ab" * 32, ovf=tmp_path / "box.ovf", disks=(tmp_path / "d.vmdk",), arch="x86_64",
                    os_type="Debian_64")
    assert prepared_image("b", box) == PreparedImage("ovf", str(tmp_path / "box.ovf"), "ab" * 32, "x86_64",
                                                     "Debian_64")
    disk = ImageInfo("disk", "cd" * 32, ovf=None, disks=(tmp_path / "d.vdi",))
    assert prepared_image("d", disk) == PreparedImage("disk", str(tmp_path / "d.vdi"), "cd" * 32, None, "")
    iso = ImageInfo("iso", "ef" * 32, ovf=None, disks=(), iso=tmp_path / "x.iso")
    assert prepared_image("i", iso) == PreparedImage("iso", str(tmp_path / "x.iso"), "ef" * 32, None, "")


def test_up_with_the_image_cache(backend: MemoryBackend, image: ImageSpec) -> None:
    e = workshop(image, "web", "db")
    assert up(e, backend).ok
    [template] = backend.list_templates()
    assert template.digest == hashlib.sha256(Path(image.source).read_bytes()).hexdigest()
    assert len(template.users) == 2


def test_importing_the_api_loads_no_http_tar_xml_yaml_or_email() -> None:
    """The runner's image steps import the image cache when they run; a seed imports yaml
    and email when one is written."""
    import subprocess
    import sys

    heavy = ("hosted.images.bundle", "hosted.images.cache", "hosted.images.sources", "tarfile",
             "urllib.request", "http.client", "xml.etree.ElementTree", "yaml", "email.mime.multipart")
    code = f"import sys, hosted.api; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
