"""Real-VirtualBox fixtures shared by test suites (backend_virtualbox, contract).

``make_virtualbox_backend()`` connects to the session's private VBoxSVC
(tests/conftest.py isolates VBOX_USER_HOME and the IPC socket), points the
default machine folder into that private home and returns the backend; it
skips the test when VirtualBox is not available.  ``remove_all_machines``
deletes every machine registered there (the ``virtualbox_backend`` session
fixture calls it at the end).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hosted.errors import BackendUnavailable
from hosted.model import MachineSpec, Tags

VBOXMANAGE = "/usr/lib/virtualbox/VBoxManage"


def make_virtualbox_backend() -> Any:
    from hosted.backend.virtualbox import connect

    try:
        backend = connect()
    except BackendUnavailable as exc:
        if os.environ.get("HOSTED_SANDBOX") == "1":
            raise  # inside the sandbox VirtualBox must be there: a failure, not a skip
        pytest.skip(f"VirtualBox not available: {exc}")
    ctx = backend._ctx
    folder = Path(os.environ["VBOX_USER_HOME"]) / "machines"
    folder.mkdir(parents=True, exist_ok=True)
    # VirtualBox puts machines in ~/VirtualBox VMs whatever VBOX_USER_HOME says.
    ctx.vbox.systemProperties.defaultMachineFolder = str(folder)
    return backend


def remove_all_machines(backend: Any) -> None:
    """Delete every machine of the private VBoxSVC, owned by hosted or not."""
    ctx = backend._ctx
    for machine in ctx.array(ctx.vbox, "machines"):
        with contextlib.suppress(Exception):
            state = int(machine.sessionState)
            if state != int(ctx.const.SessionState_Unlocked):
                session = ctx.mgr.getSessionObject()
                machine.lockMachine(session, ctx.const.LockType_Shared)
                with contextlib.suppress(Exception):
                    session.console.powerDown().waitForCompletion(30000)
                session.unlockMachine()
        with contextlib.suppress(Exception):
            media = machine.unregister(ctx.const.CleanupMode_Full)
            machine.deleteConfig(media).waitForCompletion(60000)


@pytest.fixture(scope="session")
def virtualbox_backend() -> Iterator[Any]:
    backend = make_virtualbox_backend()
    yield backend
    remove_all_machines(backend)


def vboxmanage_info(name: str) -> dict[str, str]:
    """``VBoxManage showvminfo --machinereadable`` as a dict (independent evidence)."""
    out = subprocess.run([VBOXMANAGE, "showvminfo", name, "--machinereadable"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    info: dict[str, str] = {}
    for line in out.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            info[key.strip('"')] = value.strip().strip('"')
    return info


def tags_for(spec: MachineSpec, env: str = "test") -> Tags:
    return Tags(environment=env, machine=spec.name, spec_hash=spec.config_hash(), hosted_version="0.1.0")


def have_vboxmanage() -> bool:
    return shutil.which(VBOXMANAGE) is not None or os.path.exists(VBOXMANAGE)
