"""An Ansible inventory of an environment: each running machine with how to reach it over SSH
(its forwarded port, user and key, the pinned host key), its groups and its addresses.

Hosts are the profile's machine names; ``groups:`` of a machine become Ansible groups.  SSH goes
through the same pins as hosted's own (``StrictHostKeyChecking=yes`` against the machine's pin
file), never ``StrictHostKeyChecking=no``.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from typing import Any

from hosted.model import Environment, ObservedMachine

FORMATS = ("yaml", "ini")


def inventory(env: Environment, machines: Sequence[ObservedMachine]) -> dict[str, Any]:
    """The inventory as Ansible's YAML inventory data: ``{"all": {"hosts": ..., "children": ...}}``.
    Machines that do not run, or have no SSH forward, are left out (there is no way to reach them)."""
    from hosted.ssh import openssh_options, ssh_target

    observed = {m.label: m for m in machines if m.tags is not None and m.tags.environment == env.name}
    hosts: dict[str, dict[str, Any]] = {}
    children: dict[str, dict[str, Any]] = {}
    for spec in env.machines:
        machine = observed.get(spec.name)
        target = ssh_target(env.name, machine, spec) if machine is not None and machine.power.is_on else None
        if target is None:
            continue
        options = " ".join(shlex.quote(f"{k}={v}") for k, v in openssh_options(target)
                           if k not in ("ForwardAgent", "ForwardX11"))
        hostvars: dict[str, Any] = {
            "ansible_host": target.host, "ansible_port": target.port, "ansible_user": target.user,
            "ansible_ssh_private_key_file": str(target.private_key),
            "ansible_ssh_common_args": " ".join(f"-o {o}" for o in shlex.split(options)),
            "hosted_vm_name": machine.vm_name if machine is not None else spec.vm_name,
        }
        addresses = [n.address for n in spec.nics or () if n.address]
        if addresses:
            hostvars["hosted_addresses"] = addresses
            hostvars["hosted_ip"] = addresses[0]
        hosts[spec.name] = hostvars
        for group in spec.groups:
            children.setdefault(group, {"hosts": {}})["hosts"][spec.name] = None
    out: dict[str, Any] = {"hosts": hosts}
    if children:
        out["children"] = children
    return {"all": out}


def render(data: dict[str, Any], fmt: str) -> str:
    """The inventory in Ansible's YAML or INI format."""
    if fmt == "yaml":
        import yaml

        return str(yaml.safe_dump(data, sort_keys=False, default_flow_style=False))
    lines: list[str] = []
    for host, hostvars in data["all"]["hosts"].items():
        lines.append(" ".join([host, *(f"{k}={_ini_value(v)}" for k, v in hostvars.items())]))
    for group, body in data["all"].get("children", {}).items():
        lines += ["", f"[{group}]", *body["hosts"]]
    return "\n".join(lines) + "\n"


def _ini_value(value: Any) -> str:
    """A host variable as the INI inventory reads it back: quoted (lists as JSON)."""
    text = json.dumps(value) if isinstance(value, list) else str(value)
    return shlex.quote(text)
