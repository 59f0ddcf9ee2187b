"""The settings of an unattended install from an installer ISO (VirtualBox's IUnattended).

A machine whose image is an installer ISO is created empty with its disk (the
plan's Create step), then prepared to boot the installer (its InstallFromIso
step), which answers its own questions from the machine's ``install:`` (user,
password, host name, locale, time zone) and lets the environment's SSH key log
in as that user.  The OS installs itself on first start; readiness then waits
for SSH like on any machine (with a long default timeout).

A record on the machine (``Backend.record_install``) says how far this got:
pending once the machine exists, the detected OS type once the install is
prepared.  So a later `up` never prepares a machine twice, and finishes the
preparation of a machine a crash left pending before starting it.
"""

from __future__ import annotations

import os
import re
import secrets

from hosted import paths
from hosted.backend.base import Backend, UnattendedInfo, UnattendedSpec
from hosted.errors import ImageError
from hosted.events import Emit, Event
from hosted.model import Environment, InstallSpec, MachineSpec

DOMAIN = "localdomain"  # for a host name without one: VirtualBox needs a fully qualified name
PASSWORD_FILE = "install-password"


def prepare(
    backend: Backend, env: Environment, spec: MachineSpec, uuid: str, iso_path: str, emit: Emit,
) -> UnattendedInfo:
    """Make the machine boot the installer, answering it from ``spec.install``; record the OS type."""
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
