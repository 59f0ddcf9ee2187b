"""Compare a profile's machine with `VBoxManage showvminfo --machinereadable`:
independent evidence that VirtualBox really has what the profile says (tests only)."""

from __future__ import annotations

from hosted.model import MachineSpec

NIC_KINDS = {"nat": "nat", "internal": "intnet", "hostonly": "hostonly", "bridged": "bridged"}


def disagreements(spec: MachineSpec, info: dict[str, str], os_types: dict[str, str]) -> list[str]:
    """Every declared key of ``spec`` that ``info`` contradicts, as readable lines.

    ``os_types`` maps OS type ids to the descriptions showvminfo prints
    (``VBoxManage list ostypes``)."""
    out: list[str] = []

    def check(label: str, want: object, have: str | None) -> None:
        if str(want) != (have if have is not None else "<missing>"):
            out.append(f"{label}: profile {want!r}, VirtualBox {have!r}")

    check("name", spec.vm_name, info.get("name"))
    if spec.os_type is not None:
        check("os_type", os_types.get(spec.os_type, spec.os_type), info.get("ostype"))
    if spec.memory_mb is not None:
        check("memory", spec.memory_mb, info.get("memory"))
    if spec.cpus is not None:
        check("cpus", spec.cpus, info.get("cpus"))
    if spec.firmware is not None:
        check("firmware", spec.firmware.upper(), info.get("firmware"))
    out += _nics(spec, info)
    out += _shared_folders(spec, info)
    return out


def _nics(spec: MachineSpec, info: dict[str, str]) -> list[str]:
    out: list[str] = []
    if spec.nics is None:
        return out
    for slot, nic in enumerate(spec.nics, start=1):
        have = info.get(f"nic{slot}")
        if have != NIC_KINDS[nic.kind]:
            out.append(f"nic{slot}: profile {nic.kind!r}, VirtualBox {have!r}")
        if nic.kind == "internal" and info.get(f"intnet{slot}") != nic.network:
            out.append(f"intnet{slot}: profile {nic.network!r}, VirtualBox {info.get(f'intnet{slot}')!r}")
        if nic.adapter_type and info.get(f"nictype{slot}") != nic.adapter_type:
            have_type = info.get(f"nictype{slot}")
            out.append(f"nictype{slot}: profile {nic.adapter_type!r}, VirtualBox {have_type!r}")
        rules = {v.split(",")[0]: v.split(",") for k, v in info.items() if k.startswith("Forwarding(")}
        for f in nic.forwards:
            rule = rules.get(f.name)
            if rule is None:
                out.append(f"forward {f.name}: missing")
                continue
            _name, proto, host_ip, host_port, _gip, guest_port = rule
            if (proto, host_ip, int(guest_port)) != (f.protocol, f.host_ip, f.guest) or (
                f.host is not None and int(host_port) != f.host
            ):
                out.append(f"forward {f.name}: profile {f}, VirtualBox {','.join(rule)}")
    if len(spec.nics) < 8 and info.get(f"nic{len(spec.nics) + 1}", "none") != "none":
        out.append(f"nic{len(spec.nics) + 1}: enabled in VirtualBox, not in the profile")
    return out


def _shared_folders(spec: MachineSpec, info: dict[str, str]) -> list[str]:
    if spec.shared_folders is None:
        return []
    names = {v: k.rsplit("Mapping", 1)[1] for k, v in info.items()
             if k.startswith("SharedFolderNameMachineMapping")}
    out = []
    for s in spec.shared_folders:
        idx = names.get(s.name)
        if idx is None:
            out.append(f"shared folder {s.name}: missing")
        elif (path := info.get(f"SharedFolderPathMachineMapping{idx}")) != s.host:
            out.append(f"shared folder {s.name}: host path {path!r}")
    return out


def os_type_descriptions(listing: str) -> dict[str, str]:
    """Parse `VBoxManage list ostypes`: "ID: x" then "Description: y" (7.0), or
    "ID / Description: x -- y" (7.1+)."""
    result: dict[str, str] = {}
    current = ""
    for line in listing.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "ID / Description" and " -- " in value:
            os_id, _, description = value.strip().partition(" -- ")
            result[os_id] = description
        elif key.strip() == "ID":
            current = value.strip()
        elif key.strip() == "Description" and current:
            result[current] = value.strip()
    return result
