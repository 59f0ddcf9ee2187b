"""VirtualBox's unattended install (IUnattended) of an installer ISO on a machine hosted made.

VirtualBox detects the OS on the ISO, fills its own answer-file template
(Debian preseed, kickstart, Ubuntu autoinstall, ...) and builds an auxiliary
medium: for Debian and Ubuntu a VISO, the installer ISO remastered on the fly
with its boot menu pointed at the answer file.  ``reconfigureVM`` mounts it in
the machine's DVD drive.  None of the three steps reports an IProgress.
"""

from __future__ import annotations

import base64
import contextlib
import glob
import os
from typing import Any

from hosted.backend.base import UnattendedInfo, UnattendedSpec
from hosted.backend.virtualbox.context import Ctx
from hosted.backend.virtualbox.observe import power_state
from hosted.backend.virtualbox.session import locked
from hosted.backend.virtualbox.translate import message_of
from hosted.errors import ImageError, OperationFailed
from hosted.events import Emit, Event

# The Debian/Ubuntu and Red Hat post-install scripts run the command outside
# the installed system, which is mounted at $MY_TARGET; the command is inserted
# into the script as it is, so everything variable goes in as base64.
_POST_INSTALL = "chroot ${{MY_TARGET}} /bin/sh -c 'echo {script} | base64 -d | /bin/sh'"
_NOT_POSIX = ("Win", "OS2")  # their post-install scripts are cmd.exe: no SSH key set-up there
_SUPPORTED = "Debian, Ubuntu, Fedora, Red Hat / Oracle Linux, FreeBSD, Windows and OS/2 installer ISOs"


def prepare(ctx: Ctx, machine: Any, spec: UnattendedSpec, emit: Emit) -> UnattendedInfo:
    """Detect, configure, build the media and attach them; on a refusal the machine is unchanged."""
    name = str(machine.name)
    if not power_state(ctx, machine.state).is_off:
        raise OperationFailed(f"'{name}' must be powered off to prepare an unattended install",
                              "stop the machine, then run the command again")
    unattended = ctx.vbox.createUnattendedInstaller()
    emit(Event("progress", "detecting the OS on the installer ISO", machine=name, percent=0.0))
    info = detect(ctx, unattended, spec.iso_path)
    additions = additions_iso(ctx, spec) if spec.guest_additions else ""
    unattended.machine = machine
    configure(ctx, unattended, spec, additions)
    if spec.authorized_key and not info.os_type.startswith(_NOT_POSIX):
        unattended.postInstallCommand = post_install_command(spec.user, spec.authorized_key)
    try:
        for percent, step in ((25.0, "prepare"), (50.0, "constructMedia"), (75.0, "reconfigureVM")):
            emit(Event("progress", f"unattended install: {step}", machine=name, percent=percent))
            getattr(unattended, step)()
    except BaseException:
        remove_aux_files(str(unattended.auxiliaryBasePath or ""))
        raise
    if spec.set_os_type:
        with locked(ctx, machine, write=True) as session:
            session.machine.OSTypeId = info.os_type
    emit(Event("progress", f"unattended install of {info.os_type} prepared", machine=name, percent=100.0))
    return UnattendedInfo(info.os_type, info.os_version, info.os_flavor, dvd_images(ctx, machine))


def detect(ctx: Ctx, unattended: Any, iso_path: str) -> UnattendedInfo:
    """What VirtualBox sees on the ISO; ImageError when it cannot install it unattended."""
    if not os.path.isfile(iso_path):
        raise ImageError(f"installer ISO {iso_path} does not exist", "fetch the image again")
    unattended.isoPath = iso_path
    failure = ""
    try:
        unattended.detectIsoOS()
    except ctx.xcpt as exc:
        # Linux and Windows detection end in E_NOTIMPL even when they found the OS
        # (UnattendedImpl.cpp: only OS/2 reports S_OK); the detected* attributes tell.
        failure = message_of(ctx, exc)
    os_type = str(unattended.detectedOSTypeId or "")
    version = str(unattended.detectedOSVersion or "").strip()
    flavor = str(unattended.detectedOSFlavor or "").strip()
    if not os_type:
        raise ImageError(
            f"VirtualBox does not recognise the OS on {iso_path}: it cannot install it unattended"
            + (f" ({failure})" if failure else ""),
            f"VirtualBox's unattended install knows {_SUPPORTED}; use such an ISO as it is published, "
            "or a Vagrant box, OVA or disk image (or attach the ISO with `dvd:` and install by hand)")
    if not unattended.isUnattendedInstallSupported:
        raise ImageError(
            f"VirtualBox detected {' '.join(p for p in (flavor, version) if p) or os_type} ({os_type}) "
            f"on {iso_path} but cannot install it unattended",
            f"VirtualBox's unattended install knows {_SUPPORTED}; install this one by hand with `dvd:`")
    return UnattendedInfo(os_type, version, flavor)


