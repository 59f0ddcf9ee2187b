"""Machines whose image is an installer ISO: the hypervisor's unattended install.

Such a machine is created empty with its disk, then prepared to boot the
installer, which answers its own questions from the machine's ``install:``
(user, password, host name, locale, time zone) and lets the environment's SSH
key log in as that user.  The OS installs itself on first start; readiness
then waits for SSH like on any machine (with a long default timeout).

A record on the machine (``Backend.record_install``) says how far this got:
pending once the machine exists, the detected OS type once the install is prepared.  So a later `up`
never prepares a machine twice, and finishes the preparation of a machine a
crash left pending before starting it.
"""

from __future__ import annotations

import os
import re
import secrets

from hosted import paths
from hosted.backend.base import INSTALL_PENDING, Backend, UnattendedInfo, UnattendedSpec
from hosted.errors import HostedError, ImageError
from hosted.events import Emit, Event
from hosted.model import Environment, InstallSpec, MachineSpec, ObservedMachine, Tags

DOMAIN = "localdomain"  # for a host name without one: VirtualBox needs a fully qualified name
PASSWORD_FILE = "install-password"


def install_machine(
    backend: Backend, env: Environment, spec: MachineSpec, tags: Tags, iso_path: str, emit: Emit,
) -> ObservedMachine:
    """Create the machine and prepare its unattended install; on failure nothing of it is left."""
    if spec.disk_mb is None:
        raise ImageError(f"{spec.name}: image {spec.image!r} is an installer ISO and the machine has no disk",
                         "add `disk:` (e.g. `disk: 20G`) to the machine: the OS is installed on it")
    observed = backend.create_machine(spec, tags, emit)
    try:
        backend.record_install(observed.uuid, INSTALL_PENDING)
        prepare(backend, env, spec, observed.uuid, iso_path, emit)
    except HostedError:
        _discard(backend, spec, observed.uuid, emit)
        raise
    return backend.get_machine(observed.uuid) or observed


def is_pending(backend: Backend, uuid: str) -> bool:
    """Was the machine made for an unattended install that was never prepared?"""
    return backend.records(uuid).install == INSTALL_PENDING


def prepare(
    backend: Backend, env: Environment, spec: MachineSpec, uuid: str, iso_path: str, emit: Emit,
) -> UnattendedInfo:
    info = backend.prepare_unattended(uuid, unattended_spec(env, spec, iso_path, emit), emit)
    backend.record_install(uuid, info.os_type)
    what = " ".join(p for p in (info.os_flavor, info.os_version) if p) or info.os_type
    emit(Event("info", f"{what} ({info.os_type}) installs itself on first start; waiting for SSH "
                       f"up to {spec.ready.ssh:g} s", machine=spec.name))
    return info


def unattended_spec(env: Environment, spec: MachineSpec, iso_path: str, emit: Emit) -> UnattendedSpec:
    from hosted.ssh.keys import client_key, public_key_line

    install = spec.install or InstallSpec()
    return UnattendedSpec(
        iso_path=iso_path, user=install.user, password=password(env, spec, install, emit),
        hostname=fqdn(install.hostname or spec.name), full_name=install.full_name or install.user,
        locale=install.locale, time_zone=install.time_zone, guest_additions=install.guest_additions,
        authorized_key=public_key_line(client_key(env.name, spec.ssh)), set_os_type=spec.os_type is None,
    )


def fqdn(name: str) -> str:
    host = re.sub(r"[^A-Za-z0-9.-]+", "-", name).strip("-.")[:63] or "hosted"
    if len(host.split(".")[0]) < 2:  # VirtualBox refuses one-letter host names
        host = f"host-{host}"
    return host if "." in host else f"{host}.{DOMAIN}"


def password(env: Environment, spec: MachineSpec, install: InstallSpec, emit: Emit) -> str:
    """The profile's password; else one generated once and kept (mode 0600) in the machine's
    data directory.  Neither is ever put in an event: only the file's path is."""
    if install.password is not None:
        return install.password
    file = paths.machine_dir(env.name, spec.name) / PASSWORD_FILE
    try:
        if file.is_file():
            return file.read_text(encoding="utf-8").strip()
        file.parent.mkdir(parents=True, exist_ok=True)
        generated = secrets.token_urlsafe(12)
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(generated + "\n")
    except OSError as exc:
        raise ImageError(f"{spec.name}: cannot keep the generated password in {file}: {exc}",
                         f"check that {file.parent} is writable, or set `install.password`") from None
    emit(Event("info", f"generated a password for user {install.user!r}: it is in {file}", machine=spec.name))
    return generated


def _discard(backend: Backend, spec: MachineSpec, uuid: str, emit: Emit) -> None:
    """Remove the machine this run just created (an empty disk, nothing of the user's)."""
    try:
        backend.destroy(uuid, emit)
    except HostedError as exc:
        emit(Event("warning", f"could not remove the half-made machine: {exc.message}", machine=spec.name))
