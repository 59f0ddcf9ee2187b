"""Human-readable renderings of model values, shared by plan descriptions and
status output (no I/O, no dependency on rich)."""

from __future__ import annotations

from hosted.model import Disk, Forward, Nic, SharedFolder


def mb(value: int | None) -> str:
    if value is None:
        return "-"
    if value >= 1024 and value % 1024 == 0:
        return f"{value // 1024} GB"
    return f"{value} MB"


def size(n: int) -> str:
    """Bytes as people read them (decimal units, as downloads are shown)."""
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"


def forward(f: Forward) -> str:
    host = "auto" if f.host is None else str(f.host)
    suffix = "" if f.protocol == "tcp" else f"/{f.protocol}"
    return f"{f.name} {f.host_ip}:{host}->{f.guest}{suffix}"


def nic(n: Nic) -> str:
    target = n.network or n.interface or n.peer
    text = f"{n.kind}:{target}" if target else n.kind
    if n.kind == "link" and n.link_port is not None and n.peer_port is not None:
        text += f"(udp {n.link_port}->{n.peer_port})"
    if n.adapter_type:
        text += f"[{n.adapter_type}]"
    return text


def address(n: Nic) -> str:
    """A NIC's address and what it is on: "10.20.0.11/24 on internal labnet"."""
    on = f"link to {n.peer}" if n.kind == "link" else f"{n.kind} {n.network or n.interface or ''}".strip()
    return f"{n.ip} on {on}"


def nics(items: tuple[Nic, ...]) -> str:
    return ", ".join(nic(n) for n in items) or "none"


def forwards(items: tuple[Forward, ...]) -> str:
    return ", ".join(forward(f) for f in items) or "none"


def shared_folder(s: SharedFolder) -> str:
    text = f"{s.name}={s.host}"
    if s.guest:
        text += f"->{s.guest}"
    return text + (" (ro)" if s.readonly else "")


def shared_folders(items: tuple[SharedFolder, ...]) -> str:
    return ", ".join(shared_folder(s) for s in items) or "none"


def disk(d: Disk) -> str:
    flags = [f for f, on in (("fixed", d.fixed and not d.shareable), ("ssd", d.nonrotational),
                             ("shareable", d.shareable)) if on]
    port = f" on port {d.port}" if d.port is not None else ""
    return f"{d.name} {mb(d.size_mb)}" + (f" ({', '.join(flags)})" if flags else "") + port


def disks(items: tuple[Disk, ...]) -> str:
    return ", ".join(disk(d) for d in items) or "none"


def setting(value: object) -> str:
    """A ``virtualbox:`` value as people read it."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple):
        if value and isinstance(value[0], tuple):
            return ", ".join(f"{k}={v}" for k, v in value) or "none"
        return ", ".join(str(v) for v in value) or "none"
    return str(value)
