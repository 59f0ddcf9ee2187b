"""What a profile (typically a bundle's) will do to this host and its guests, as plain lines.

Shown before ``up`` from a bundle, so that whoever runs it sees what it will
share with the guests (host directories, the DVD), copy into them (files and
scripts), run in them (shell steps, cloud-init, the readiness command) and
open on the host (forwards).  Lines are plain text with the profile's secrets
redacted; the CLI escapes control characters when it prints them.

``require_trust`` is the gate ``up`` passes a bundle through: a good
signature by an allowed signer (``hosted up -f X.bundle --trust FILE``), or
the user's confirmation after reading the summary (or ``--yes``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hosted.errors import ConfirmationRequired
from hosted.events import Emit, Event, discard
from hosted.images.bundle import OpenedBundle
from hosted.model import ANY_ADDRESSES, Environment, MachineSpec, ProvisionStep
from hosted.redact import redact, redact_url

PREVIEW = 60  # characters of an inline script shown


def summarize(env: Environment) -> list[str]:
    """One line per thing the environment shares, copies, runs or opens, machine by machine,
    then the profile's warnings."""
    lines = [f"image {image.name}: " + (_source(image.source) if image.source or image.box is None
                                        else f"box {image.box.label}") for image in env.images]
    for machine in env.machines:
        lines += _machine(machine)
    lines += [f"warning: {w}" for w in env.warnings]
    return [redact(line, env.secrets) for line in lines]


def _source(source: str) -> str:
    return redact_url(source) if "://" in source else source


def _machine(m: MachineSpec) -> list[str]:
    who = f"machine {m.name}:"
    lines = []
    for folder in m.shared_folders or ():
        mode = "read-only" if folder.readonly else "READ-WRITE"
        lines.append(f"{who} shares the host directory {folder.host} ({mode})"
                     + (f" at {folder.guest}" if folder.guest else ""))
    if m.dvd:
        lines.append(f"{who} attaches the host file {m.dvd} as its DVD")
    for forward in m.forwards():
        address = "every address" if forward.host_ip in ANY_ADDRESSES else forward.host_ip
        port = "a free port" if forward.host is None else f"port {forward.host}"
        lines.append(f"{who} opens {port} on {address} of this host ({forward.protocol}) to guest port "
                     f"{forward.guest}")
    if m.cloud_init:
        count = len(m.cloud_init.splitlines())
        lines.append(f"{who} gives cloud-init user-data ({count} lines) to the guest on first boot")
    if m.ready.command:
        lines.append(f"{who} runs the readiness command: {_preview(m.ready.command)}")
    lines += [f"{who} {_step(step)}" for step in m.provision]
    return lines


def _step(step: ProvisionStep) -> str:
    as_root = " as root" if step.privileged else ""
    env = f" with {', '.join(name for name, _ in step.env)} set" if step.env else ""
    if step.kind == "file":
        return f"copies the host path {step.source} to {step.destination} in the guest{as_root} ({step.name})"
    if step.script:
        return f"runs the host script {step.script} in the guest{as_root}{env} ({step.name}, run {step.run})"
    return f"runs in the guest{as_root}{env}: {_preview(step.inline or '')} ({step.name}, run {step.run})"


def _preview(script: str) -> str:
    lines = script.strip().splitlines() or [""]
    first = lines[0] if len(lines[0]) <= PREVIEW else lines[0][:PREVIEW] + "..."
    return first + (f" (+{len(lines) - 1} more lines)" if len(lines) > 1 else "")


Confirm = Callable[[Sequence[str]], bool]


class UnconfirmedBundle(ConfirmationRequired):
    """A bundle no allowed signer vouches for, which the user did not agree to run."""


def require_trust(opened: OpenedBundle, env: Environment, *, yes: bool = False,
                  confirm: Confirm | None = None, emit: Emit = discard) -> None:
    """Show what the bundle's environment will do; go on only when someone vouches for it.

    A good signature by an allowed signer (``opened.signer``) vouches, else the
    user does: ``confirm`` asked with the summary, or ``yes``; without either,
    UnconfirmedBundle.  The summary goes to ``emit`` when it is not asked about."""
    lines = summarize(env)
    name = opened.bundle.name
    if opened.signer is None and not yes:
        why = "its signature is by nobody you trust (--trust ALLOWED_SIGNERS)" if opened.signed \
            else "it is not signed"
        if confirm is None:
            _show(emit, Event("warning", f"bundle {name}: {why}; it would:"), lines)
            raise UnconfirmedBundle(f"the bundle {opened.bundle}: {why}, and there is no terminal to ask "
                                    "whether to use it", _ASK_HINT)
        if not confirm([f"use the bundle {name} ({why})? It will:", *lines]):
            raise UnconfirmedBundle(f"the bundle {opened.bundle} was not used", _ASK_HINT)
        return
    if opened.signer is not None:
        _show(emit, Event("info", f"bundle {name}: good signature by {opened.signer}; it will:"), lines)
    else:
        _show(emit, Event("warning", f"bundle {name}: not verified, used because of --yes; it will:"), lines)


def _show(emit: Emit, head: Event, lines: list[str]) -> None:
    emit(head)
    for line in lines:
        emit(Event("info", f"  {line}"))


_ASK_HINT = ("Read what it would do (above); if you trust it, run again with --yes. Better: ask its "
             "maker for a signed bundle (`hosted bundle --sign KEY`) and give their key with "
             "--trust ALLOWED_SIGNERS.")
