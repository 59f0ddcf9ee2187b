"""The two provisioners: ``shell`` (inline or an uploaded script) and ``file``."""

from __future__ import annotations

import posixpath
import shlex
from pathlib import Path

from hosted.errors import ProvisionError
from hosted.model import ProvisionStep
from hosted.ssh import SshSession
from hosted.ssh.commands import OutputCallback

REMOTE_TMP = "/tmp"


def run_step(session: SshSession, step: ProvisionStep, fingerprint: str,
             on_output: OutputCallback) -> tuple[int, str]:
    """Run one step; returns its exit status and output tail (file: 0, "")."""
    if step.kind == "shell":
        return _shell(session, step, fingerprint, on_output)
    if step.kind == "file":
        return _file(session, step, on_output)
    raise ProvisionError(f"unknown provisioner {step.kind!r}", step=step.name)


def _shell(session: SshSession, step: ProvisionStep, fingerprint: str,
           on_output: OutputCallback) -> tuple[int, str]:
    env = dict(step.env)
    if (step.inline is None) == (step.script is None):
        raise ProvisionError(f"shell step {step.name!r} needs exactly one of inline and script",
                             step=step.name)
    # Arguments become $1, $2, ...: each quoted on its own, so spaces and quotes arrive intact.
    args = " ".join(shlex.quote(a) for a in step.args)
    if step.inline is not None:
        inline = f"set -- {args}\n{step.inline}" if step.args else step.inline
        return session.run(inline, env=env, privileged=step.privileged, on_output=on_output)
    script = Path(step.script or "")
    if not script.is_file():
        raise ProvisionError(f"shell step {step.name!r}: script {script} not found", step=step.name)
    remote = posixpath.join(REMOTE_TMP, f"hosted-{_safe(step.name)}-{fingerprint[:8]}")
    session.upload(script, remote)
    q = shlex.quote(remote)
    # Executed (not "sh FILE") so its #! line counts; removed whatever it returns.
    command = f"chmod 0755 {q} && {q}{' ' + args if args else ''}; status=$?; rm -f {q}; exit $status"
    return session.run(command, env=env, privileged=step.privileged, on_output=on_output)


def _file(session: SshSession, step: ProvisionStep, on_output: OutputCallback) -> tuple[int, str]:
    if not step.source or not step.destination:
        raise ProvisionError(f"file step {step.name!r} needs source and destination", step=step.name)
    source = Path(step.source)
    if not source.exists():
        raise ProvisionError(f"file step {step.name!r}: {source} not found", step=step.name)
    session.upload(source, step.destination, privileged=step.privileged)
    on_output(f"copied {source} to {step.destination}")
    return 0, ""


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name)[:40]
