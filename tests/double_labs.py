"""The double's extra disks, shareable disks and ``virtualbox:`` settings (mixed into MemoryBackend).

Like VirtualBox: an extra disk is a file in the machine's folder (``VM-NAME.vdi``) that destroy
deletes; a shareable disk is one file in ``ENV-shared/`` made by ``ensure_shared_disk`` before a
machine can attach it, deleted with the last machine that has it attached; a fixed disk never
grows and a dynamic one only grows.  Settings are stored as declared, over VirtualBox-like
defaults (what ``createMachine`` gives a machine).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from hosted.errors import OperationFailed
from hosted.events import Emit, Event
from hosted.model import Disk, MachineSpec, VirtualBoxSettings

DEFAULT_SETTINGS = VirtualBoxSettings(
    groups=("/",), vram_mb=8, graphics="vboxvga", audio=True, clipboard="disabled", drag_and_drop="disabled",
    nested_virtualization=False, ioapic=True, paravirt="default", usb="none", nic_promiscuous="deny",
    nat_dns_host_resolver=False, extradata=())


class LabsMixin:
    root: Path
    machines: dict[str, Any]
    _lock: Any

    def _init_labs(self) -> None:
        self.shared_disks: dict[tuple[str, str], Path] = {}  # (environment, name) -> its file

    def ensure_shared_disk(self, environment: str, disk: Disk, emit: Emit) -> str:
        with self._lock:
            self._enter("ensure_shared_disk", None, environment, disk.name)  # type: ignore[attr-defined]
            path = self.shared_disks.get((environment, disk.name))
            if path is None or not path.exists():
                path = self.root / f"{environment}-shared" / f"{disk.name}.vdi"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps({"size_mb": disk.size_mb, "fixed": True, "shareable": True}))
                self.shared_disks[(environment, disk.name)] = path
                emit(Event("progress", f"created the shareable disk {disk.name}", percent=100.0))
            self._leave("ensure_shared_disk", None)  # type: ignore[attr-defined]
            return str(path)

    def _apply_labs(self, config: Any, spec: MachineSpec, keys: Any, environment: str) -> Any:
        if "disks" in keys and spec.disks is not None:
            config = replace(config, disks=self._disks(config.disks, spec.disks, environment))
        wanted = VirtualBoxSettings.KEYS if "virtualbox" in keys else \
            [k.removeprefix("virtualbox.") for k in keys if k.startswith("virtualbox.")]
        changes = {k: getattr(spec.virtualbox, k) for k in wanted if getattr(spec.virtualbox, k) is not None}
        if changes.get("vram_mb", 8) > 256:
            raise OperationFailed(f"invalid VRAM size {changes['vram_mb']} MB (at most 256)")
        return replace(config, vbox=replace(config.vbox, **changes)) if changes else config

    def _disks(self, current: tuple[Disk, ...], wanted: tuple[Disk, ...],
               environment: str) -> tuple[Disk, ...]:
        have = {d.name: d for d in current}
        out = list(current)
        used = {d.port for d in current}
        for want in wanted:
            if want.shareable and (environment, want.name) not in self.shared_disks:
                raise OperationFailed(f"the shareable disk {want.name} does not exist yet",
                                      "run `hosted up` again: it is made before the machines")
            got = have.get(want.name)
            port = want.port if want.port is not None else (got.port if got is not None else
                                                            next(p for p in range(1, 30) if p not in used))
            used.add(port)
            grows = got is None or (not got.fixed and want.size_mb > got.size_mb)
            size = want.size_mb if grows or got is None else got.size_mb
            made = replace(want, port=port, size_mb=size, fixed=want.fixed or want.shareable)
            out = [made if d.name == want.name else d for d in out] if got is not None else [*out, made]
        return tuple(out)

    def _disk_files(self, m: Any) -> None:
        for disk in m.config.disks:
            if not disk.shareable:
                path = m.dir / f"{m.vm_name}-{disk.name}.vdi"
                path.write_text(json.dumps({"size_mb": disk.size_mb, "fixed": disk.fixed}))

    def _destroy_disks(self, m: Any, emit: Emit) -> None:
        """A machine's own extra disks go with it; a shareable one with the last machine using it."""
        environment = m.tags.environment if m.tags is not None else ""
        for disk in m.config.disks:
            if not disk.shareable:
                (m.dir / f"{m.vm_name}-{disk.name}.vdi").unlink(missing_ok=True)
                continue
            others = [o for o in self.machines.values() if o.uuid != m.uuid and o.tags is not None
                      and o.tags.environment == environment and any(
                          d.shareable and d.name == disk.name for d in o.config.disks)]
            if others:
                emit(Event("info", f"kept shareable disk {disk.name}: other machines use it",
                           machine=m.vm_name))
                continue
            path = self.shared_disks.pop((environment, disk.name), None)
            if path is not None:
                path.unlink(missing_ok=True)
                with contextlib.suppress(OSError):
                    path.parent.rmdir()
