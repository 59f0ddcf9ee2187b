"""What the image/template contract needs beyond the Backend protocol, per backend.

Making image files the way a user would have them (a disk image made by
VirtualBox, an OVA exported by VirtualBox's own export), breaking a template
the way things break outside hosted (its disk deleted, the machine
unregistered), and reading a machine's disk chain (to see that a linked
clone's disk is a differencing disk over the template's).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from double import MemoryBackend

from hosted.backend.base import Backend, TemplateSource


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class ImageTools:
    def __init__(self, backend: Backend, files: Path) -> None:
        self.backend = backend
        self.files = files
        self.leftovers: list[Path] = []  # folders of templates unregistered by a test

    @property
    def memory(self) -> MemoryBackend | None:
        return self.backend if isinstance(self.backend, MemoryBackend) else None

    @property
    def vbox(self) -> Any:
        return self.backend._ctx  # type: ignore[attr-defined]

    # ---- image files -------------------------------------------------------

    def disk_image(self, name: str, size_mb: int = 8) -> Path:
        """A .vdi as VirtualBox makes it, not registered with VirtualBox afterwards."""
        path = self.files / f"{name}.vdi"
        if self.memory is not None:
            path.write_bytes(b"<<< VirtualBox Disk Image >>>\n" + name.encode() * 64)
            return path
        c = self.vbox.const
        medium = self.vbox.vbox.createMedium("VDI", str(path), c.AccessMode_ReadWrite, c.DeviceType_HardDisk)
        _wait(medium.createBaseStorage(size_mb << 20, [c.MediumVariant_Standard]))
        medium.close()
        return path

    def ova(self, name: str, vm_name: str) -> Path:
        """An .ova written by VirtualBox's own export of a tiny machine (which is then deleted)."""
        path = self.files / f"{name}.ova"
        if self.memory is not None:
            path.write_bytes(b"ovf " + name.encode() * 64)
            return path
        export_machine(self.vbox, vm_name, path, self.files)
        return path

    def source(self, image_name: str, path: Path, kind: str = "disk", arch: str = "x86_64") -> TemplateSource:
        return TemplateSource(image_name, kind, str(path), sha256(path), arch)  # type: ignore[arg-type]

    # ---- breaking and reading ------------------------------------------------

    def break_template(self, uuid: str, how: str) -> None:
        if self.memory is not None:
            self.memory.break_template(uuid, how)
            return
        ctx = self.vbox
        machine = ctx.vbox.findMachine(uuid)
        if how == "disk":
            for disk in base_disk_paths(ctx, machine):
                Path(disk).unlink()
            return
        self.leftovers.append(Path(str(machine.settingsFilePath)).parent)
        machine.unregister(ctx.const.CleanupMode_DetachAllReturnNone)

    def disk_chain(self, uuid: str) -> list[str]:
        """The machine's first hard disk, then its parents up to the base."""
        if self.memory is not None:
            return self.memory.disk_chain(uuid)
        ctx = self.vbox
        machine = ctx.vbox.findMachine(uuid)
        for att in ctx.array(machine, "mediumAttachments"):
            if att.medium is not None and int(att.type) == int(ctx.const.DeviceType_HardDisk):
                chain, medium = [], att.medium
                while medium is not None:
                    chain.append(str(medium.location))
                    medium = medium.parent
                return chain
        return []

    def cleanup(self, image_prefix: str) -> None:
        for t in self.backend.list_templates():
            if t.image_name.startswith(image_prefix) and not t.users:
                with contextlib.suppress(Exception):
                    self.backend.delete_template(t.uuid, lambda _e: None)
        for folder in self.leftovers:
            shutil.rmtree(folder, ignore_errors=True)


def _wait(progress: Any) -> None:
    progress.waitForCompletion(120_000)
    if int(progress.resultCode) != 0:
        raise RuntimeError(str(progress.errorInfo.text))


def base_disk_paths(ctx: Any, machine: Any) -> list[str]:
    out = []
    for att in ctx.array(machine, "mediumAttachments"):
        if att.medium is not None and int(att.type) == int(ctx.const.DeviceType_HardDisk):
            out.append(str(att.medium.base.location))
    return out


def export_machine(ctx: Any, vm_name: str, path: Path, scratch: Path, disk_mb: int = 8) -> None:
    """Make a tiny machine with a disk, export it with ``IMachine.exportTo`` +
    ``IAppliance.write("ovf-2.0")`` to ``path`` (.ova or .ovf), then delete the machine."""
    c, vbox = ctx.const, ctx.vbox
    m = vbox.createMachine("", vm_name, c.PlatformArchitecture_x86, [], "Linux_64", "", "", "", "")
    m.memorySize = 64
    m.saveSettings()
    vbox.registerMachine(m)
    try:
        disk = vbox.createMedium("VDI", str(scratch / f"{vm_name}.vdi"), c.AccessMode_ReadWrite,
                                 c.DeviceType_HardDisk)
        _wait(disk.createBaseStorage(disk_mb << 20, [c.MediumVariant_Standard]))
        session = ctx.mgr.getSessionObject()
        m.lockMachine(session, c.LockType_Write)
        try:
            sm = session.machine
            sm.addStorageController("SATA", c.StorageBus_SATA)
            sm.attachDevice("SATA", 0, 0, c.DeviceType_HardDisk, disk)
            nic = sm.getNetworkAdapter(0)
            nic.attachmentType = c.NetworkAttachmentType_NAT
            nic.NATEngine.addRedirect("ssh", c.NATProtocol_TCP, "127.0.0.1", 2222, "", 22)
            sm.saveSettings()
        finally:
            session.unlockMachine()
        appliance = vbox.createAppliance()
        m.exportTo(appliance, str(path))
        _wait(appliance.write("ovf-2.0", [], str(path)))
    finally:
        media = m.unregister(c.CleanupMode_Full)
        _wait(m.deleteConfig(media))


def vagrant_box(ctx: Any, vm_name: str, out: Path, scratch: Path) -> Path:
    """A Vagrant box for the VirtualBox provider, as ``vagrant package`` makes it:
    a gzipped tar of box.ovf, its disk(s) and metadata.json."""
    import tarfile

    staging = scratch / f"{vm_name}-box"
    staging.mkdir()
    export_machine(ctx, vm_name, staging / "box.ovf", scratch)
    (staging / "metadata.json").write_text(json.dumps({"provider": "virtualbox"}))
    with tarfile.open(out, "w:gz") as tar:
        for f in sorted(staging.iterdir()):
            tar.add(f, arcname=f"./{f.name}")
    shutil.rmtree(staging)
    return out
