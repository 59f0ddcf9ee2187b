"""An in-memory Backend for fast planner/apply tests.

It follows VirtualBox's rules where hosted depends on them (which power states
allow which operation, what needs the machine off, what a held session lock
refuses, how snapshots form a tree, that hosted's records are not part of a snapshot)
and the contract suite in tests/contract checks it against real VirtualBox.
Machines live in a dict; their files (settings, hosted's disk, logs, saved
state) are real, tiny files under ``root`` so that "destroy deletes only what
it created" can be checked the same way on both backends.

Test knobs, beyond the Backend protocol:

* ``fail_next(method, error, uuid=None, after=False, times=1)`` / ``faults``:
  the next call(s) of ``method`` raise ``error`` (before doing anything, or
  ``after=True``: once the work is done, like a lost reply).
* ``calls``: every protocol call, in order; ``saves``: one uuid per settings
  save (a lock/change/save round trip); ``count(method)``.
* ``add_foreign_machine``, ``lock_machine``/``unlock_machine``/``hold_lock``,
  ``set_guest_property``, ``set_power`` (guest shut down, VM crashed, paused),
  ``modify`` (a change made outside hosted), ``make_inaccessible``.
* ``guests={22: (host, port)}``: while a machine runs, its NAT forwards to guest port 22
  relay to that address (a test's sshd standing in for the guest), see ``double_nat``.
* Templates: ``break_template(uuid, "disk" | "unregister")`` (its disk deleted, or
  unregistered outside hosted), ``disk_chain(uuid)`` (a machine's disk, then its
  parents: a linked clone's disk hangs off its template's).
"""

from __future__ import annotations

import collections
import contextlib
import json
import threading
import time
import uuid as uuidlib
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from double_labs import DEFAULT_SETTINGS, LabsMixin
from double_net import NetworksMixin

from hosted.backend.base import (
    RUNTIME_KEYS,
    Backend,
    ConfigKey,
    GuestInfo,
    MachineRecords,
    StartMode,
    StopMode,
    TemplateInfo,
    TemplateSource,
    UnattendedInfo,
    UnattendedSpec,
)
from hosted.errors import (
    BackendUnavailable,
    ImageError,
    MachineLocked,
    MachineNotFound,
    NameConflict,
    OperationFailed,
    SnapshotError,
)
from hosted.events import Emit, Event
from hosted.model import (
    DRIVER_NIC_KINDS,
    BackendInfo,
    Disk,
    Firmware,
    MachineSpec,
    Nic,
    ObservedMachine,
    PowerState,
    SharedFolder,
    SnapshotInfo,
    Tags,
    VirtualBoxSettings,
)
from hosted.ports import PortAllocator

# The guest properties the double's guests report (VirtualBox's own names).
ADDITIONS_VERSION = "/VirtualBox/GuestAdd/Version"
GUEST_IPV4 = "/VirtualBox/GuestInfo/Net/0/V4/IP"

ALL_KEYS = frozenset((*MachineSpec.CONFIG_KEYS, "forwards", "tags",
                      *(f"virtualbox.{k}" for k in VirtualBoxSettings.KEYS)))
MAX_NICS = 8  # PIIX3 chipset, VirtualBox's default
DEFAULT_ADAPTER = "82540EM"
DEFAULT_INTNET = "intnet"
_RUNNING = (PowerState.RUNNING, PowerState.PAUSED, PowerState.STUCK)
_EDITABLE = (PowerState.POWEROFF, PowerState.ABORTED)  # VirtualBox's "mutable" states
TEMPLATE_MARK = "hosted-template:"  # a template's base snapshot, never listed by list_snapshots
CLONE_KEYS = tuple(k for k in MachineSpec.CONFIG_KEYS if k != "disk_mb")


@dataclass(frozen=True)
class Config:
    os_type: str = "Other"
    cpus: int = 1
    memory_mb: int = 128
    firmware: Firmware = "bios"
    nics: tuple[Nic, ...] = ()
    shared_folders: tuple[SharedFolder, ...] = ()
    disk_mb: int | None = None
    dvd: str | None = None
    disks: tuple[Disk, ...] = ()
    vbox: VirtualBoxSettings = DEFAULT_SETTINGS


@dataclass
class Snapshot:
    id: str
    name: str
    description: str
    taken_at: float
    online: bool
    parent_id: str | None
    config: Config
    children: list[str] = field(default_factory=list)


@dataclass
class Machine:
    uuid: str
    vm_name: str
    dir: Path
    config: Config
    power: PowerState = PowerState.POWEROFF
    tags: Tags | None = None
    provisioned: dict[str, str] = field(default_factory=dict)  # records: step -> fingerprint
    install: str = ""  # records: unattended install state
    guest: dict[str, str] = field(default_factory=dict)  # records: what was set in the guest
    template_digest: str = ""  # a template: its image's digest
    template_image: str = ""
    template_of: str = ""  # a clone: its template's uuid
    guest_props: dict[str, tuple[str, bool]] = field(default_factory=dict)  # name -> (value, transient)
    snapshots: dict[str, Snapshot] = field(default_factory=dict)
    current_snapshot: str | None = None
    locked_by: str | None = None
    accessible: bool = True
    disk_path: Path | None = None  # only a disk this backend created
    parent_disk: Path | None = None  # a linked clone: the template's disk its own disk hangs off
    unattended: UnattendedSpec | None = None  # the last prepare_unattended's settings

    @property
    def settings_file(self) -> Path:
        return self.dir / f"{self.vm_name}.vbox"

    @property
    def saved_state_file(self) -> Path:
        return self.dir / "Snapshots" / f"{{{self.uuid}}}.sav"

    @property
    def vbox_log(self) -> Path:
        return self.dir / "Logs" / "VBox.log"


