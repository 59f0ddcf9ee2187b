"""`hosted up` configuration phase of profiles/workshop.yaml, three ways, side by side.

    scripts/sandbox run python bench/vbox_up.py [--runs N] [--profile]

Builds a private VirtualBox home (its own VBOX_USER_HOME and VBOX_IPC_SOCKETID,
so a VBoxSVC of its own, kept alive by this process for the whole run) and
times, alternating in one run, creating the 3 powered-off machines of the
workshop profile:

* hosted (library): ``hosted.up(env, backend=backend, wait=False)`` in
  this process, machine after machine; also with ``parallel=N`` as the CLI's
  ``hosted up`` does;
* VBoxManage: the same configuration as one ``VBoxManage`` process per step,
  written as a careful shell script would (one ``modifyvm`` per machine with
  every flag, one ``setextradata`` per tag, ``storagectl``/``storageattach``,
  ``createmedium``, ``sharedfolder add``);
* raw vboxapi: the same calls in this process with no hosted code (the floor).

The first run of each method is a warm-up, and its result is compared with
``VBoxManage showvminfo --machinereadable`` across the three methods, so the
timed work is the same work.  Every machine is deleted between runs (untimed).
Targets: hosted >= 10x faster than VBoxManage, and within 1.5x of raw vboxapi.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchhome import isolate, vboxmanage

ROOT = Path(__file__).resolve().parent.parent
WORKSHOP = ROOT / "profiles" / "workshop.yaml"
MB = 1024 * 1024
HOSTED = "hosted (library)"
HOSTED_PAR = "hosted (library, parallel {n})"
VBOXM = "VBoxManage, 1 process/step"
RAW = "raw vboxapi (floor)"


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def remove_all(mgr: Any, vbox: Any) -> None:
    """Untimed cleanup: unregister and delete every machine and its media."""
    c = mgr.constants
    for machine in mgr.getArray(vbox, "machines"):
        media = machine.unregister(c.CleanupMode_Full)
        machine.deleteConfig(media).waitForCompletion(-1)


def machine_info(name: str) -> dict[str, str]:
    """showvminfo without what VirtualBox or the port allocator assigns (UUIDs, MACs, auto ports)."""
    info = {}
    for line in vboxmanage("showvminfo", name, "--machinereadable").splitlines():
        key, sep, value = line.partition("=")
        key = key.strip('"')
        if sep and not any(s in key.lower() for s in ("uuid", "macaddress", "statechange")):
            auto = key.startswith("Forwarding")  # ssh forwards are `host: auto`
            info[key] = re.sub(r"^(\"ssh,tcp,[^,]*,)\d+", r"\1AUTO", value) if auto else value
    return info


# --- the same configuration, as the profile's MachineSpecs say, without hosted ---

def tag_pairs(env: Any, spec: Any, media: list[str], driverless: bool) -> list[tuple[str, str]]:
    """The extradata hosted writes: its tags (and the driverless flag, the disks it made)."""
    import json

    from hosted import __version__
    from hosted.model import Tags

    t = Tags(env.name, spec.name, spec.config_hash(), __version__)
    pairs = [("hosted/environment", t.environment), ("hosted/machine", t.machine),
             ("hosted/spec-hash", t.spec_hash), ("hosted/version", t.hosted_version)]
    if driverless:
        pairs.append(("VBoxInternal/HM/FallbackToIEM", "1"))
    if media:
        pairs.append(("hosted/media", json.dumps(sorted(media))))
    return pairs


def disk_path(folder: Path, spec: Any) -> str:
    return str(folder / spec.vm_name / f"{spec.vm_name}.vdi")


def vboxmanage_up(env: Any, folder: Path, ports: dict[tuple[str, str], int], driverless: bool) -> None:
    """One VBoxManage process per step, machine after machine."""
    for spec in env.machines:
        name = spec.vm_name
        media = [disk_path(folder, spec)] if spec.disk_mb else []
        vboxmanage("createvm", "--name", name, "--ostype", spec.os_type, "--register")
        for key, value in tag_pairs(env, spec, media, driverless):
            vboxmanage("setextradata", name, key, value)
        vboxmanage("modifyvm", name, *modify_flags(spec, folder, ports, bool(media)))
        if media:
            vboxmanage("createmedium", "disk", "--filename", media[0], "--size", str(spec.disk_mb),
                       "--format", "VDI")
            vboxmanage("storagectl", name, "--name", "SATA", "--add", "sata")
            vboxmanage("storageattach", name, "--storagectl", "SATA", "--port", "0", "--device", "0",
                       "--type", "hdd", "--medium", media[0])
        vboxmanage("storagectl", name, "--name", "IDE", "--add", "ide")
        vboxmanage("storageattach", name, "--storagectl", "IDE", "--port", "1", "--device", "0",
                   "--type", "dvddrive", "--medium", "emptydrive")
        for f in spec.shared_folders or ():
            vboxmanage("sharedfolder", "add", name, "--name", f.name, "--hostpath", f.host,
                       *(["--readonly"] if f.readonly else []), *(["--automount"] if f.automount else []),
                       "--auto-mount-point", f.guest)


def modify_flags(spec: Any, folder: Path, ports: dict[tuple[str, str], int], disk: bool) -> list[str]:
    flags = ["--memory", str(spec.memory_mb), "--cpus", str(spec.cpus), "--firmware", spec.firmware,
             "--uart1", "0x3F8", "4", "--uartmode1", "file", str(folder / spec.vm_name / "serial.log")]
    for i, nic in enumerate(spec.nics or (), start=1):
        flags += [f"--nic{i}", "intnet" if nic.kind == "internal" else nic.kind]
        if nic.kind == "internal":
            flags += [f"--intnet{i}", nic.network]
        if nic.adapter_type:
            flags += [f"--nictype{i}", nic.adapter_type]
        for f in nic.forwards:
            port = f.host if f.host is not None else ports[(spec.name, f.name)]
            flags += [f"--natpf{i}", f"{f.name},{f.protocol},{f.host_ip},{port},{f.guest_ip},{f.guest}"]
    if disk:  # hosted sets the boot order only for a machine that declares a disk or DVD
        flags += ["--boot1", "disk", "--boot2", "dvd", "--boot3", "none", "--boot4", "none"]
    return flags


def raw_up(mgr: Any, vbox: Any, env: Any, ports: dict[tuple[str, str], int], driverless: bool) -> None:
    """The same calls through vboxapi in this process, with no hosted code."""
    c = mgr.constants
    for spec in env.machines:
        m = vbox.createMachine("", spec.vm_name, c.PlatformArchitecture_x86, [], spec.os_type, "", "", "", "")
        folder = Path(str(m.settingsFilePath)).parent
        media = [disk_path(folder.parent, spec)] if spec.disk_mb else []
        for key, value in tag_pairs(env, spec, media, driverless):
            m.setExtraData(key, value)
        m.saveSettings()
        vbox.registerMachine(m)
        session = mgr.getSessionObject()
        m.lockMachine(session, c.LockType_Write)
        sm = session.machine
        sm.memorySize, sm.CPUCount = spec.memory_mb, spec.cpus
        bios = spec.firmware == "bios"
        sm.firmwareSettings.firmwareType = c.FirmwareType_BIOS if bios else c.FirmwareType_EFI
        raw_nics(mgr, sm, spec, ports)
        raw_storage(mgr, vbox, sm, media, spec.disk_mb)
        for f in spec.shared_folders or ():
            sm.createSharedFolder(f.name, f.host, not f.readonly, f.automount, f.guest)
        port = sm.getSerialPort(0)
        port.path, port.hostMode = str(folder / "serial.log"), c.PortMode_RawFile
        port.IOAddress, port.IRQ, port.enabled = 0x3F8, 4, True
        sm.saveSettings()
        session.unlockMachine()


def raw_nics(mgr: Any, sm: Any, spec: Any, ports: dict[tuple[str, str], int]) -> None:
    c = mgr.constants
    kinds = {"nat": c.NetworkAttachmentType_NAT, "internal": c.NetworkAttachmentType_Internal}
    for slot, nic in enumerate(spec.nics or ()):
        a = sm.getNetworkAdapter(slot)
        a.enabled, a.attachmentType = True, kinds[nic.kind]
        if nic.kind == "internal":
            a.internalNetwork = nic.network
        if nic.adapter_type == "virtio":
            a.adapterType = c.NetworkAdapterType_Virtio
        for f in nic.forwards:
            port = f.host if f.host is not None else ports[(spec.name, f.name)]
            proto = c.NATProtocol_TCP if f.protocol == "tcp" else c.NATProtocol_UDP
            a.NATEngine.addRedirect(f.name, proto, f.host_ip, port, f.guest_ip, f.guest)


def raw_storage(mgr: Any, vbox: Any, sm: Any, media: list[str], size_mb: int | None) -> None:
    c = mgr.constants
    if media and size_mb:
        disk = vbox.createMedium("VDI", media[0], c.AccessMode_ReadWrite, c.DeviceType_HardDisk)
        disk.createBaseStorage(size_mb * MB, [c.MediumVariant_Standard]).waitForCompletion(-1)
        sm.addStorageController("SATA", c.StorageBus_SATA)
        sm.attachDevice("SATA", 0, 0, c.DeviceType_HardDisk, disk)
        order = [c.DeviceType_HardDisk, c.DeviceType_DVD, c.DeviceType_Null, c.DeviceType_Null]
        for position, device in enumerate(order, start=1):
            sm.setBootOrder(position, device)
    sm.addStorageController("IDE", c.StorageBus_IDE)
    sm.attachDeviceWithoutMedium("IDE", 1, 0, c.DeviceType_DVD)


# --- the run ---

def hosted_up(env: Any, backend: Any, parallel: int = 1) -> Any:
    from hosted import api

    result = api.up(env, backend=backend, wait=False, parallel=parallel)
    if not result.ok:
        raise SystemExit(f"hosted up failed: {result.failed[0].error}")
    return result


def auto_ports(backend: Any, env: Any) -> dict[tuple[str, str], int]:
    """The host ports hosted picked for ``host: auto`` forwards; the other methods reuse them."""
    by_name = {m.vm_name: m for m in backend.list_machines()}
    return {(spec.name, f.name): int(f.host) for spec in env.machines
            for f in by_name[spec.vm_name].forwards() if f.host is not None}


def check_same(cases: dict[str, Callable[[], object]], env: Any, clean: Callable[[], None]) -> list[str]:
    """Run each method once (the warm-up); showvminfo of the results must agree."""
    seen: dict[str, dict[str, dict[str, str]]] = {}
    for name, fn in cases.items():
        fn()
        seen[name] = {s.vm_name: machine_info(s.vm_name) for s in env.machines}
        clean()
    first, ref = next(iter(seen.items()))
    problems = []
    for name, infos in seen.items():
        for vm, info in infos.items():
            for key in sorted(set(info) | set(ref[vm])):
                if info.get(key) != ref[vm].get(key):
                    problems.append(f"{vm} {key}: {first}={ref[vm].get(key)} {name}={info.get(key)}")
    return problems


def report(title: str, times: dict[str, list[float]], base: str, floor: str | None) -> None:
    base_med = statistics.median(times[base])
    print(title)
    print(f"{'method':34} {'min s':>7} {'median s':>9} {'max s':>7} {'vs ' + base[:10]:>14}"
          + (f" {'vs floor':>9}" if floor else ""))
    for name, t in times.items():
        med = statistics.median(t)
        row = f"{name:34} {min(t):7.3f} {med:9.3f} {max(t):7.3f} {base_med / med:13.1f}x"
        if floor:
            row += f" {med / statistics.median(times[floor]):8.2f}x"
        print(row)


def verdict(label: str, value: float, target: float, higher_is_better: bool = True) -> bool:
    ok = value >= target if higher_is_better else value <= target
    print(f"target: {label} {'>=' if higher_is_better else '<='} {target:g}x: "
          f"{'ok' if ok else 'MISSED'} ({value:.2f}x)")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--profile", action="store_true", help="cProfile one hosted run, print the top")
    args = parser.parse_args()
    home = isolate("hosted-bench-up-")
    from hosted import load_profile
    from hosted.backend.virtualbox import connect, driverless
    from hosted.events import discard

    backend = connect(discard)
    mgr, vbox = backend._ctx.mgr, backend._ctx.vbox
    try:
        env = load_profile(WORKSHOP)
        cases = make_cases(env, backend, home / "machines", not driverless.has_kernel_driver())
        problems = check_same(cases, env, lambda: remove_all(mgr, vbox))
        for p in problems:
            print("differs:", p)
        if args.profile:
            profile_once(env, backend, mgr, vbox)
        times: dict[str, list[float]] = {k: [] for k in cases}
        for _ in range(args.runs):
            for name, fn in cases.items():
                times[name].append(timed(fn))
                remove_all(mgr, vbox)
        report(f"up (configuration phase) of {WORKSHOP.name}: {len(env.machines)} powered-off machines, "
               f"{args.runs} runs each, alternating", times, VBOXM, RAW)
        med = {k: statistics.median(v) for k, v in times.items()}
        # `hosted up` works on min(4, CPUs) machines at once: that is the run the targets judge.
        cli = HOSTED_PAR.format(n=min(4, os.cpu_count() or 1))
        ok = verdict(f"{cli} vs VBoxManage", med[VBOXM] / med[cli], 10)
        ok &= verdict(f"{cli} vs raw vboxapi", med[cli] / med[RAW], 1.5, higher_is_better=False)
        return 0 if ok and not problems else 1
    finally:
        remove_all(mgr, vbox)
        backend.close()
        shutil.rmtree(home, ignore_errors=True)


def make_cases(env: Any, backend: Any, folder: Path, driverless: bool) -> dict[str, Callable[[], object]]:
    """The methods; the VBoxManage and raw ones reuse the ports hosted picks for `host: auto`."""
    mgr, vbox = backend._ctx.mgr, backend._ctx.vbox
    hosted_up(env, backend)
    ports = auto_ports(backend, env)
    remove_all(mgr, vbox)
    parallel = min(4, os.cpu_count() or 1)
    return {
        HOSTED: lambda: hosted_up(env, backend),
        HOSTED_PAR.format(n=parallel): lambda: hosted_up(env, backend, parallel),
        VBOXM: lambda: vboxmanage_up(env, folder, ports, driverless),
        RAW: lambda: raw_up(mgr, vbox, env, ports, driverless),
    }


def profile_once(env: Any, backend: Any, mgr: Any, vbox: Any) -> None:
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.runcall(hosted_up, env, backend)
    remove_all(mgr, vbox)
    pstats.Stats(prof).sort_stats("cumulative").print_stats(35)


if __name__ == "__main__":
    sys.exit(main())
