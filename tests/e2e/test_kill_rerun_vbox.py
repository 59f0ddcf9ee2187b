"""Crash safety on real VirtualBox: a `hosted up` of three machines made from an image
(one boots the test guest, is provisioned and keeps a baseline) is SIGKILLed as each kind
of step starts, in turn; a second `hosted up` converges.  Then the plan is empty, no
machine, disk or template is left that hosted and `images prune` cannot see (VirtualBox's
own lists are compared with what the machines use), and a machine that is not hosted's,
present from the start, is exactly as it was.  And VBoxSVC killed mid-run gives exit 3,
and a rerun recovers.  Only processes this test started are killed, by their PIDs.

The module has a VirtualBox home of its own (VBOX_USER_HOME, VBOX_IPC_SOCKETID, machine
folder), so its own VBoxSVC: the one it kills serves nothing but this module's runs, and
what the rest of the suite leaves in its home cannot be mistaken for what a kill left."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_guest import ISO, KEY, require_guest
from vbox_fixtures import VBOXMANAGE

pytestmark = [pytest.mark.vbox, pytest.mark.e2e]

PROFILE = """\
version: 1
name: {env}
images:
  tiny: {{source: ./tiny.vdi}}
defaults:
  image: tiny
  memory: 64M
  nics:
    - nat:
        adapter: 82540EM
        forwards:
          - {{name: ssh, guest: 22, host: auto}}
  ssh: {{user: root, private_key: {key}}}
machines:
  box:
    dvd: {iso}
    baseline: true
    provision:
      - name: mark
        shell: echo provisioned > /root/mark
  db: {{state: poweroff}}
  cache: {{state: poweroff}}
"""
# The step kinds of that `up`, and the line `hosted -v up` prints as each starts.
KILL_AT = {
    "fetch-image": r"^> fetch tiny",
    "import-template": r"^> import template for tiny",
    "clone": r"^\w+ > clone ",
    "start": r"^box > start",
    "wait-ready": r"^box > wait for SSH",
    "provision": r"^box > provision mark",
    "take-baseline": r"^box > take the 'baseline'",
}


HOME: dict[str, str] = {}  # this module's VirtualBox home, set by the `lab` fixture


def environ(**extra: str) -> dict[str, str]:
    return {**os.environ, **HOME, "NO_COLOR": "1", "COLUMNS": "200", **extra}


def vboxmanage(*args: str) -> str:
    return subprocess.run([VBOXMANAGE, *args], capture_output=True, text=True, timeout=120,
                          env=environ()).stdout


def hosted(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hosted", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=900, env=environ())


def registered() -> dict[str, str]:
    """uuid -> name of every registered machine."""
    return {u: n for n, u in re.findall(r'^"(.*)" \{(.*)\}$', vboxmanage("list", "vms"), re.M)}


def unused_disks() -> list[str]:
    """Disks in VirtualBox's media registry that no machine (or snapshot) uses."""
    blocks = vboxmanage("list", "--long", "hdds").strip().split("\n\n")
    return [re.search(r"^Location:\s+(.*)$", b, re.M).group(1)  # type: ignore[union-attr]
            for b in blocks if b.strip() and "In use by VMs:" not in b]


def stray_folders(home: Path) -> list[str]:
    """Machine folders with no registered machine in them (what a killed clone could leave)."""
    folders = home / "machines"
    infos = [vboxmanage("showvminfo", u, "--machinereadable") for u in registered()]
    used = {Path(m.group(1)).parent for i in infos if (m := re.search(r'^CfgFile="(.*)"$', i, re.M))}
    return sorted(str(d) for d in folders.iterdir() if d.is_dir() and d not in used) \
        if folders.is_dir() else []


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require_guest()
    work = tmp_path_factory.mktemp("kill")
    HOME.update(VBOX_USER_HOME=str(work / "vbox"), VBOX_IPC_SOCKETID=f"hosted-kill-{os.getpid()}")
    (work / "vbox" / "machines").mkdir(parents=True)
    vboxmanage("setproperty", "machinefolder", str(work / "vbox" / "machines"))
    vboxmanage("createmedium", "disk", "--filename", str(work / "tiny.vdi"), "--size", "8", "--format", "VDI")
    vboxmanage("closemedium", "disk", str(work / "tiny.vdi"))  # a plain file: hosted imports it
    foreign = f"users-own-{uuid.uuid4().hex[:6]}"
    vboxmanage("createvm", "--name", foreign, "--register", "--basefolder", str(work / "vbox" / "machines"))
    vboxmanage("modifyvm", foreign, "--memory", "77")
    before = settings_of(foreign)
    (work / "foreign").write_text(foreign)
    yield work
    assert settings_of(foreign) == before, "a foreign machine changed"
    vboxmanage("unregistervm", foreign, "--delete")
    HOME.clear()


def settings_of(vm: str) -> list[str]:
    """What VBoxManage says of a machine, but for the time of its last state change (which
    VBoxSVC keeps to the millisecond only until it reads the settings again)."""
    return [line for line in vboxmanage("showvminfo", vm, "--machinereadable").splitlines()
            if not line.startswith("VMStateChangeTime=")]


