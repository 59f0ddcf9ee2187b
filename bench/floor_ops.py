"""The floor: what each hosted command makes VirtualBox do, as a plain vboxapi script.

    python bench/floor_ops.py OP 'SPEC-JSON'

Run by bench/floor.py as a fresh process per timed run (interpreter start,
``import vboxapi``, connecting, the work, ``deinit``), next to the ``hosted``
CLI process doing the same thing.  It imports nothing of hosted's and nothing
outside the standard library but vboxapi.  Machines of the environment are
found as hosted must find them: every registered machine's
``hosted/environment`` extradata is read.  Work on several machines is done
in one thread per machine, each waiting on its own IProgress, so VirtualBox
overlaps what it can.

OP is one of: up, status, halt, halt-settled (waits until each machine is off and
unlocked, as `hosted halt` does), destroy, snapshot-save, snapshot-restore,
snapshot-list, snapshot-delete, reset.  SPEC (JSON):

    {"environment": "bench", "snapshot": "s1",
     "machines": [{"name": "bench-m1", "os_type": "Linux_64", "memory": 256, "cpus": 1,
                   "firmware": "bios", "disk_mb": 64,
                   "forwards": [["web", "tcp", "127.0.0.1", 28081, "", 80]],
                   "extradata": [["hosted/environment", "bench"], ...]}]}

``FLOOR_IMPORTS`` (modules, comma-separated) are imported first: the floor of a CLI
built on those libraries.

``up`` writes the extradata it is given (bench/floor.py copies what hosted
wrote, tags and the driverless flag included), so the two make the same
machines; the other operations need only ``environment`` and ``snapshot``.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

MB = 1024 * 1024
ENV_KEY = "hosted/environment"
# The XPCOM bindings describe a Session to Python on its first use, unsafely across threads
# (hosted/backend/virtualbox/context.py): any program that locks machines from several
# threads makes and first uses its sessions one at a time.
SESSIONS = threading.Lock()


def unlock(session: Any) -> None:
    """Unlock, unless VirtualBox already did (a VM process that ended takes its session with it)."""
    with contextlib.suppress(Exception):
        session.unlockMachine()


class Floor:
    def __init__(self) -> None:
        from vboxapi import VirtualBoxManager

        self.mgr = VirtualBoxManager(None, None)
        self.vbox = self.mgr.getVirtualBox()
        self.c = self.mgr.constants

    def close(self) -> None:
        self.vbox = None
        self.mgr.deinit()

    def array(self, obj: Any, attr: str) -> list[Any]:
        return list(self.mgr.getArray(obj, attr) or [])

    def machines(self, environment: str) -> list[Any]:
        """The environment's machines, in name order: one extradata read per registered machine."""
        found = [m for m in self.array(self.vbox, "machines")
                 if m.accessible and str(m.getExtraData(ENV_KEY)) == environment]
        return sorted(found, key=lambda m: str(m.name))

    def wait(self, progress: Any, what: str) -> None:
        progress.waitForCompletion(-1)
        if int(progress.resultCode) != 0:
            info = progress.errorInfo
            raise SystemExit(f"{what}: {info.text if info is not None else progress.resultCode}")

    def session(self) -> Any:
        with SESSIONS:
            session = self.mgr.getSessionObject()
            session.state  # noqa: B018 -- the first use
        return session

    def locked(self, machine: Any, write: bool) -> Any:
        session = self.session()
        machine.lockMachine(session, self.c.LockType_Write if write else self.c.LockType_Shared)
        return session

    def state_name(self, machine: Any) -> str:
        # By value: getEnumValueName gives aliases ("FirstOnline" for Running).
        names = ("PoweredOff", "Saved", "Aborted", "Running", "Paused", "Stuck", "Starting", "Stopping",
                 "Saving", "Restoring", "LiveSnapshotting", "OnlineSnapshotting", "DeletingSnapshotOnline")
        state = int(machine.state)
        return next((n for n in names if int(getattr(self.c, f"MachineState_{n}")) == state), str(state))

    def is_on(self, machine: Any) -> bool:
        c = self.c
        return int(machine.state) in (int(c.MachineState_Running), int(c.MachineState_Paused))

    # --- the operations ---

    def create(self, spec: dict[str, Any]) -> Any:
        """Create, tag, register and configure one machine under one write lock."""
        c = self.c
        m = self.vbox.createMachine("", spec["name"], c.PlatformArchitecture_x86, [], spec["os_type"],
                                    "", "", "", "")
        for key, value in spec["extradata"]:
            m.setExtraData(key, value)
        m.saveSettings()
        self.vbox.registerMachine(m)
        folder = os.path.dirname(str(m.settingsFilePath))
        session = self.locked(m, write=True)
        try:
            sm = session.machine
            sm.memorySize, sm.CPUCount = spec["memory"], spec["cpus"]
            bios = spec["firmware"] == "bios"
            sm.firmwareSettings.firmwareType = c.FirmwareType_BIOS if bios else c.FirmwareType_EFI
            if spec.get("disk_mb"):
                disk = self.vbox.createMedium("VDI", os.path.join(folder, f"{spec['name']}.vdi"),
                                              c.AccessMode_ReadWrite, c.DeviceType_HardDisk)
                self.wait(disk.createBaseStorage(spec["disk_mb"] * MB, [c.MediumVariant_Standard]), "disk")
                sm.addStorageController("SATA", c.StorageBus_SATA)
                sm.attachDevice("SATA", 0, 0, c.DeviceType_HardDisk, disk)
                order = [c.DeviceType_HardDisk, c.DeviceType_DVD, c.DeviceType_Null, c.DeviceType_Null]
                for position, device in enumerate(order, start=1):
                    sm.setBootOrder(position, device)
            nic = sm.getNetworkAdapter(0)
            nic.enabled, nic.attachmentType = True, c.NetworkAttachmentType_NAT
            for name, proto, host_ip, host, guest_ip, guest in spec["forwards"]:
                kind = c.NATProtocol_TCP if proto == "tcp" else c.NATProtocol_UDP
                nic.NATEngine.addRedirect(name, kind, host_ip, host, guest_ip, guest)
            port = sm.getSerialPort(0)
            port.path, port.hostMode = os.path.join(folder, "serial.log"), c.PortMode_RawFile
            port.IOAddress, port.IRQ, port.enabled = 0x3F8, 4, True
            sm.addStorageController("IDE", c.StorageBus_IDE)
            sm.attachDeviceWithoutMedium("IDE", 1, 0, c.DeviceType_DVD)
            sm.saveSettings()
        finally:
            unlock(session)
        return m

    def start(self, machine: Any) -> None:
        session = self.session()
        try:
            self.wait(machine.launchVMProcess(session, "headless", []), f"starting {machine.name}")
        finally:
            unlock(session)

    def power_off(self, machine: Any) -> None:
        session = self.locked(machine, write=False)
        try:
            self.wait(session.console.powerDown(), f"powering off {machine.name}")
        finally:
            unlock(session)

    def power_off_settled(self, machine: Any) -> None:
        """As `hosted halt` leaves it: powered off (not "Stopping") and its session unlocked, so
        that the next command can lock it at once."""
        self.power_off(machine)
        off = (int(self.c.MachineState_PoweredOff), int(self.c.MachineState_Aborted))
        deadline = time.monotonic() + 10
        while int(machine.state) not in off and time.monotonic() < deadline:
            time.sleep(0.005)
        self.wait_unlocked(machine)

    def wait_unlocked(self, machine: Any) -> None:
        """A powered-off VM's session lingers a moment; a write lock must wait for it."""
        unlocked = int(self.c.SessionState_Unlocked)
        deadline = time.monotonic() + 10
        while int(machine.sessionState) != unlocked and time.monotonic() < deadline:
            time.sleep(0.01)

    def restore(self, machine: Any, name: str) -> None:
        """Power off, restore ``name``, start again (a live snapshot resumes its saved state)."""
        if self.is_on(machine):
            self.power_off(machine)
            self.wait_unlocked(machine)
        snap = machine.findSnapshot(name)
        session = self.locked(machine, write=True)
        try:
            self.wait(session.machine.restoreSnapshot(snap), f"restoring {machine.name}")
        finally:
            unlock(session)
        self.start(machine)

    def take(self, machine: Any, name: str) -> None:
        live = self.is_on(machine)
        session = self.locked(machine, write=not live)
        try:
            progress, _ = session.machine.takeSnapshot(name, "hosted-snapshot: save\nTaken by the floor.",
                                                       not live)
            self.wait(progress, f"snapshot of {machine.name}")
        finally:
            unlock(session)

    def delete_snapshot(self, machine: Any, name: str) -> None:
        snap_id = str(machine.findSnapshot(name).id)
        session = self.locked(machine, write=not self.is_on(machine))
        try:
            self.wait(session.machine.deleteSnapshot(snap_id), f"deleting a snapshot of {machine.name}")
        finally:
            unlock(session)

    def destroy(self, machine: Any) -> None:
        if self.is_on(machine):
            self.power_off(machine)
            self.wait_unlocked(machine)
        settings = str(machine.settingsFilePath)
        disks = list(machine.unregister(self.c.CleanupMode_DetachAllReturnHardDisksOnly) or [])
        self.wait(machine.deleteConfig(disks), f"deleting {settings}")
        folder = os.path.dirname(settings)
        for leftover in ("serial.log", "Logs", ""):
            try:
                path = os.path.join(folder, leftover)
                os.remove(path) if os.path.isfile(path) else os.rmdir(path)
            except OSError:
                pass

    def describe(self, machine: Any, full: bool = False) -> str:
        """What `hosted status` reads of a machine: power, hardware, NICs and forwards, storage;
        ``full`` adds the controllers, serial port and boot order (bench/floor.py's check)."""
        c = self.c
        state = self.state_name(machine)
        nics = []
        for slot in range(8):
            a = machine.getNetworkAdapter(slot)
            if a.enabled:
                nics.append(f"{int(a.attachmentType)}/{int(a.adapterType)}")
                if int(a.attachmentType) == int(c.NetworkAttachmentType_NAT):
                    nics += [str(r) for r in self.array(a.NATEngine, "redirects")]
        disks = []
        for att in self.array(machine, "mediumAttachments"):
            medium = att.medium
            if medium is not None:
                disks.append(f"{int(att.type)}:{int(medium.logicalSize) // MB}MB")
        tags = [str(machine.getExtraData(k)) for k in
                ("hosted/machine", "hosted/spec-hash", "hosted/version", "hosted/media")]
        text = (f"{machine.name} {state} {machine.OSTypeId} cpus={int(machine.CPUCount)} "
                f"memory={int(machine.memorySize)} fw={int(machine.firmwareSettings.firmwareType)} "
                f"nics={nics} disks={disks} folders={len(self.array(machine, 'sharedFolders'))} "
                f"tag={tags[0]} locked={int(machine.sessionState)}")
        if full:
            port = machine.getSerialPort(0)
            controllers = sorted(f"{c.name}:{int(c.bus)}" for c in self.array(machine, "storageControllers"))
            attachments = sorted(f"{a.controller}/{int(a.port)}/{int(a.device)}:{int(a.type)}"
                                 for a in self.array(machine, "mediumAttachments"))
            text += (f" tags={tags[1:]} controllers={controllers} attachments={attachments}"
                     f" serial={bool(port.enabled)}/{int(port.hostMode)}/{os.path.basename(str(port.path))}"
                     f"/{int(port.IOAddress):#x}/{int(port.IRQ)}"
                     f" boot={[int(machine.getBootOrder(i)) for i in range(1, 5)]}")
        return text

    def snapshot_tree(self, machine: Any) -> list[str]:
        if int(machine.snapshotCount) == 0:
            return []
        current = str(machine.currentSnapshot.id)
        lines, stack = [], [(machine.findSnapshot(""), 0)]
        while stack:
            snap, depth = stack.pop()
            mark = " *current" if str(snap.id) == current else ""
            live = " live" if snap.online else ""
            lines.append(f"{'  ' * depth}{snap.name} {snap.id} {int(snap.timeStamp)}{live}{mark} "
                         f"{str(snap.description).splitlines()[0] if snap.description else ''}")
            stack.extend((child, depth + 1) for child in reversed(self.array(snap, "children")))
        return lines