@dataclass
class Fault:
    error: Exception
    uuid: str | None = None
    after: bool = False


@dataclass(frozen=True)
class Call:
    method: str
    uuid: str | None
    args: tuple[Any, ...] = ()


class MemoryBackend(NetworksMixin, LabsMixin):
    """Backend double; thread-safe, one instance is one VirtualBox installation."""

    def __init__(
        self,
        root: Path | None = None,
        ports: PortAllocator | None = None,
        now: Callable[[], float] = time.time,
        acpi_honoured: bool = True,
        guests: dict[int, tuple[str, int]] | None = None,
    ) -> None:
        import tempfile

        from double_nat import Nat

        self.root = root or Path(tempfile.mkdtemp(prefix="hosted-memory-vms-"))
        self.ports = ports or PortAllocator()
        self.now = now
        self.acpi_honoured = acpi_honoured  # False: a guest that ignores the power button
        self.driverless = False  # True: like VirtualBox without its kernel driver (info() says so)
        self.machines: dict[str, Machine] = {}
        self.faults: dict[str, list[Fault]] = {}
        self.calls: list[Call] = []
        self.saves: list[str] = []
        self.observed: collections.Counter[str] = collections.Counter()  # uuid -> times read in full
        self.briefed: collections.Counter[str] = collections.Counter()  # uuid -> times read in brief
        self.nics_read: collections.Counter[str] = collections.Counter()  # of those, with the NICs
        self.settings_read: collections.Counter[str] = collections.Counter()  # full reads with virtualbox:
        self.closed = False
        self._lock = threading.RLock()
        # guest port -> a real server standing in for the guest (e.g. a test sshd): forwards
        # to that port relay there while the machine runs.
        self.nat = Nat(guests or {})
        self._init_networks()
        self._init_labs()

    # ---- test knobs -------------------------------------------------------

    def fail_next(
        self, method: str, error: Exception, *, uuid: str | None = None, after: bool = False,
        times: int = 1,
    ) -> None:
        """The next ``times`` calls of ``method`` (on ``uuid``, if given) raise ``error``."""
        if not hasattr(self, method):
            raise AttributeError(f"MemoryBackend has no method {method!r}")
        with self._lock:
            self.faults.setdefault(method, []).extend(Fault(error, uuid, after) for _ in range(times))

    def count(self, method: str, uuid: str | None = None) -> int:
        return sum(1 for c in self.calls if c.method == method and uuid in (None, c.uuid))

    def add_foreign_machine(self, vm_name: str, *, memory_mb: int = 64, os_type: str = "Other") -> str:
        """A machine hosted did not create (no tags): it must never be touched."""
        with self._lock:
            m = self._register(vm_name, Config(os_type=os_type, memory_mb=memory_mb), None)
            return m.uuid

    def lock_machine(self, uuid: str, holder: str = "VirtualBox GUI") -> None:
        """Another process holds a write session lock (e.g. the GUI's settings dialog)."""
        with self._lock:
            m = self._get(uuid)
            if m.locked_by is not None or m.power in _RUNNING:
                raise OperationFailed(f"{m.vm_name} is already locked")
            m.locked_by = holder

    def unlock_machine(self, uuid: str) -> None:
        with self._lock:
            self._get(uuid).locked_by = None

    @contextlib.contextmanager
    def hold_lock(self, uuid: str, holder: str = "VirtualBox GUI") -> Iterator[None]:
        self.lock_machine(uuid, holder)
        try:
            yield
        finally:
            self.unlock_machine(uuid)

    def set_guest_property(self, uuid: str, name: str, value: str | None, *, transient: bool = True) -> None:
        """What the guest additions would publish; transient ones vanish at power off."""
        with self._lock:
            m = self._get(uuid)
            if value is None:
                m.guest_props.pop(name, None)
            else:
                m.guest_props[name] = (value, transient)

    def set_power(self, uuid: str, power: PowerState) -> None:
        """Something outside hosted changed the power state (guest halted, VM crashed...)."""
        with self._lock:
            m = self._get(uuid)
            if not power.is_on:
                self._powered_off(m)
            m.power = power

    def modify(self, uuid: str, **changes: Any) -> None:
        """A change made outside hosted (GUI, VBoxManage), e.g. ``modify(u, memory_mb=512)``."""
        with self._lock:
            m = self._get(uuid)
            if "vm_name" in changes:
                m.vm_name = changes.pop("vm_name")
            m.config = replace(m.config, **changes)
            self._save(m)

    def make_inaccessible(self, uuid: str) -> None:
        """Its settings file went missing or unreadable."""
        with self._lock:
            self._get(uuid).accessible = False

    def disk_path(self, uuid: str) -> Path | None:
        with self._lock:
            return self._get(uuid).disk_path

    def break_template(self, uuid: str, how: str) -> None:
        """``"disk"``: its disk file is deleted; ``"unregister"``: unregistered, files left."""
        with self._lock:
            m = self._get(uuid)
            if how == "disk":
                assert m.disk_path is not None
                m.disk_path.unlink()
            else:
                del self.machines[uuid]

    def disk_chain(self, uuid: str) -> list[str]:
        with self._lock:
            m = self._get(uuid)
            return [str(p) for p in (m.disk_path, m.parent_disk) if p is not None]

    # ---- Backend: reading -------------------------------------------------

    def info(self) -> BackendInfo:
        self._enter("info", None)
        driver = (("kernel_driver", "no" if self.driverless else "yes"),)
        return BackendInfo(name="memory", version="7.2.0", api_version="7_2", details=driver)

    def list_machines(self, environment: str | None = None, *, others: bool = False,
                      brief: bool = False, nics: bool = True, settings: bool = True) -> list[ObservedMachine]:
        with self._lock:
            self._enter("list_machines", None)
            # As VirtualBox's backend: one tag decides, the others are not read in full.
            listed = []
            for m in self.machines.values():
                if environment is None or (m.accessible and m.tags is not None
                                           and m.tags.environment == environment):
                    listed.append(self._brief(m, nics) if brief else self._observe(m, settings))
                elif others:
                    listed.append(self._brief(m))
            return listed

    def get_machine(self, ref: str) -> ObservedMachine | None:
        with self._lock:
            self._enter("get_machine", ref)
            m = self._find(ref)
            return None if m is None else self._observe(m)

    def records(self, uuid: str) -> MachineRecords:
        with self._lock:
            self._enter("records", uuid)
            m = self._get(uuid)
            return MachineRecords(provisioned=dict(m.provisioned), install=m.install, guest=dict(m.guest))

    def record_provisioned(self, uuid: str, step: str, fingerprint: str) -> None:
        with self._lock:
            self._enter("record_provisioned", uuid, step, fingerprint)
            m = self._owned(uuid)
            if fingerprint:
                m.provisioned[step] = fingerprint
            else:
                m.provisioned.pop(step, None)
            self._save(m)
            self._leave("record_provisioned", uuid)

    def record_guest(self, uuid: str, what: str, fingerprint: str) -> None:
        with self._lock:
            self._enter("record_guest", uuid, what, fingerprint)
            m = self._owned(uuid)
            if fingerprint:
                m.guest[what] = fingerprint
            else:
                m.guest.pop(what, None)
            self._save(m)
            self._leave("record_guest", uuid)

    def record_install(self, uuid: str, state: str) -> None:
        with self._lock:
            self._enter("record_install", uuid, state)
            m = self._owned(uuid)
            m.install = state
            self._save(m)
            self._leave("record_install", uuid)

    def guest_info(self, uuid: str) -> GuestInfo:
        with self._lock:
            self._enter("guest_info", uuid)
            props = self._get(uuid).guest_props
            additions = props.get(ADDITIONS_VERSION)
            ipv4 = props.get(GUEST_IPV4) if additions is not None else None
            return GuestInfo(additions=additions[0] if additions else None, ipv4=ipv4[0] if ipv4 else None)

    def wait_power(self, uuid: str, until: Collection[PowerState], timeout: float) -> PowerState:
        """Polls (the real backend waits on VirtualBox's events); other threads change states."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._enter("wait_power", uuid)
        while True:
            with self._lock:
                power = self._get(uuid).power
            if power in until or time.monotonic() >= deadline:
                return power
            time.sleep(0.01)

    def log_paths(self, uuid: str) -> dict[str, str]:
        with self._lock:
            self._enter("log_paths", uuid)
            m = self._get(uuid)
            return {"vbox": str(m.vbox_log), "serial": str(m.dir / "Logs" / "serial.log")}

    # ---- Backend: creating and changing -----------------------------------

    def create_machine(self, spec: MachineSpec, tags: Tags, emit: Emit) -> ObservedMachine:
        with self._lock:
            self._enter("create_machine", None, spec.vm_name)
            self._check_new_name(spec.vm_name)
            config = self._apply(Config(), spec, MachineSpec.CONFIG_KEYS)
            config = self._apply_labs(config, spec, MachineSpec.CONFIG_KEYS, tags.environment)
            self._sync_rules(spec.vm_name, (), config.nics, _addresses(spec))
            emit(Event("progress", f"creating {spec.vm_name}", machine=spec.vm_name, percent=0.0))
            m = self._register(spec.vm_name, config, tags)
            self._disk_files(m)
            if config.disk_mb is not None:
                m.disk_path = self._make_disk(m, config.disk_mb)
                emit(Event("progress", "creating disk", machine=spec.vm_name, percent=50.0))
            emit(Event("progress", f"created {spec.vm_name}", machine=spec.vm_name, percent=100.0))
            self._leave("create_machine", m.uuid)
            return self._observe(m)

    def configure(
        self, uuid: str, spec: MachineSpec, keys: Sequence[ConfigKey], tags: Tags, emit: Emit
    ) -> ObservedMachine:
        with self._lock:
            self._enter("configure", uuid, tuple(keys))
            unknown = set(keys) - ALL_KEYS
            if unknown:
                raise ValueError(f"configure: unknown keys {sorted(unknown)}")
            m = self._writable(uuid)
            offline = set(keys) - RUNTIME_KEYS - {"tags"}
            if offline and m.power not in _EDITABLE:
                raise OperationFailed(
                    f"{m.vm_name} is {m.power}: {', '.join(sorted(offline))} can only change when it is off",
                    "stop the machine first",
                )
            config = self._apply(m.config, spec, keys)
            config = self._apply_labs(config, spec, keys, tags.environment)
            if {"nics", "forwards"} & set(keys):
                self._sync_rules(m.vm_name, m.config.nics, config.nics, _addresses(spec))
            if config.disk_mb is not None and config.disk_mb != m.config.disk_mb:
                if m.disk_path is None:
                    m.disk_path = self._make_disk(m, config.disk_mb)
                else:
                    m.disk_path.write_text(json.dumps({"size_mb": config.disk_mb}))
            m.config = config
            self._disk_files(m)
            self._write_tags(m, tags)
            self._save(m)
            self._sync_nat(m)
            self._leave("configure", uuid)
            return self._observe(m)

    # ---- Backend: power ---------------------------------------------------

    def start(self, uuid: str, mode: StartMode, emit: Emit) -> None:
        with self._lock:
            self._enter("start", uuid, mode)
            m = self._get(uuid)
            if m.power.is_on:  # like the real backend: starting a running machine is a no-op
                emit(Event("info", f"{m.vm_name} is already running", machine=m.vm_name))
                self._leave("start", uuid)
                return
            self._writable(uuid)
            if not m.power.is_off:
                raise OperationFailed(f"{m.vm_name} cannot start: it is {m.power}")
            self._check_driver(m)
            emit(Event("progress", f"starting {m.vm_name}", machine=m.vm_name, percent=0.0))
            self._power_on(m, mode)
            emit(Event("progress", f"started {m.vm_name}", machine=m.vm_name, percent=100.0))
            self._leave("start", uuid)

    def stop(self, uuid: str, mode: StopMode, timeout: float, emit: Emit) -> None:
        """Like the real backend: an off machine is a no-op, a saved one loses its saved state."""
        with self._lock:
            self._enter("stop", uuid, mode, timeout)
            m = self._get(uuid)
            if m.power == PowerState.SAVED:
                self._writable(uuid)  # discarding the saved state needs the write lock
                self._powered_off(m)
                m.power = PowerState.POWEROFF
            elif m.power.is_off:
                emit(Event("info", f"{m.vm_name} is already powered off", machine=m.vm_name))
            else:
                if mode == "acpi" and not self.acpi_honoured:
                    emit(Event("warning", f"{m.vm_name} ignored the ACPI power button for {timeout:g} s; "
                               "powering it off", machine=m.vm_name))
                self._powered_off(m)
                m.power = PowerState.POWEROFF
            self._leave("stop", uuid)

    def save_state(self, uuid: str, emit: Emit) -> None:
        with self._lock:
            self._enter("save_state", uuid)
            m = self._get(uuid)
            if m.power not in (PowerState.RUNNING, PowerState.PAUSED):
                raise OperationFailed(f"{m.vm_name} cannot save its state: it is {m.power}")
            emit(Event("progress", f"saving {m.vm_name}", machine=m.vm_name, percent=0.0))
            m.saved_state_file.parent.mkdir(parents=True, exist_ok=True)
            m.saved_state_file.write_text("saved state", encoding="utf-8")
            m.power = PowerState.SAVED
            self._sync_nat(m)
            emit(Event("progress", f"saved {m.vm_name}", machine=m.vm_name, percent=100.0))
            self._leave("save_state", uuid)

    def resume(self, uuid: str, emit: Emit) -> None:
        """Like the real backend: a paused machine unpauses, an off or saved one starts."""
        with self._lock:
            self._enter("resume", uuid)
            m = self._get(uuid)
            if m.power == PowerState.PAUSED:
                m.power = PowerState.RUNNING
            elif m.power in (PowerState.SAVED, PowerState.POWEROFF, PowerState.ABORTED):
                self._writable(uuid)
                self._check_driver(m)
                emit(Event("progress", f"starting {m.vm_name}", machine=m.vm_name, percent=0.0))
                self._power_on(m, "headless")
                emit(Event("progress", f"started {m.vm_name}", machine=m.vm_name, percent=100.0))
            elif m.power != PowerState.RUNNING:
                raise OperationFailed(f"{m.vm_name} is {m.power}: it cannot resume now")
            self._leave("resume", uuid)

    def destroy(self, uuid: str, emit: Emit) -> None:
        with self._lock:
            self._enter("destroy", uuid)
            m = self._writable(uuid)
            if m.power.is_on:
                self._powered_off(m)
            emit(Event("progress", f"deleting {m.vm_name}", machine=m.vm_name, percent=0.0))
            self._release(m.vm_name, m.config.nics)
            del self.machines[m.uuid]
            self._destroy_disks(m, emit)
            for path in (m.settings_file, m.saved_state_file, m.vbox_log, m.disk_path,
                         m.dir / "Logs" / "serial.log", *m.dir.glob(f"Unattended-{m.uuid}-*")):
                if path is not None:
                    path.unlink(missing_ok=True)
            for d in (m.dir / "Logs", m.dir / "Snapshots", m.dir):
                with contextlib.suppress(OSError):  # not empty: someone else's files stay
                    d.rmdir()
            emit(Event("progress", f"deleted {m.vm_name}", machine=m.vm_name, percent=100.0))
            self._leave("destroy", uuid)

    # ---- Backend: snapshots -----------------------------------------------

    def take_snapshot(self, uuid: str, name: str, description: str, emit: Emit) -> SnapshotInfo:
        with self._lock:
            self._enter("take_snapshot", uuid, name)
            m = self._writable(uuid)
            online = m.power in (PowerState.RUNNING, PowerState.PAUSED, PowerState.SAVED)
            taken_at = self.now()
            snap = Snapshot(str(uuidlib.uuid4()), name, description, taken_at, online,
                            m.current_snapshot, m.config)
            emit(Event("progress", f"taking snapshot {name}", machine=m.vm_name, percent=0.0))
            if snap.parent_id is not None:
                m.snapshots[snap.parent_id].children.append(snap.id)
            m.snapshots[snap.id] = snap
            m.current_snapshot = snap.id
            self._save(m)
            emit(Event("progress", f"took snapshot {name}", machine=m.vm_name, percent=100.0))
            self._leave("take_snapshot", uuid)
            return self._snapshot_info(m, snap)

    def list_snapshots(self, uuid: str) -> list[SnapshotInfo]:
        with self._lock:
            self._enter("list_snapshots", uuid)
            m = self._get(uuid)
            roots = [s for s in m.snapshots.values() if s.parent_id is None]
            out: list[SnapshotInfo] = []
            stack = list(reversed(roots))
            while stack:  # tree pre-order, children oldest first
                s = stack.pop()
                if not s.description.startswith(TEMPLATE_MARK):
                    out.append(self._snapshot_info(m, s))
                stack.extend(m.snapshots[c] for c in reversed(s.children))
            return out

    def restore_snapshot(self, uuid: str, snapshot_id: str, emit: Emit) -> None:
        with self._lock:
            self._enter("restore_snapshot", uuid, snapshot_id)
            m = self._writable(uuid)
            snap = self._snapshot(m, snapshot_id)
            if not m.power.is_off:
                raise SnapshotError(f"{m.vm_name} is {m.power}: it must be powered off to restore a snapshot",
                                    "stop the machine first")
            emit(Event("progress", f"restoring snapshot {snap.name}", machine=m.vm_name, percent=0.0))
            m.saved_state_file.unlink(missing_ok=True)
            m.config = snap.config
            if m.disk_path is not None and snap.config.disk_mb is not None:
                m.disk_path.write_text(json.dumps({"size_mb": snap.config.disk_mb}))
            m.power = PowerState.SAVED if snap.online else PowerState.POWEROFF
            if snap.online:
                m.saved_state_file.parent.mkdir(parents=True, exist_ok=True)
                m.saved_state_file.write_text("saved state", encoding="utf-8")
            m.current_snapshot = snap.id
            self._save(m)
            emit(Event("progress", f"restored snapshot {snap.name}", machine=m.vm_name, percent=100.0))
            self._leave("restore_snapshot", uuid)

    def delete_snapshot(self, uuid: str, snapshot_id: str, emit: Emit) -> None:
        with self._lock:
            self._enter("delete_snapshot", uuid, snapshot_id)
            m = self._writable(uuid)
            snap = self._snapshot(m, snapshot_id)
            if len(snap.children) > 1:
                raise SnapshotError(
                    f"snapshot {snap.name!r} has {len(snap.children)} children and cannot be deleted",
                    "delete its children first",
                )
            emit(Event("progress", f"deleting snapshot {snap.name}", machine=m.vm_name, percent=0.0))
            parent = m.snapshots.get(snap.parent_id) if snap.parent_id else None
            for child in snap.children:
                m.snapshots[child].parent_id = snap.parent_id
            if parent is not None:
                i = parent.children.index(snap.id)
                parent.children[i:i + 1] = snap.children
            del m.snapshots[snap.id]
            if m.current_snapshot == snap.id:
                m.current_snapshot = snap.parent_id
            self._save(m)
            emit(Event("progress", f"deleted snapshot {snap.name}", machine=m.vm_name, percent=100.0))
            self._leave("delete_snapshot", uuid)

    # ---- Backend: templates and clones ------------------------------------

    def import_template(self, source: TemplateSource, emit: Emit) -> TemplateInfo:
        with self._lock:
            self._enter("import_template", None, source.image_name)
            if not Path(source.path).is_file():
                raise ImageError(f"image file {source.path} does not exist", "fetch the image again")
            name = self._template_name(source)
            emit(Event("progress", f"importing {source.path}", machine=name, percent=0.0))
            config = Config(os_type=source.os_type or "Linux_64", memory_mb=512,
                            nics=(Nic("nat", adapter_type=DEFAULT_ADAPTER),))
            m = self._register(name, config, None)
            m.template_digest, m.template_image = source.digest, source.image_name
            m.disk_path = m.dir / f"{name}.vdi"
            m.disk_path.write_bytes(Path(source.path).read_bytes())  # a copy: the user's file stays
            snap = Snapshot(str(uuidlib.uuid4()), "hosted-template", f"{TEMPLATE_MARK} {source.image_name}",
                            self.now(), False, None, config)
            m.snapshots[snap.id] = snap
            m.current_snapshot = snap.id
            self._save(m)
            emit(Event("progress", f"imported {source.path}", machine=name, percent=100.0))
            self._leave("import_template", m.uuid)
            return self._template_info(m)

    def list_templates(self) -> list[TemplateInfo]:
        with self._lock:
            self._enter("list_templates", None)
            return [self._template_info(m) for m in self.machines.values() if self._is_template(m)]

    def find_template(self, digest: str) -> TemplateInfo | None:
        with self._lock:
            self._enter("find_template", None, digest)
            # Like VirtualBox: an unreadable machine's digest cannot be read.
            same = [self._template_info(m) for m in self.machines.values() if m.accessible
                    and self._is_template(m) and m.template_digest == digest]
            healthy = [t for t in same if t.healthy]
            if healthy:
                return replace(healthy[0], users=())  # not read for a healthy one, as in the protocol
            return same[0] if same else None

    def clone_from_template(
        self, template_uuid: str, spec: MachineSpec, tags: Tags, linked: bool, emit: Emit
    ) -> ObservedMachine:
        with self._lock:
            self._enter("clone_from_template", template_uuid, spec.vm_name, linked)
            t = self.machines.get(template_uuid)
            if t is None or not self._is_template(t):
                raise ImageError(f"no template machine {template_uuid}", "run `hosted up` again")
            info = self._template_info(t)
            if not info.healthy:
                raise ImageError(f"template {t.vm_name} is broken: {info.problem}", "run `hosted up` again")
            self._check_new_name(spec.vm_name)
            base = t.snapshots[info.snapshot_id].config
            config = self._apply(base, spec, CLONE_KEYS)  # undeclared keys keep the image's values
            config = self._apply_labs(config, spec, CLONE_KEYS, tags.environment)
            self._sync_rules(spec.vm_name, (), config.nics, _addresses(spec))
            emit(Event("progress", f"cloning {t.vm_name}", machine=spec.vm_name, percent=0.0))
            m = self._register(spec.vm_name, config, tags)
            self._disk_files(m)
            m.template_of = template_uuid
            assert t.disk_path is not None
            if linked:
                m.disk_path = m.dir / "Snapshots" / f"{{{uuidlib.uuid4()}}}.vdi"
                m.disk_path.parent.mkdir(parents=True, exist_ok=True)
                m.disk_path.write_text(json.dumps({"parent": str(t.disk_path)}))
                m.parent_disk = t.disk_path
            else:
                m.disk_path = m.dir / f"{m.vm_name}.vdi"
                m.disk_path.write_bytes(t.disk_path.read_bytes())
            self._save(m)
            emit(Event("progress", f"cloned {t.vm_name}", machine=spec.vm_name, percent=100.0))
            self._leave("clone_from_template", m.uuid)
            return self._observe(m)

    def delete_template(self, uuid: str, emit: Emit) -> None:
        with self._lock:
            self._enter("delete_template", uuid)
            m = self._get(uuid)
            if not self._is_template(m):
                raise ImageError(f"{m.vm_name} is not a hosted template")
            users = self._template_info(m).users
            if users:
                raise ImageError(f"template {m.vm_name} is used by {len(users)} machine(s)",
                                 "destroy the machines made from this image first")
            del self.machines[uuid]
            for path in (m.settings_file, m.disk_path):
                if path is not None:
                    path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                m.dir.rmdir()
            emit(Event("progress", f"deleted template {m.vm_name}", machine=m.vm_name, percent=100.0))
            self._leave("delete_template", uuid)

    # ---- Backend: installer ISOs ------------------------------------------

    def prepare_unattended(self, uuid: str, spec: UnattendedSpec, emit: Emit) -> UnattendedInfo:
        """Like VirtualBox: detection first (refusal changes nothing), then an auxiliary
        medium (a VISO wrapping the installer ISO) in the DVD drive and the detected OS type."""
        from installer_iso import detect

        with self._lock:
            self._enter("prepare_unattended", uuid, spec.iso_path)
            m = self._writable(uuid)
            if m.tags is None:
                raise OperationFailed(f"refusing to install an OS on {m.vm_name}: hosted did not create it")
            if m.power not in _EDITABLE:
                raise OperationFailed(f"{m.vm_name} is {m.power}: it must be powered off")
            info = detect(Path(spec.iso_path))
            aux = m.dir / f"Unattended-{m.uuid}-aux-iso.viso"
            aux.write_text(f"--import-iso {spec.iso_path}\n")
            m.config = replace(m.config, dvd=str(aux),
                               os_type=info.os_type if spec.set_os_type else m.config.os_type)
            m.unattended = spec
            self._save(m)
            emit(Event("progress", f"unattended install of {info.os_type} prepared", machine=m.vm_name,
                       percent=100.0))
            self._leave("prepare_unattended", uuid)
            return replace(info, media=(str(aux),))

    def recover(self, emit: Emit) -> list[str]:
        """Nothing to recover: the double's operations are atomic (no crash windows)."""
        with self._lock:
            self._enter("recover", None)
            return []

    def close(self) -> None:
        self.calls.append(Call("close", None))
        self.closed = True

    # ---- internals --------------------------------------------------------

    def _check_new_name(self, vm_name: str) -> None:
        existing = self._find(vm_name)
        if existing is None:
            return
        if existing.tags is None:
            raise NameConflict(
                f"a VirtualBox machine named {vm_name!r} exists and hosted does not own it",
                "rename that machine, or set vm_name in the profile",
            )
        raise OperationFailed(f"machine settings file for {vm_name!r} already exists")

    def _is_template(self, m: Machine) -> bool:
        return bool(m.template_digest)

    def _template_name(self, source: TemplateSource) -> str:
        stem = f"hosted-template-{source.image_name}-{source.digest[:12]}"
        for n in range(1, 100):
            name = stem if n == 1 else f"{stem}-{n}"
            if self._find(name) is None and not (self.root / name).exists():
                return name
        raise ImageError(f"no free name for a template of {source.image_name!r}")

    def _template_info(self, m: Machine) -> TemplateInfo:
        roots = [s for s in m.snapshots.values() if s.parent_id is None]
        base = roots[0] if roots and roots[0].description.startswith(TEMPLATE_MARK) else None
        problem = ""
        if not m.accessible:
            problem = "VirtualBox cannot read its settings"
        elif base is None:
            problem = "it has no base snapshot"
        elif m.disk_path is None or not m.disk_path.is_file():
            problem = f"its disk {m.disk_path} is missing or unreadable"
        users = sorted(o.uuid for o in self.machines.values() if o.uuid != m.uuid and (
            o.template_of == m.uuid
            or (m.disk_path is not None and o.parent_disk == m.disk_path)))
        return TemplateInfo(
            uuid=m.uuid, vm_name=m.vm_name, digest=m.template_digest,
            image_name=m.template_image, healthy=not problem, problem=problem,
            users=tuple(users), snapshot_id=base.id if base is not None else "",
        )

    def _enter(self, method: str, uuid: str | None, *args: Any) -> None:
        if self.closed:
            raise BackendUnavailable("the memory backend was closed")
        self.calls.append(Call(method, uuid, args))
        self._fire(method, uuid, after=False)

    def _leave(self, method: str, uuid: str | None) -> None:
        self._fire(method, uuid, after=True)

    def _fire(self, method: str, uuid: str | None, *, after: bool) -> None:
        queue = self.faults.get(method, [])
        for i, fault in enumerate(queue):
            if fault.after == after and fault.uuid in (None, uuid):
                del queue[i]
                raise fault.error

    def _find(self, ref: str) -> Machine | None:
        m = self.machines.get(ref)
        if m is not None:
            return m
        return next((m for m in self.machines.values() if m.vm_name == ref), None)

    def _get(self, uuid: str) -> Machine:
        m = self.machines.get(uuid)
        if m is None:
            raise MachineNotFound(f"no machine with uuid {uuid}")
        return m

    def _owned(self, uuid: str) -> Machine:
        m = self._get(uuid)
        if m.tags is None:
            raise OperationFailed(f"refusing to record on {m.vm_name}: hosted did not create it")
        return m

    def _writable(self, uuid: str) -> Machine:
        """The machine, if no other session holds its lock (VirtualBox's lockMachine)."""
        m = self._get(uuid)
        if m.locked_by is not None:
            raise MachineLocked(
                f"{m.vm_name} is locked by another session ({m.locked_by})",
                f"close {m.locked_by} or wait for it to finish, then try again",
            )
        if not m.accessible:
            raise OperationFailed(f"{m.vm_name} is inaccessible")
        return m

    def _register(self, vm_name: str, config: Config, tags: Tags | None) -> Machine:
        d = self.root / vm_name
        if (d / f"{vm_name}.vbox").exists():
            raise OperationFailed(f"machine settings file {d / vm_name}.vbox already exists")
        m = Machine(str(uuidlib.uuid4()), vm_name, d, config)
        if tags is not None:
            self._write_tags(m, tags)
        d.mkdir(parents=True, exist_ok=True)
        self.machines[m.uuid] = m
        self._save(m)
        return m

    def _make_disk(self, m: Machine, size_mb: int) -> Path:
        path = m.dir / f"{m.vm_name}.vdi"
        path.write_text(json.dumps({"size_mb": size_mb}))
        return path

    def _save(self, m: Machine) -> None:
        self.saves.append(m.uuid)
        if m.dir.is_dir():
            m.settings_file.write_text(json.dumps({"uuid": m.uuid, "tags": str(m.tags)}), encoding="utf-8")

    def _write_tags(self, m: Machine, tags: Tags) -> None:
        m.tags = tags

    def _check_driver(self, m: Machine) -> None:
        """VirtualBox without its kernel driver cannot attach these NICs (VERR_SUP_DRIVERLESS)."""
        needs = [n for n in m.config.nics if n.kind in DRIVER_NIC_KINDS]
        if self.driverless and needs:
            name = needs[0].network or needs[0].interface or ""
            raise OperationFailed(f"Cannot attach to '{name}' in driverless mode (VERR_SUP_DRIVERLESS)")

    def _power_on(self, m: Machine, mode: str) -> None:
        m.vbox_log.parent.mkdir(parents=True, exist_ok=True)
        with m.vbox_log.open("a", encoding="utf-8") as log:
            log.write(f"VirtualBox (memory double) {mode} start of {m.vm_name}\n")
        m.saved_state_file.unlink(missing_ok=True)
        m.power = PowerState.RUNNING
        self._sync_nat(m)

    def _powered_off(self, m: Machine) -> None:
        m.guest_props = {k: v for k, v in m.guest_props.items() if not v[1]}
        if m.power == PowerState.SAVED:
            m.saved_state_file.unlink(missing_ok=True)
        self.nat.sync(m.uuid, False, [])

    def _sync_nat(self, m: Machine) -> None:
        forwards = [(f.host_ip, f.host, f.guest) for n in m.config.nics for f in n.forwards if f.host]
        self.nat.sync(m.uuid, m.power == PowerState.RUNNING, forwards)

    def _snapshot(self, m: Machine, snapshot_id: str) -> Snapshot:
        snap = m.snapshots.get(snapshot_id)
        if snap is None:
            raise SnapshotError(f"{m.vm_name} has no snapshot {snapshot_id}")
        return snap

    def _snapshot_info(self, m: Machine, s: Snapshot) -> SnapshotInfo:
        return SnapshotInfo(
            id=s.id, name=s.name, description=s.description, taken_at=s.taken_at, online=s.online,
            current=s.id == m.current_snapshot, parent_id=s.parent_id, children=tuple(s.children),
        )

    def _brief(self, m: Machine, nics: bool = True) -> ObservedMachine:
        """As VirtualBox's backend reads another environment's machine: name, uuid, tags, power, NICs
        (``nics=False``: not those either)."""
        self.briefed[m.uuid] += 1
        self.nics_read[m.uuid] += nics
        full = self._read(m)
        if not m.accessible:
            return full
        return ObservedMachine(uuid=full.uuid, vm_name=full.vm_name, tags=full.tags, power=full.power,
                               os_type="", cpus=0, memory_mb=0, firmware="bios",
                               nics=full.nics if nics else (), shared_folders=(),
                               settings_file=full.settings_file, brief=True, nics_read=nics)

    def _observe(self, m: Machine, settings: bool = True) -> ObservedMachine:
        self.observed[m.uuid] += 1
        self.settings_read[m.uuid] += settings
        full = self._read(m)
        return full if settings else replace(full, virtualbox=VirtualBoxSettings(), settings_read=False)

    def _read(self, m: Machine) -> ObservedMachine:
        tags = m.tags
        c = m.config if m.accessible else Config()
        nics = tuple(replace(n, forwards=self._rules_of(m.vm_name, str(n.network)))
                     if n.kind == "natnetwork" else n for n in c.nics)
        return ObservedMachine(
            uuid=m.uuid, vm_name=m.vm_name, tags=tags, power=m.power if m.accessible else PowerState.UNKNOWN,
            os_type=c.os_type, cpus=c.cpus, memory_mb=c.memory_mb, firmware=c.firmware, nics=nics,
            shared_folders=c.shared_folders, disk_mb=c.disk_mb, dvd=c.dvd,
            settings_file=str(m.settings_file),
            session_locked=m.locked_by is not None or m.power.is_on, accessible=m.accessible,
            disks=c.disks, virtualbox=c.vbox,
        )

    # ---- applying a spec to a Config ---------------------------------------

    def _apply(self, config: Config, spec: MachineSpec, keys: Sequence[str]) -> Config:
        """The config with ``keys`` of ``spec`` applied; validates before anything changes."""
        c = config
        if "os_type" in keys and spec.os_type is not None:
            c = replace(c, os_type=spec.os_type)
        if "cpus" in keys and spec.cpus is not None:
            if not 1 <= spec.cpus <= 64:
                raise OperationFailed(f"invalid CPU count {spec.cpus} (1-64)")
            c = replace(c, cpus=spec.cpus)
        if "memory_mb" in keys and spec.memory_mb is not None:
            if spec.memory_mb < 4:
                raise OperationFailed(f"invalid memory size {spec.memory_mb} MB (at least 4)")
            c = replace(c, memory_mb=spec.memory_mb)
        if "firmware" in keys and spec.firmware is not None:
            c = replace(c, firmware=spec.firmware)
        if "disk_mb" in keys and spec.disk_mb is not None:
            if c.disk_mb is not None and spec.disk_mb < c.disk_mb:
                raise OperationFailed(
                    f"cannot shrink the disk from {c.disk_mb} MB to {spec.disk_mb} MB",
                    "VirtualBox can only grow a disk")
            c = replace(c, disk_mb=spec.disk_mb)
        if "shared_folders" in keys and spec.shared_folders is not None:
            c = replace(c, shared_folders=self._folders(spec.shared_folders))
        if "dvd" in keys and spec.dvd is not None:
            if not Path(spec.dvd).is_file():
                raise OperationFailed(f"cannot open the DVD image {spec.dvd}: no such file")
            c = replace(c, dvd=spec.dvd)
        if "nics" in keys and spec.nics is not None:
            c = replace(c, nics=self._nics(c.nics, spec.nics))
        elif "forwards" in keys and spec.nics is not None:
            if len(spec.nics) > len(c.nics):
                raise OperationFailed(f"forwards for adapter {len(spec.nics)}, which is not enabled")
            pairs = zip(c.nics, spec.nics, strict=False)
            wanted = tuple(replace(cur, forwards=want.forwards) for cur, want in pairs)
            merged = self._nics(c.nics, wanted + c.nics[len(wanted):], keep_kind=True)
            c = replace(c, nics=merged)
        return c

    def _folders(self, folders: tuple[SharedFolder, ...]) -> tuple[SharedFolder, ...]:
        names = [f.name for f in folders]
        if len(set(names)) != len(names):
            raise OperationFailed(f"duplicate shared folder names in {names}")
        for f in folders:
            if not Path(f.host).is_absolute():
                raise OperationFailed(f"shared folder path {f.host!r} is not absolute")
        return folders

    def _nics(
        self, current: tuple[Nic, ...], wanted: tuple[Nic, ...], keep_kind: bool = False
    ) -> tuple[Nic, ...]:
        if len(wanted) > MAX_NICS:
            raise OperationFailed(f"{len(wanted)} network adapters: VirtualBox has {MAX_NICS}")
        # Every machine's ports, this one's included: a kept auto port is reused below
        # without consulting ``taken``.
        taken = {f.host for mm in self.machines.values()
                 for n in mm.config.nics for f in n.forwards if f.host is not None}
        taken |= self._network_ports()
        taken |= {f.host for n in wanted for f in n.forwards if f.host is not None}
        out: list[Nic] = []
        for slot, nic in enumerate(wanted):
            names = [f.name for f in nic.forwards]
            if len(set(names)) != len(names):
                raise OperationFailed(f"adapter {slot + 1}: duplicate forward names in {names}")
            old = current[slot].forwards if slot < len(current) else ()
            forwards = []
            for fw in nic.forwards:
                if fw.host is None:
                    port = next((o.host for o in old if fw.matches(o) and o.host is not None), None)
                    if port is None:
                        port = self.ports.allocate(fw.host_ip, taken)
                    taken.add(port)
                    fw = replace(fw, host=port)
                forwards.append(fw)
            if keep_kind:
                out.append(replace(nic, forwards=tuple(forwards)))
                continue
            self._check_link(nic)
            out.append(self._nic_identity(replace(
                nic,
                network=(nic.network or DEFAULT_INTNET) if nic.kind == "internal" else nic.network,
                forwards=tuple(forwards),
                adapter_type=nic.adapter_type or DEFAULT_ADAPTER,
            ), current[slot] if slot < len(current) else None))
        return tuple(out)


def _addresses(spec: MachineSpec) -> dict[int, str]:
    """Each NIC's address (a NAT Network's rules forward to it)."""
    return {slot: n.address for slot, n in enumerate(spec.nics or ()) if n.address}


def _conforms(b: MemoryBackend) -> Backend:
    return b  # mypy checks MemoryBackend against the protocol here


__all__ = ["Call", "Fault", "MemoryBackend"]
