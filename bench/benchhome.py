"""What every VirtualBox benchmark needs: its own VirtualBox home and VBoxSVC
(set before anything imports vboxapi), and VBoxManage as a process."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

VBOXMANAGE = "/usr/lib/virtualbox/VBoxManage"


def isolate(prefix: str) -> Path:
    """A private VBOX_USER_HOME + VBOX_IPC_SOCKETID (so a VBoxSVC of its own), XDG dirs and machine folder."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["VBOX_USER_HOME"] = str(home / "vbox")
    os.environ["VBOX_IPC_SOCKETID"] = f"{prefix.strip('-')}-{os.getpid()}"
    for xdg in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR"):
        os.environ[xdg] = str(home / xdg.lower())
        Path(os.environ[xdg]).mkdir(parents=True, mode=0o700)
    for var in ("HOSTED_DATA_DIR", "HOSTED_CACHE_DIR", "HOSTED_STATE_DIR"):  # hosted's own override
        os.environ[var] = str(home / var.lower())
        Path(os.environ[var]).mkdir(mode=0o700)
    (home / "vbox").mkdir()
    vboxmanage("setproperty", "machinefolder", str(home / "machines"))
    return home


def vboxmanage(*args: str, timeout: float = 600) -> str:
    proc = subprocess.run([VBOXMANAGE, *args], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise SystemExit(f"VBoxManage {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout
