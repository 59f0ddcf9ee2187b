"""Base images against real VirtualBox: every image file is made in the test with
VirtualBox's own tools (a VM exported with ``IMachine.exportTo`` + ``IAppliance.write``,
an .ova, a Vagrant box tarred as ``vagrant package`` does, a .vdi from createMedium),
imported as a template, and cloned for several machines."""

from __future__ import annotations

import os
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from contract.images_support import export_machine, sha256, vagrant_box
from vbox_fixtures import tags_for, vboxmanage_info

from hosted.backend.base import TemplateInfo, TemplateSource
from hosted.events import Recorder
from hosted.images.prepared import PreparedImage
from hosted.images.templates import ensure_template, prune_templates
from hosted.model import Forward, ImageSpec, MachineSpec, Nic, ObservedMachine

pytestmark = pytest.mark.vbox


class Images:
    """Makes image files, templates and clones; removes what it made afterwards."""

    def __init__(self, backend: Any, files: Path, prefix: str) -> None:
        self.backend, self.files, self.prefix = backend, files, prefix
        self.ctx = backend._ctx
        self.emit = Recorder()
        self.clones: list[str] = []
        self.templates: list[str] = []

    def spec(self, name: str, **kw: Any) -> MachineSpec:
        base: dict[str, Any] = {"name": name, "vm_name": f"{self.prefix}-{name}", "state": "poweroff",
                                "memory_mb": 64, "cpus": 1,
                                "nics": (Nic("nat", forwards=(Forward("ssh", 22, None),)),)}
        base.update(kw)
        return MachineSpec(**base)

    def vdi(self, name: str, size_mb: int = 16) -> Path:
        c = self.ctx.const
        path = self.files / f"{name}.vdi"
        medium = self.ctx.vbox.createMedium("VDI", str(path), c.AccessMode_ReadWrite, c.DeviceType_HardDisk)
        medium.createBaseStorage(size_mb << 20, [c.MediumVariant_Standard]).waitForCompletion(-1)
        medium.close()
        return path

    def import_(self, name: str, path: Path, kind: str) -> TemplateInfo:
        source = TemplateSource(f"{self.prefix}-{name}", kind, str(path), sha256(path), "x86_64")  # type: ignore[arg-type]
        info: TemplateInfo = self.backend.import_template(source, self.emit)
        self.templates.append(info.uuid)
        return info

    def clone(self, template: str, spec: MachineSpec, linked: bool = True) -> ObservedMachine:
        b = self.backend
        m: ObservedMachine = b.clone_from_template(template, spec, tags_for(spec), linked, self.emit)
        self.clones.append(m.uuid)
        return m

    def machine(self, uuid: str) -> Any:
        return self.ctx.vbox.findMachine(uuid)

    def disk(self, uuid: str) -> Any:
        """The first hard disk attached to the machine (IMedium)."""
        for att in self.ctx.array(self.machine(uuid), "mediumAttachments"):
            if att.medium is not None and int(att.type) == int(self.ctx.const.DeviceType_HardDisk):
                return att.medium
        raise AssertionError(f"{uuid} has no hard disk")

    def template_disk(self, template: TemplateInfo) -> str:
        snapshot = self.machine(template.uuid).findSnapshot(template.snapshot_id)
        [path] = [str(a.medium.location) for a in self.ctx.array(snapshot.machine, "mediumAttachments")
                  if a.medium is not None and int(a.type) == int(self.ctx.const.DeviceType_HardDisk)]
        return path

    def cleanup(self) -> None:
        for uuid in self.clones:
            if self.backend.get_machine(uuid) is not None:
                self.backend.destroy(uuid, self.emit)
        for t in self.backend.list_templates():
            if t.uuid in self.templates or t.image_name.startswith(self.prefix):
                self.backend.delete_template(t.uuid, self.emit)


@pytest.fixture
def images(virtualbox_backend: Any, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Images]:
    prefix = f"i{os.getpid()}-{request.node.name[5:25].strip('_-')}".replace("_", "-")
    im = Images(virtualbox_backend, tmp_path, prefix)
    yield im
    im.cleanup()


def assert_linked(im: Images, clone: ObservedMachine, template: TemplateInfo) -> None:
    disk = im.disk(clone.uuid)
    assert disk.parent is not None, "the clone's disk is not a differencing disk"
    assert str(disk.parent.location) == im.template_disk(template)
    assert str(disk.location).startswith(os.path.dirname(clone.settings_file) + os.sep)


def test_a_vagrant_box_exported_by_virtualbox_imports_and_clones(images: Images) -> None:
    box = vagrant_box(images.ctx, f"{images.prefix}-boxsrc", images.files / "debian.box", images.files)
    unpacked = images.files / "unpacked"
    with tarfile.open(box) as tar:
        names = sorted(Path(n).name for n in tar.getnames())
        tar.extractall(unpacked, filter="data")
    assert "box.ovf" in names and "metadata.json" in names and any(n.endswith(".vmdk") for n in names)
    before = {p.name: sha256(p) for p in unpacked.iterdir()}

    template = images.import_("box", unpacked / "box.ovf", "ovf")
    assert template.healthy and template.users == ()
    assert {p.name: sha256(p) for p in unpacked.iterdir()} == before, "the box's files were changed"
    assert images.machine(template.uuid).findSnapshot("").description.startswith("hosted-template:")
    assert images.machine(template.uuid).getExtraData("hosted/environment") == ""
    clone = images.clone(template.uuid, images.spec("web", memory_mb=96, cpus=2))
    info = vboxmanage_info(clone.vm_name)
    assert (info["memory"], info["cpus"]) == ("96", "2")
    assert_linked(images, clone, template)
    assert any(e.kind == "progress" for e in images.emit.events)


def test_an_ova_imports_and_its_nat_forwards_are_dropped(images: Images) -> None:
    ova = images.files / "tiny.ova"
    export_machine(images.ctx, f"{images.prefix}-ovasrc", ova, images.files)
    digest = sha256(ova)
    template = images.import_("ova", ova, "ovf")
    assert sha256(ova) == digest
    redirects = images.ctx.array(images.machine(template.uuid).getNetworkAdapter(0).NATEngine, "redirects")
    assert redirects == [], "the image's forward (2222) would clash between clones"
    clone = images.clone(template.uuid, images.spec("db"))
    assert [f.name for f in clone.forwards()] == ["ssh"] and clone.forwards()[0].host != 2222
    assert_linked(images, clone, template)


def test_a_disk_image_machine(images: Images) -> None:
    vdi = images.vdi("plain")
    digest = sha256(vdi)
    image = ImageSpec(name=f"{images.prefix}-plain", source=str(vdi))
    uuid = ensure_template(images.backend, image, PreparedImage("disk", str(vdi), digest, "x86_64"),
                           images.emit, host_machine="x86_64")
    images.templates.append(uuid)
    assert sha256(vdi) == digest
    known = {str(m.location) for m in images.ctx.array(images.ctx.vbox, "hardDisks")}
    assert str(vdi) not in known, "the user's disk stayed registered with VirtualBox"
    [template] = [t for t in images.backend.list_templates() if t.uuid == uuid]
    clone = images.clone(uuid, images.spec("app"))
    info = vboxmanage_info(clone.vm_name)
    assert info["boot1"] == "disk"
    assert_linked(images, clone, template)
    assert ensure_template(images.backend, image, PreparedImage("disk", str(vdi), digest, "x86_64"),
                           images.emit, host_machine="x86_64") == uuid


def test_several_linked_clones_of_one_template(images: Images) -> None:
    template = images.import_("shared", images.vdi("shared"), "disk")
    clones = [images.clone(template.uuid, images.spec(f"n{i}")) for i in range(4)]
    for clone in clones:
        assert_linked(images, clone, template)
    assert len({str(images.disk(c.uuid).location) for c in clones}) == 4
    assert len({c.forwards()[0].host for c in clones}) == 4
    [listed] = [t for t in images.backend.list_templates() if t.uuid == template.uuid]
    assert set(listed.users) == {c.uuid for c in clones}
    # A linked clone is a machine like any other: it starts (to the firmware, driverless here).
    images.backend.start(clones[0].uuid, "headless", images.emit)
    images.backend.stop(clones[0].uuid, "poweroff", 0, images.emit)
    own = str(images.disk(clones[1].uuid).location)
    images.backend.destroy(clones[1].uuid, images.emit)
    assert not Path(own).exists() and Path(images.template_disk(template)).is_file()
    assert images.disk(clones[2].uuid).parent is not None


def test_prune_keeps_used_templates(images: Images) -> None:
    used = images.import_("used", images.vdi("used"), "disk")
    unused = images.import_("unused", images.vdi("unused"), "disk")
    unused_folder = Path(images.machine(unused.uuid).settingsFilePath).parent
    images.clone(used.uuid, images.spec("keeper"))
    removed = prune_templates(images.backend, images.emit)
    assert unused.uuid in {t.uuid for t in removed} and used.uuid not in {t.uuid for t in removed}
    assert not unused_folder.exists()
    assert vboxmanage_info(used.vm_name)["name"] == used.vm_name


def test_full_clone_is_independent_of_the_template(images: Images) -> None:
    template = images.import_("full", images.vdi("full"), "disk")
    clone = images.clone(template.uuid, images.spec("solo"), linked=False)
    disk = images.disk(clone.uuid)
    assert disk.parent is None and str(disk.location) != images.template_disk(template)
    [listed] = [t for t in images.backend.list_templates() if t.uuid == template.uuid]
    assert listed.users == (clone.uuid,)  # by its tag: still counted while it exists


def test_a_vagrant_box_through_the_image_cache(images: Images) -> None:
    """The whole path `hosted up` takes: cache fetch + unpack, template, linked clones."""
    from hosted.images.resolve import from_cache

    box = vagrant_box(images.ctx, f"{images.prefix}-cachesrc", images.files / "cached.box", images.files)
    digest = sha256(box)
    image = ImageSpec(name=f"{images.prefix}-cached", source=str(box), sha256=digest)
    local = from_cache(image, images.emit)
    assert local.kind == "ovf" and local.digest == digest
    uuid = ensure_template(images.backend, image, local, images.emit)
    images.templates.append(uuid)
    assert ensure_template(images.backend, image, from_cache(image, images.emit), images.emit) == uuid
    [template] = [t for t in images.backend.list_templates() if t.uuid == uuid]
    for name in ("a", "b"):
        assert_linked(images, images.clone(uuid, images.spec(name)), template)
    assert sha256(box) == digest


def test_a_clone_is_tagged_before_it_is_registered(images: Images, monkeypatch: pytest.MonkeyPatch) -> None:
    ova = images.files / "tagged.ova"
    export_machine(images.ctx, f"{images.prefix}-tagsrc", ova, images.files)
    template = images.import_("tagged", ova, "ovf")
    vbox = images.ctx.vbox
    seen: list[str] = []

    class Spy:
        def __getattr__(self, name: str) -> Any:
            return getattr(vbox, name)

        def registerMachine(self, machine: Any) -> None:
            seen.append(str(machine.getExtraData("hosted/environment")))
            vbox.registerMachine(machine)

    spy = Spy()
    monkeypatch.setattr(images.ctx.threads, "vbox", lambda: spy)  # what ctx.vbox gives every thread
    images.clone(template.uuid, images.spec("tagged"))
    assert seen == ["test"]
