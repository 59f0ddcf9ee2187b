"""Run a machine's provisioning steps in order, streaming and logging output."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from hosted import paths
from hosted.backend.base import Backend
from hosted.errors import ProvisionError, SshError
from hosted.events import Emit, Event
from hosted.model import ProvisionStep
from hosted.provision.record import already_done, mark_done, step_fingerprint
from hosted.provision.steps import run_step
from hosted.redact import redact
from hosted.ssh import SshSession
from hosted.ssh.commands import OutputCallback


def provision(session: SshSession, backend: Backend, uuid: str, machine_label: str,
              steps: Sequence[ProvisionStep], emit: Emit, log_path: Path,
              force: bool = False, secrets: Sequence[str] = ()) -> list[str]:
    """Run ``steps`` on the machine; returns the names of the steps that ran.

    ``run: once`` steps whose recorded fingerprint matches are skipped unless
    ``force``.  Output lines go to ``emit`` as ``output`` events and are
    appended to ``log_path``, with every value of ``secrets`` (the profile's,
    ``Environment.secrets``) masked: a script that echoes a token does not
    put it in the log, on the terminal or in the error.  The first failing
    step raises ProvisionError; the steps after it do not run.
    """
    ran: list[str] = []
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _log_error(machine_label, log_path, exc) from exc
    for step in steps:
        fingerprint = step_fingerprint(step)
        if not force and already_done(backend, uuid, step, fingerprint):
            emit(Event("info", f"provision {step.name}: skipped (ran before, unchanged)",
                       machine=machine_label))
            continue
        _run_logged(session, step, fingerprint, machine_label, emit, log_path, tuple(secrets))
        mark_done(backend, uuid, step, fingerprint)
        ran.append(step.name)
    return ran


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