def write_profile(work: Path, case: str) -> tuple[Path, str]:
    env = f"k{case.replace('-', '')[:10]}{uuid.uuid4().hex[:4]}"
    profile = work / case / "hosted.yaml"
    profile.parent.mkdir()
    (profile.parent / "tiny.vdi").symlink_to(work / "tiny.vdi")
    profile.write_text(PROFILE.format(env=env, key=KEY, iso=ISO))
    return profile, env


def up_killed_at(profile: Path, pattern: str) -> bool:
    """``hosted -v up``, SIGKILLed when the line matching ``pattern`` shows; True if it was."""
    proc = subprocess.Popen([sys.executable, "-u", "-m", "hosted", "-v", "up", "--yes"], cwd=profile.parent,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=environ(PYTHONUNBUFFERED="1"))
    assert proc.stdout is not None
    killed = False
    for line in proc.stdout:
        if re.search(pattern, line):
            os.kill(proc.pid, signal.SIGKILL)  # the process this test started, by its PID
            killed = True
            break
    proc.stdout.close()
    proc.wait(timeout=600)
    return killed


def check_converged(profile: Path, env: str) -> None:
    cwd = profile.parent
    plan = hosted("plan", "--json", cwd=cwd)
    assert plan.returncode == 0, plan.stderr
    data = json.loads(plan.stdout)
    assert data["actions"] == 0, [s["description"] for m in data["machines"] for s in m["steps"]
                                  if not s["noop"]]
    names = sorted(registered().values())
    machines = sorted(n for n in names if not n.startswith(("hosted-template-", "users-own-")))
    assert machines == sorted([f"{env}-box", f"{env}-db", f"{env}-cache"]), names
    assert [n.startswith("hosted-template-") for n in names].count(True) == 1, f"one template: {names}"
    assert [n.startswith("users-own-") for n in names].count(True) == 1, names
    leftovers = (unused_disks(), stray_folders(Path(HOME["VBOX_USER_HOME"])))
    assert leftovers == ([], []), f"machines {sorted(names)}; unused disks and stray folders {leftovers}"
    ssh = hosted("ssh", "box", "--", "cat", "/root/mark", cwd=cwd)
    assert "provisioned" in ssh.stdout, ssh.stdout + ssh.stderr


def clean(profile: Path) -> None:
    """Destroy the machines, then the template (from outside the profile's directory, whose
    images prune would keep), so that the next case starts from nothing."""
    assert hosted("destroy", "--yes", cwd=profile.parent).returncode == 0
    hosted("images", "prune", "--all", cwd=profile.parent.parent)
    assert unused_disks() == []


def record(case: str, rerun_seconds: float) -> None:
    """For bench/reliability.py: each kill survived and how long the rerun took to converge."""
    log = os.environ.get("HOSTED_RELIABILITY_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            row = {"suite": "kill", "case": case, "rerun_seconds": round(rerun_seconds, 1)}
            fh.write(json.dumps(row) + "\n")


@pytest.mark.parametrize("step", list(KILL_AT))
def test_killed_at_each_step_then_up_converges(lab: Path, step: str) -> None:
    profile, env = write_profile(lab, step)
    try:
        assert up_killed_at(profile, KILL_AT[step]), f"`hosted up` never reached {step}"
        began = time.monotonic()
        rerun = hosted("up", "--yes", cwd=profile.parent)
        took = time.monotonic() - began
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        check_converged(profile, env)
        record(step, took)
    finally:
        clean(profile)


def vboxsvc_pid() -> int:
    """This module's VBoxSVC (started for its own VBOX_USER_HOME): the one to kill."""
    home = HOME["VBOX_USER_HOME"].encode()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if b"VBoxSVC" in cmd and b"VBOX_USER_HOME=" + home + b"\0" in environ + b"\0":
            return int(pid)
    raise AssertionError("this session's VBoxSVC is not running")


def test_vboxsvc_killed_mid_run_is_exit_3_and_a_rerun_recovers(lab: Path) -> None:
    profile, env = write_profile(lab, "vboxsvc")
    try:
        proc = subprocess.Popen([sys.executable, "-u", "-m", "hosted", "-v", "up", "--yes"],
                                cwd=profile.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, env=environ(PYTHONUNBUFFERED="1"))
        assert proc.stdout is not None
        out = []
        for line in proc.stdout:
            out.append(line)
            if re.search(KILL_AT["wait-ready"], line):
                os.kill(vboxsvc_pid(), signal.SIGKILL)
                break
        out += proc.stdout.readlines()
        assert proc.wait(timeout=600) == 3, "".join(out)
        assert "(VBoxSVC) went away" in "".join(out) and "run the command again" in "".join(out)
        time.sleep(2)
        began = time.monotonic()
        rerun = hosted("up", "--yes", cwd=profile.parent)
        took = time.monotonic() - began
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        check_converged(profile, env)
        record("VBoxSVC killed", took)
    finally:
        clean(profile)
