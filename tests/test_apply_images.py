"""plan/apply of machines made from an image, on the in-memory double: one template
per image, linked clones (full with ``linked: false``), convergence, and a machine
whose image cannot be had failing alone."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest
from double import MemoryBackend
from factories import env, fwd, nat, spec

from hosted.apply import ApplyOptions, ApplyResult, apply
from hosted.errors import ImageError
from hosted.events import Emit, Recorder
from hosted.images.templates import ResolveImage, TemplateImage
from hosted.model import Environment, ImageSpec
from hosted.plan import plan
from hosted.ports import PortAllocator


@pytest.fixture
def backend(tmp_path: Path) -> MemoryBackend:
    return MemoryBackend(root=tmp_path / "vms", ports=PortAllocator(tmp_path / "ports"))


@pytest.fixture
def image(tmp_path: Path) -> ImageSpec:
    path = tmp_path / "debian12.vdi"
    header = b"<<< Oracle VM VirtualBox Disk Image >>>\n".ljust(64, b"\0")
    path.write_bytes(header + bytes.fromhex("7f10dabe") + b"\0" * 444)  # VDI signature at 64
    return ImageSpec(name="debian12", source=str(path))


def resolver(calls: list[str]) -> ResolveImage:
    def resolve(image: ImageSpec, emit: Emit) -> TemplateImage:
        calls.append(image.name)
        if not Path(image.source).is_file():
            raise ImageError(f"image {image.name!r}: {image.source} not found", "check the path")
        digest = hashlib.sha256(Path(image.source).read_bytes()).hexdigest()
        return TemplateImage("disk", image.source, digest, "x86_64")

    return resolve


def workshop(image: ImageSpec, *machines: str, **kw: object) -> Environment:
    specs = [spec(m, image=image.name, state="poweroff", memory_mb=256,
                  nics=(nat(fwd(22, None, "ssh")),), **kw) for m in machines]  # type: ignore[arg-type]
    return replace(env(*specs), images=(image,))


def up(e: Environment, b: MemoryBackend, resolve: ResolveImage | None) -> ApplyResult:
    return apply(plan(e, b.list_machines()), e, b, Recorder(), ApplyOptions(images=resolve))


def test_machines_from_one_image_share_one_template(backend: MemoryBackend, image: ImageSpec) -> None:
    calls: list[str] = []
    e = workshop(image, "web", "db", "cache")
    p = plan(e, backend.list_machines())
    creates = [s for m in p.machines for s in m.steps if s.action == "create"]
    assert all("linked clone of image debian12" in s.describe() for s in creates)

    result = up(e, backend, resolver(calls))
    assert result.ok, [m.error for m in result.failed]
    assert backend.count("import_template") == 1 and backend.count("clone_from_template") == 3
    assert backend.count("create_machine") == 0
    [template] = backend.list_templates()
    owned = [m for m in backend.list_machines() if m.tags is not None]
    assert set(template.users) == {m.uuid for m in owned} and len(owned) == 3
    assert all(m.memory_mb == 256 for m in owned)
    assert template.uuid not in {m.uuid for m in owned}
    assert not plan(e, backend.list_machines()).has_actions

    calls.clear()
    assert up(replace(e, machines=(*e.machines, spec("extra", image="debian12", state="poweroff"))),
              backend, resolver(calls)).ok
    assert backend.count("import_template") == 1, "the second run imported the image again"


def test_linked_false_makes_a_full_clone(backend: MemoryBackend, image: ImageSpec) -> None:
    e = workshop(image, "solo", linked=False)
    assert "full clone of image debian12" in plan(e, []).machines[0].steps[0].describe()
    assert up(e, backend, resolver([])).ok
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
    result = up(e, backend, resolver([]))
    failed = {m.machine: m.error for m in result.failed}
    assert list(failed) == ["bad"] and isinstance(failed["bad"], ImageError)
    names = {m.tags.machine for m in backend.list_machines() if m.tags is not None}
    assert names == {"ok", "plain"}


def test_without_an_image_resolver_image_machines_fail_with_image_error(
    backend: MemoryBackend, image: ImageSpec
) -> None:
    result = up(workshop(image, "web"), backend, None)
    assert [type(m.error) for m in result.failed] == [ImageError]
    assert backend.list_templates() == []


def test_a_failed_clone_leaves_the_template_and_a_rerun_converges(
    backend: MemoryBackend, image: ImageSpec
) -> None:
    e = workshop(image, "web")
    backend.fail_next("clone_from_template", ImageError("clone failed"))
    assert not up(e, backend, resolver([])).ok
    assert len(backend.list_templates()) == 1
    assert up(e, backend, resolver([])).ok
    assert backend.count("import_template") == 1
    assert not plan(e, backend.list_machines()).has_actions


def test_an_x86_image_on_an_arm_host_is_refused(
    backend: MemoryBackend, image: ImageSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("platform.machine", lambda: "arm64")
    result = up(workshop(image, "web"), backend, resolver([]))
    [failed] = result.failed
    assert isinstance(failed.error, ImageError) and "arm64" in failed.error.message
    assert backend.count("import_template") == 0


def test_a_cloud_image_gets_its_seed_in_the_dvd_drive(backend: MemoryBackend, image: ImageSpec) -> None:
    cloud = replace(image, cloud_init=True)
    e = replace(env(spec("web", image="debian12", state="poweroff")), images=(cloud,))
    assert up(e, backend, resolver([])).ok
    [m] = [m for m in backend.list_machines() if m.tags is not None]
    assert m.dvd is not None and m.dvd.endswith("cidata.iso") and Path(m.dvd).is_file()
    assert not plan(e, backend.list_machines()).has_actions, "the seed shows up as drift"


def test_the_image_caches_result_becomes_what_to_import(tmp_path: Path) -> None:
    from hosted.images.resolve import template_image
    from hosted.images.sources import ImageInfo

    box = ImageInfo("box", "ab" * 32, ovf=tmp_path / "box.ovf", disks=(tmp_path / "d.vmdk",), arch="x86_64",
                    os_type="Debian_64")
    assert template_image("b", box) == TemplateImage("ovf", str(tmp_path / "box.ovf"), "ab" * 32, "x86_64",
                                                     "Debian_64")
    disk = ImageInfo("disk", "cd" * 32, ovf=None, disks=(tmp_path / "d.vdi",))
    assert template_image("d", disk) == TemplateImage("disk", str(tmp_path / "d.vdi"), "cd" * 32, None, "")
    iso = ImageInfo("iso", "ef" * 32, ovf=None, disks=(), iso=tmp_path / "x.iso")
    assert template_image("i", iso) == TemplateImage("iso", str(tmp_path / "x.iso"), "ef" * 32, None, "")


def test_up_with_the_image_cache(backend: MemoryBackend, image: ImageSpec) -> None:
    from hosted.images.resolve import from_cache

    e = workshop(image, "web", "db")
    assert up(e, backend, from_cache).ok
    [template] = backend.list_templates()
    assert template.digest == hashlib.sha256(Path(image.source).read_bytes()).hexdigest()
    assert len(template.users) == 2


def test_importing_apply_loads_no_http_tar_xml_yaml_or_email() -> None:
    """hosted.images re-exports lazily (apply needs templates and seeds, not the image cache);
    a seed imports yaml and email when one is written."""
    import subprocess
    import sys

    heavy = ("hosted.images.bundle", "hosted.images.cache", "hosted.images.sources", "tarfile",
             "urllib.request", "http.client", "xml.etree.ElementTree", "yaml", "email.mime.multipart")
    code = f"import sys, hosted.apply; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
