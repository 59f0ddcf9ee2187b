"""Run one provisioning step over an SSH session, streaming and logging its output."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TextIO

from hosted import paths
from hosted.errors import ProvisionError, SshError
from hosted.events import Emit, Event
from hosted.model import ProvisionStep
from hosted.provisioning.provisioners import run_step
from hosted.redact import redact
from hosted.ssh import SshSession
from hosted.ssh.commands import OutputCallback


def run_logged(session: SshSession, step: ProvisionStep, fingerprint: str, label: str,
               emit: Emit, log_path: Path, secrets: tuple[str, ...] = ()) -> None:
    """Run one provisioning step, streaming its output as ``output`` events and appending it
    to ``log_path`` (0600), with every value of ``secrets`` (``Environment.secrets``) masked:
    a script that echoes a token does not put it in the log, on the terminal or in the
    error.  ProvisionError (exit status, output tail) when it fails."""
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _log_error(label, log_path, exc) from exc
    _run_logged(session, step, fingerprint, label, emit, log_path, secrets)


def _run_logged(session: SshSession, step: ProvisionStep, fingerprint: str, label: str,
                emit: Emit, log_path: Path, secrets: tuple[str, ...]) -> None:
    emit(Event("info", f"provision {step.name}: running ({step.kind})", machine=label))
    began = time.monotonic()
    with _open_log(label, log_path) as log:
        log.write(f"=== {time.strftime('%Y-%m-%d %H:%M:%S')} {label} step {step.name} "
                  f"({step.kind}, run {step.run}) ===\n")

        def on_output(line: str) -> None:
            line = redact(line, secrets)
            log.write(line + "\n")
            log.flush()
            emit(Event("output", line, machine=label))

        status, tail = _attempt(session, step, fingerprint, label, on_output, log)
        tail = redact(tail, secrets)
        seconds = time.monotonic() - began
        log.write(f"=== exit status {status} after {seconds:.1f} s ===\n")
    if status != 0:
        raise ProvisionError(
            f"{label}: provisioning step {step.name!r} failed with exit status {status}",
            hint=_tail_hint(tail, log_path), step=step.name, exit_status=status, output_tail=tail)
    emit(Event("info", f"provision {step.name}: done", machine=label, seconds=seconds))


def _attempt(session: SshSession, step: ProvisionStep, fingerprint: str, label: str,
             on_output: OutputCallback, log: TextIO) -> tuple[int, str]:
    try:
        return run_step(session, step, fingerprint, on_output)
    except SshError as exc:
        log.write(f"=== failed: {exc.message} ===\n")
        raise ProvisionError(f"{label}: provisioning step {step.name!r}: {exc.message}", exc.hint,
                             step=step.name) from exc
    except ProvisionError as exc:
        log.write(f"=== failed: {exc.message} ===\n")
        raise ProvisionError(f"{label}: {exc.message}", exc.hint, step=step.name) from exc


def _open_log(label: str, log_path: Path) -> TextIO:
    """Appended to, 0600 (the output may show secrets), never through a planted symlink."""
    try:
        return paths.open_private(log_path)
    except paths.UnsafePath as exc:
        raise ProvisionError(f"{label}: cannot write the provisioning log {log_path}: {exc.message}",
                             exc.hint) from exc


def _log_error(label: str, log_path: Path, exc: OSError) -> ProvisionError:
    return ProvisionError(f"{label}: cannot write the provisioning log {log_path}: {exc.strerror or exc}",
                          f"check that {log_path.parent} is a directory you can write to")


def _tail_hint(tail: str, log_path: Path) -> str:
    shown = "\n".join("  | " + line for line in tail.splitlines()[-15:])
    return (f"its last output:\n{shown}\n" if shown else "it printed nothing; ") + \
        f"full output in {log_path}"

