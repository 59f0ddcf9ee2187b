"""What a profile (typically a bundle's) will do to this host and its guests, as plain lines.

Shown before ``up`` from a bundle, so that whoever runs it sees what it will
share with the guests (host directories, the DVD), copy into them (files and
scripts), run in them (shell steps, cloud-init, the readiness command) and
open on the host (forwards).  Lines are plain text with the profile's secrets
redacted; the CLI escapes control characters when it prints them.
"""

from __future__ import annotations

from hosted.model import ANY_ADDRESSES, Environment, MachineSpec, ProvisionStep
from hosted.redact import redact, redact_url

PREVIEW = 60  # characters of an inline script shown


def summarize(env: Environment) -> list[str]:
    """One line per thing the environment shares, copies, runs or opens, machine by machine,
    then the profile's warnings."""
    lines = [f"image {image.name}: {_source(image.source)}" for image in env.images]
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
