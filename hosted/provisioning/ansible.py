"""``ansible:`` runs: ansible-playbook from this host, against hosted's inventory of the environment.

ansible-core is an optional extra (``pip install 'hosted[ansible]'``); its ``ansible-playbook`` is
looked for beside this Python, then on PATH.  The inventory is written to a private temporary
directory and removed afterwards; the output is streamed as events and appended to the
environment's ``ansible.log`` (0600), with the profile's secrets masked.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import deque
from collections.abc import Sequence
from pathlib import Path

from hosted import paths
from hosted.errors import ProvisionError
from hosted.events import Emit, Event
from hosted.model import AnsibleRun, Environment, ObservedMachine
from hosted.provisioning.inventory import inventory, render
from hosted.redact import redact

TAIL_LINES = 40


def ansible_playbook() -> str:
    beside = Path(sys.executable).parent / "ansible-playbook"
    found = str(beside) if beside.is_file() else shutil.which("ansible-playbook")
    if found is None:
        raise ProvisionError("ansible-playbook is not installed",
                             "install ansible-core: pip install 'hosted[ansible]' (or pipx inject hosted "
                             "ansible-core)")
    return found


def command(run: AnsibleRun, inventory_file: Path, machines: Sequence[str]) -> list[str]:
    argv = [ansible_playbook(), "-i", str(inventory_file), "--limit", ",".join(machines)]
    if run.extra_vars:
        argv += ["--extra-vars", json.dumps(dict(run.extra_vars))]
    return [*argv, *run.options, run.playbook]


def run_playbook(env: Environment, run: AnsibleRun, observed: Sequence[ObservedMachine],
                 machines: Sequence[str], emit: Emit) -> None:
    """ansible-playbook ``run`` against ``machines``; ProvisionError (exit status, output tail) on failure."""
    work = Path(tempfile.mkdtemp(prefix="hosted-ansible-"))  # 0700
    try:
        inv = work / "inventory.yaml"
        inv.write_text(render(inventory(env, observed), "yaml"), encoding="utf-8")
        argv = command(run, inv, machines)
        environ = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "PYTHONUNBUFFERED": "1",
                   "ANSIBLE_RETRY_FILES_ENABLED": "0"}
        status, tail = _stream(argv, environ, Path(run.playbook).parent, env, run.name, emit)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if status != 0:
        shown = "\n".join("  | " + line for line in tail[-15:])
        raise ProvisionError(f"ansible {run.name}: ansible-playbook failed with exit status {status}",
                             f"its last output:\n{shown}\nfull output in "
                             f"{paths.environment_dir(env.name) / 'ansible.log'}",
                             step=run.name, exit_status=status, output_tail="\n".join(tail))


def _stream(argv: list[str], environ: dict[str, str], cwd: Path, env: Environment, name: str,
            emit: Emit) -> tuple[int, list[str]]:
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    emit(Event("info", f"ansible {name}: " + " ".join(argv[1:])))
    with paths.open_private(paths.environment_dir(env.name) / "ansible.log") as log:
        log.write(f"=== ansible {name}: {' '.join(argv)} ===\n")
        proc = subprocess.Popen(argv, cwd=cwd, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True, errors="replace")
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = redact(raw.rstrip("\n"), env.secrets)
            log.write(line + "\n")
            tail.append(line)
            emit(Event("output", line, machine=f"ansible {name}"))
        status = proc.wait()
        log.write(f"=== exit status {status} ===\n")
    return status, list(tail)
