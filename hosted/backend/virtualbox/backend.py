"""VirtualBoxBackend: hosted.backend.base.Backend over VirtualBox's own API."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Collection, Iterator, Sequence
from typing import Any

from hosted.backend.base import (
    RUNTIME_KEYS,
    ConfigKey,
    DhcpServerInfo,
    DhcpSpec,
    GuestInfo,
    MachineRecords,
    NatNetworkInfo,
    NetworkObject,
    NetworkState,
    StartMode,
    StopMode,
    TemplateInfo,
    TemplateSource,
    UnattendedInfo,
    UnattendedSpec,
)
from hosted.backend.virtualbox import (
    appliance,
    clone,
    create,
    dhcp,
    disks,
    journal,
    natnet,
    netstate,
    overlap,
    power,
    snapshots,
    statewait,
    template_store,
    unattended,
)
from hosted.backend.virtualbox import extradata as xd
from hosted.backend.virtualbox.context import Ctx
from hosted.backend.virtualbox.edits import Allocate, Edit, apply_keys, set_serial_log
from hosted.backend.virtualbox.observe import observe, observe_brief, power_state
from hosted.backend.virtualbox.session import locked
from hosted.backend.virtualbox.storage import delete_media_quietly
from hosted.backend.virtualbox.translate import boundary
from hosted.errors import ImageError, MachineNotFound, OperationFailed
from hosted.events import Emit
from hosted.model import BackendInfo, Disk, MachineSpec, ObservedMachine, PowerState, SnapshotInfo, Tags

# Guest properties the Guest Additions set (VirtualBox's own names).
ADDITIONS_VERSION = "/VirtualBox/GuestAdd/Version"
GUEST_IPV4 = "/VirtualBox/GuestInfo/Net/0/V4/IP"


class VirtualBoxBackend:
    def __init__(self, ctx: Ctx, allocate: Allocate, details: tuple[tuple[str, str], ...] = ()) -> None:
        self._ctx = ctx
        self._allocate = allocate
        self._details = details

    def _machine(self, ref: str) -> Any:
        machine = create.find(self._ctx, ref)
        if machine is None:
            raise MachineNotFound(f"no VirtualBox machine '{ref}'", "list machines to see what exists")
        return machine

    def _owned(self, ref: str, action: str) -> Any:
        machine = self._machine(ref)
        if not machine.accessible or xd.read_tags(machine) is None:
            raise OperationFailed(f"refusing to {action} '{machine.name}': hosted did not create it",
                                  "hosted only changes machines that carry its tags")
        return machine

    def info(self) -> BackendInfo:
        with boundary(self._ctx, "reading VirtualBox's version"):
            vbox = self._ctx.vbox
            return BackendInfo("virtualbox", str(vbox.version), str(vbox.APIVersion),
                               (("revision", str(vbox.revision)), *self._details))

    def list_machines(self, environment: str | None = None, *, others: bool = False,
                      brief: bool = False, nics: bool = True, settings: bool = True) -> list[ObservedMachine]:
        ctx = self._ctx

        def read(machine: Any) -> ObservedMachine | None:
            try:
                # One extradata read decides; reading a machine in full costs dozens.
                if environment is not None and not (
                        machine.accessible and str(machine.getExtraData(xd.ENVIRONMENT)) == environment):
                    return observe_brief(ctx, machine) if others else None
                if brief:
                    return observe_brief(ctx, machine, nics)
                return observe(ctx, machine, with_settings=settings)
            except ctx.xcpt:  # unregistered meanwhile
                return None

        with boundary(ctx, "listing machines"):
            found = overlap.each(ctx, ctx.array(ctx.vbox, "machines"), read,
                                 warmed=lambda m: m is not None and m.accessible and (brief or not m.brief))
            return [m for m in found if m is not None]

    def get_machine(self, ref: str) -> ObservedMachine | None:
        with boundary(self._ctx, f"reading machine '{ref}'"):
            machine = create.find(self._ctx, ref)
            return None if machine is None else observe(self._ctx, machine)

    def create_machine(self, spec: MachineSpec, tags: Tags, emit: Emit) -> ObservedMachine:
        with boundary(self._ctx, f"creating machine '{spec.vm_name}'"), self._rules_undone(spec):
            machine = create.create(self._ctx, spec, tags, emit, self._allocate)
            return observe(self._ctx, machine, nic_slots=max(len(spec.nics or ()), 1))

    @contextlib.contextmanager
    def _rules_undone(self, spec: MachineSpec) -> Iterator[None]:
        """A machine that was not made leaves no port forwards in its NAT Networks (they are
        added outside its settings, so discarding the settings does not take them)."""
        try:
            yield
        except BaseException:
            nets = {n.network for n in spec.nics or () if n.kind == "natnetwork" and n.network}
            with contextlib.suppress(Exception):
                if nets and create.find(self._ctx, spec.vm_name) is None:
                    natnet.drop_machine_rules(self._ctx, spec.vm_name, nets)
            raise

    def configure(
        self, uuid: str, spec: MachineSpec, keys: Sequence[ConfigKey], tags: Tags, emit: Emit
    ) -> ObservedMachine:
        with boundary(self._ctx, f"configuring machine '{spec.vm_name}'"):
            machine = self._owned(uuid, "configure")
            offline = power_state(self._ctx, machine.state).is_off
            needs_off = sorted(set(keys) - RUNTIME_KEYS - {"tags"})
            if needs_off and not offline:
                raise OperationFailed(
                    f"'{machine.name}' is running; changing {', '.join(needs_off)} needs it powered off",
                    "stop the machine first (hosted apply plans this when allowed to restart it)")
            edit = Edit(self._ctx, None, emit, self._allocate, None, offline=offline)
            folder = os.path.dirname(str(machine.settingsFilePath))
            try:
                with locked(self._ctx, machine, write=offline) as session:
                    edit.sm = session.machine
                    apply_keys(edit, spec, keys, tags, creating=False)
            except BaseException:
                delete_media_quietly(self._ctx, edit.created_media, emit)
                raise
            if os.path.dirname(str(machine.settingsFilePath)) != folder:  # moved to its new group's folder
                with locked(self._ctx, machine, write=True) as session:
                    set_serial_log(Edit(self._ctx, session.machine, emit, self._allocate, None))
            return observe(self._ctx, machine)

    def start(self, uuid: str, mode: StartMode, emit: Emit) -> None:
        with boundary(self._ctx, f"starting machine {uuid}"):
            power.start(self._ctx, self._machine(uuid), mode, emit)

    def stop(self, uuid: str, mode: StopMode, timeout: float, emit: Emit) -> None:
        with boundary(self._ctx, f"stopping machine {uuid}"):
            power.stop(self._ctx, self._machine(uuid), mode, timeout, emit)

    def save_state(self, uuid: str, emit: Emit) -> None:
        with boundary(self._ctx, f"saving the state of machine {uuid}"):
            power.save_state(self._ctx, self._machine(uuid), emit)

    def resume(self, uuid: str, emit: Emit) -> None:
        with boundary(self._ctx, f"resuming machine {uuid}"):
            power.resume(self._ctx, self._machine(uuid), emit)

    def destroy(self, uuid: str, emit: Emit) -> None:
        with boundary(self._ctx, f"destroying machine {uuid}"):
            machine = self._owned(uuid, "destroy")
            netstate.release_machine(self._ctx, machine)
            power.destroy(self._ctx, machine, emit)

    def records(self, uuid: str) -> MachineRecords:
        with boundary(self._ctx, f"reading hosted's records of machine {uuid}"):
            machine = self._machine(uuid)
            return xd.read_records(machine, [str(k) for k in machine.getExtraDataKeys() or ()])

    def record_provisioned(self, uuid: str, step: str, fingerprint: str) -> None:
        self._set_extradata(uuid, xd.PROVISIONED + step, fingerprint)

    def record_guest(self, uuid: str, what: str, fingerprint: str) -> None:
        self._set_extradata(uuid, xd.GUEST + what, fingerprint)

    def record_install(self, uuid: str, state: str) -> None:
        self._set_extradata(uuid, xd.UNATTENDED, state)

    def _set_extradata(self, uuid: str, key: str, value: str) -> None:
        # A running machine's extradata can only be written through a session.
        with boundary(self._ctx, f"recording {key} on machine {uuid}"), \
                locked(self._ctx, self._owned(uuid, "record on"), write=False) as session:
            session.machine.setExtraData(key, value)

    def guest_info(self, uuid: str) -> GuestInfo:
        with boundary(self._ctx, f"reading guest properties of machine {uuid}"):
            machine = self._machine(uuid)
            additions = str(machine.getGuestPropertyValue(ADDITIONS_VERSION) or "")
            ipv4 = str(machine.getGuestPropertyValue(GUEST_IPV4) or "") if additions else ""
            return GuestInfo(additions=additions or None, ipv4=ipv4 or None)

    def wait_power(self, uuid: str, until: Collection[PowerState], timeout: float) -> PowerState:
        with boundary(self._ctx, f"waiting for machine {uuid}"):
            return statewait.wait_power(self._ctx, self._machine(uuid), until, timeout)

    def log_paths(self, uuid: str) -> dict[str, str]:
        with boundary(self._ctx, f"reading log paths of machine {uuid}"):
            machine = self._machine(uuid)
            serial = machine.getSerialPort(0)
            folder = os.path.dirname(str(machine.settingsFilePath))
            serial_path = str(serial.path) if serial.enabled and serial.path else ""
            return {"serial": serial_path or os.path.join(folder, "serial.log"),
                    "vbox": os.path.join(str(machine.logFolder), "VBox.log")}

    def take_snapshot(self, uuid: str, name: str, description: str, emit: Emit) -> SnapshotInfo:
        with boundary(self._ctx, f"taking snapshot '{name}'"):
            return snapshots.take(self._ctx, self._owned(uuid, "snapshot"), name, description, emit)

    def list_snapshots(self, uuid: str) -> list[SnapshotInfo]:
        with boundary(self._ctx, f"listing snapshots of machine {uuid}"):
            return snapshots.list_snapshots(self._ctx, self._machine(uuid))

    def restore_snapshot(self, uuid: str, snapshot_id: str, emit: Emit) -> None:
        with boundary(self._ctx, f"restoring snapshot {snapshot_id}"):
            snapshots.restore(self._ctx, self._owned(uuid, "restore a snapshot of"), snapshot_id, emit)

    def delete_snapshot(self, uuid: str, snapshot_id: str, emit: Emit) -> None:
        with boundary(self._ctx, f"deleting snapshot {snapshot_id}"):
            snapshots.delete(self._ctx, self._owned(uuid, "delete a snapshot of"), snapshot_id, emit)

    def import_template(self, source: TemplateSource, emit: Emit) -> TemplateInfo:
        with boundary(self._ctx, f"importing image '{source.image_name}'"):
            machine = appliance.import_template(self._ctx, source, emit)
            return template_store.info(self._ctx, machine)

    def list_templates(self) -> list[TemplateInfo]:
        with boundary(self._ctx, "listing templates"):
            return template_store.list_templates(self._ctx)

    def find_template(self, digest: str) -> TemplateInfo | None:
        with boundary(self._ctx, f"looking for the template of image {digest[:12]}"):
            return template_store.find(self._ctx, digest)

    def clone_from_template(
        self, template_uuid: str, spec: MachineSpec, tags: Tags, linked: bool, emit: Emit
    ) -> ObservedMachine:
        with boundary(self._ctx, f"cloning machine '{spec.vm_name}' from template {template_uuid}"), \
                self._rules_undone(spec):
            machine = clone.clone(self._ctx, template_uuid, spec, tags, linked, emit, self._allocate)
            return observe(self._ctx, machine)

    def delete_template(self, uuid: str, emit: Emit) -> None:
        with boundary(self._ctx, f"deleting template {uuid}"):
            machine = self._machine(uuid)
            if not template_store.is_template(machine):
                raise ImageError(f"'{machine.name}' is not a hosted template", "list templates to see them")
            template_store.delete(self._ctx, machine, emit)

    def prepare_unattended(self, uuid: str, spec: UnattendedSpec, emit: Emit) -> UnattendedInfo:
        with boundary(self._ctx, f"preparing the unattended install of {spec.iso_path}"):
            return unattended.prepare(self._ctx, self._owned(uuid, "install an OS on"), spec, emit)

    def list_networks(self, attachments: bool = True) -> NetworkState:
        with boundary(self._ctx, "listing DHCP servers and NAT Networks"):
            return netstate.read(self._ctx, attachments)

    def ensure_dhcp_server(self, spec: DhcpSpec, emit: Emit) -> DhcpServerInfo:
        with boundary(self._ctx, f"setting up the DHCP server of {spec.network}"):
            _, macs = netstate.scan(self._ctx)
            return dhcp.ensure(self._ctx, spec, macs, emit)

    def ensure_nat_network(self, name: str, cidr: str, emit: Emit) -> NatNetworkInfo:
        with boundary(self._ctx, f"setting up NAT Network {name}"):
            return natnet.ensure(self._ctx, name, cidr, emit)

    def remove_network(self, kind: NetworkObject, name: str, emit: Emit) -> None:
        with boundary(self._ctx, f"removing the {'DHCP server' if kind == 'dhcp' else 'NAT Network'} {name}"):
            (dhcp.remove if kind == "dhcp" else natnet.remove)(self._ctx, name, emit)

    def ensure_shared_disk(self, environment: str, disk: Disk, emit: Emit) -> str:
        with boundary(self._ctx, f"setting up the shareable disk {disk.name}"):
            return disks.ensure_shared(self._ctx, environment, disk, emit)

    def recover(self, emit: Emit) -> list[str]:
        with boundary(self._ctx, "removing what an interrupted run left"):
            return journal.sweep(self._ctx, emit)

    def close(self) -> None:
        """Drop this backend's references; the process-wide manager is released at exit."""
        self._ctx.threads.close()
