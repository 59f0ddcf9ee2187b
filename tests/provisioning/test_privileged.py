"""`privileged: true` through sudo, for a login user that is not root, against a
real sshd and a real sudo (the sandbox installs sudo; the test makes the user)."""

from __future__ import annotations

import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from ssh.sshd import Sshd, client_key_fixture  # noqa: F401

from hosted.events import Recorder
from hosted.model import ProvisionStep
from hosted.provisioning import run_logged, step_fingerprint
from hosted.ssh import connect

pytestmark = pytest.mark.sshd
USER = "hostedtest"


@pytest.fixture(scope="module")
def sudo_user() -> str:
    if shutil.which("sudo") is None or shutil.which("useradd") is None:
        pytest.fail("sudo and useradd are needed (scripts/sandbox setup installs sudo)")
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "-m", "-s", "/bin/sh", USER], check=True)
    # No password ('*'), but not locked ('!'): sshd refuses locked accounts even for keys.
    subprocess.run(["usermod", "-p", "*", USER], check=True)
    sudoers = Path("/etc/sudoers.d") / USER
    sudoers.parent.mkdir(exist_ok=True)
    sudoers.write_text(f"{USER} ALL=(ALL) NOPASSWD: ALL\n")
    sudoers.chmod(0o440)
    return USER


@pytest.fixture
def session(client_key: Path, tmp_path: Path, sudo_user: str) -> Iterator[object]:
    # sshd reads AuthorizedKeysFile as the logging-in user: it must be readable by them,
    # so this server lives in a world-readable directory, not in pytest's private tmp_path.
    root = Path(tempfile.mkdtemp(prefix="hosted-sshd-"))
    root.chmod(0o755)
    server = Sshd(root)
    server.authorize(client_key)
    server.authorized_keys.chmod(0o644)
    server.start()
    try:
        with connect(server.target(client_key, tmp_path / "kh", user=sudo_user), timeout=10) as s:
            yield s
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_privileged_steps_run_as_root_others_as_the_user(session: object, tmp_path: Path) -> None:
    payload = tmp_path / "motd"  # read on this side: the test process is root
    payload.write_text("root-owned file\n")
    shared = Path(tempfile.mkdtemp(prefix="hosted-privileged-"))
    shared.chmod(0o777)  # written by the login user and by root
    out = shared / "ids"
    steps = (
        ProvisionStep(kind="shell", name="as-user", inline=f"id -u >> {out}"),
        ProvisionStep(kind="shell", name="as-root", inline=f"id -u >> {out}", privileged=True),
        ProvisionStep(kind="file", name="to-root", source=str(payload),
                      destination="/root/hosted-privileged-motd", privileged=True),
    )
    log = tmp_path / "provision.log"
    for step in steps:
        run_logged(session, step, step_fingerprint(step), "env/web", Recorder(), log)  # type: ignore[arg-type]
    assert log.read_text().count("=== exit status 0") == 3
    uid = pwd.getpwnam(USER).pw_uid
    assert out.read_text().split() == [str(uid), "0"]
    copied = Path("/root/hosted-privileged-motd")
    assert copied.read_text(encoding="utf-8") == "root-owned file\n" and copied.stat().st_uid == 0
    copied.unlink()
    shutil.rmtree(shared)