def additions_iso(ctx: Ctx, spec: UnattendedSpec) -> str:
    path = str(ctx.vbox.systemProperties.defaultAdditionsISO or "")
    if not path or not os.path.isfile(path):
        raise ImageError(
            "install.guest_additions is set but this VirtualBox has no Guest Additions ISO"
            + (f" ({path} is missing)" if path else ""),
            "install it (Debian/Ubuntu: the virtualbox-guest-additions-iso package; VirtualBox from "
            "virtualbox.org ships it), or set `guest_additions: false` under the machine's `install:`")
    return path


def configure(ctx: Ctx, unattended: Any, spec: UnattendedSpec, additions: str) -> None:
    unattended.user = spec.user
    ctx.api.set_unattended_password(unattended, spec.password)
    unattended.fullUserName = spec.full_name or spec.user
    unattended.hostname = spec.hostname
    unattended.locale = spec.locale
    if "_" in spec.locale:
        unattended.country = spec.locale.split("_", 1)[1][:2].upper()
    unattended.timeZone = spec.time_zone
    unattended.installGuestAdditions = spec.guest_additions
    if additions:
        unattended.additionsIsoPath = additions
    # "minimal": no desktop, and the Debian/Ubuntu templates add openssh-server.
    unattended.packageSelectionAdjustments = "minimal"


def post_install_command(user: str, key: str) -> str:
    """Run in the installed system: ``key`` may log in as ``user``, who may sudo without a password."""
    script = "\n".join([
        "set -e",
        f"u={_quote(user)}",
        'h=$(getent passwd "$u" | cut -d: -f6)',
        'mkdir -p "$h/.ssh"',
        f"echo {_quote(key.strip())} >> \"$h/.ssh/authorized_keys\"",
        'chmod 700 "$h/.ssh" && chmod 600 "$h/.ssh/authorized_keys" && chown -R "$u:" "$h/.ssh"',
        "mkdir -p /etc/sudoers.d",
        'echo "$u ALL=(ALL) NOPASSWD:ALL" > "/etc/sudoers.d/90-hosted-$u"',
        'chmod 440 "/etc/sudoers.d/90-hosted-$u"',
    ]) + "\n"
    return _POST_INSTALL.format(script=base64.b64encode(script.encode()).decode())


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def dvd_images(ctx: Ctx, machine: Any) -> tuple[str, ...]:
    found = []
    for att in ctx.array(machine, "mediumAttachments"):
        if att.type == ctx.const.DeviceType_DVD and att.medium is not None:
            found.append(str(att.medium.location))
    return tuple(found)


def aux_prefix(machine: Any) -> str:
    """Where VirtualBox puts a machine's unattended files: ``<folder>/Unattended-<uuid>-``."""
    return os.path.join(os.path.dirname(str(machine.settingsFilePath)), f"Unattended-{machine.id}-")


def aux_media(ctx: Ctx, machine: Any) -> list[Any]:
    """The machine's attached auxiliary media (the VISO), to close when the machine goes."""
    prefix = aux_prefix(machine)
    return [att.medium for att in ctx.array(machine, "mediumAttachments")
            if att.type == ctx.const.DeviceType_DVD and att.medium is not None
            and str(att.medium.location).startswith(prefix)]


def forget_aux(media: list[Any], prefix: str) -> None:
    """Close the auxiliary media (else they stay in VirtualBox's media registry, inaccessible)
    and delete the answer files; after the machine was unregistered."""
    for medium in media:
        with contextlib.suppress(Exception):
            medium.close()
    remove_aux_files(prefix)


def remove_aux_files(prefix: str) -> None:
    if not prefix:
        return
    for path in glob.glob(glob.escape(prefix) + "*"):
        with contextlib.suppress(OSError):
            os.remove(path)