def each(machines: list[Any], fn: Callable[[Any], None]) -> None:
    """``fn`` on every machine at once, one thread each."""
    if len(machines) <= 1:
        for m in machines:
            fn(m)
        return
    with ThreadPoolExecutor(max_workers=len(machines)) as pool:
        list(pool.map(fn, machines))


def run(floor: Floor, op: str, spec: dict[str, Any]) -> None:
    env, snap = spec.get("environment", ""), spec.get("snapshot", "")
    if op == "up":
        each(spec["machines"], lambda s: floor.start(floor.create(s)))
        return
    machines = floor.machines(env)
    if not machines:
        raise SystemExit(f"no machine of environment {env!r}")
    if op == "status":
        print("\n".join(floor.describe(m) for m in machines))
    elif op == "snapshot-list":
        for m in machines:
            print(f"{m.name} ({floor.state_name(m)})")
            print("\n".join("  " + line for line in floor.snapshot_tree(m)) or "  no snapshots")
    elif op == "halt":
        each([m for m in machines if floor.is_on(m)], floor.power_off)
    elif op == "halt-settled":
        each([m for m in machines if floor.is_on(m)], floor.power_off_settled)
    elif op == "destroy":
        each(machines, floor.destroy)
    elif op == "snapshot-save":
        each(machines, lambda m: floor.take(m, snap))
    elif op == "snapshot-delete":
        each(machines, lambda m: floor.delete_snapshot(m, snap))
    elif op in ("snapshot-restore", "reset"):
        each(machines, lambda m: floor.restore(m, "baseline" if op == "reset" else snap))
    else:
        raise SystemExit(f"unknown operation {op!r}")


def main() -> int:
    op, spec = sys.argv[1], json.loads(sys.argv[2])
    # FLOOR_IMPORTS=argparse,rich.console,rich.table: the same floor, after importing what a
    # CLI built on those libraries imports anyway (bench/vs_vagrant.py's "floor + CLI libraries")
    for module in filter(None, os.environ.get("FLOOR_IMPORTS", "").split(",")):
        importlib.import_module(module)
    floor = Floor()
    try:
        run(floor, op, spec)
    finally:
        floor.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
