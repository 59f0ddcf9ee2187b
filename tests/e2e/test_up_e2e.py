"""End to end on real VirtualBox: `hosted up` boots the tiny test guest
(scripts/test-guest), waits through every readiness stage, provisions it,
`hosted ssh` reads back what provisioning wrote, halt, up again (provisioning
not rerun), destroy.  And a broken guest fails at the right stage."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_guest import ISO, KEY, require_guest
from vbox_fixtures import VBOXMANAGE, make_virtualbox_backend

from hosted.cli.main import main

pytestmark = [pytest.mark.vbox, pytest.mark.e2e]


PROFILE = """\
version: 1
name: {env}
machines:
  box:
    memory: 64M
    cpus: 1
    {dvd}
    nics:
      - nat:
          adapter: 82540EM
          forwards:
            - {{name: ssh, guest: 22, host: auto}}
    ssh: {{user: root, private_key: {key}}}
    ready: {{ssh: {ssh_timeout}}}
    provision:
      - name: greet
        shell: |
          echo "hello from $(hostname) as $GREETER" > /root/greeting
        env: {{GREETER: hosted-e2e}}
      - name: upload
        file: {{source: ./payload, destination: /srv/payload}}
"""


@pytest.fixture(scope="module")
def vbox() -> Iterator[object]:
    require_guest()
    backend = make_virtualbox_backend()
    yield backend


def write_profile(tmp: Path, *, dvd: bool = True, ssh_timeout: int = 240) -> Path:
    (tmp / "payload").mkdir()
    (tmp / "payload" / "data.txt").write_text("payload for the guest\n")
    env = f"e2e{uuid.uuid4().hex[:6]}"
    text = PROFILE.format(
        env=env,
        dvd=f"dvd: {ISO}" if dvd else "",
        key=KEY,
        ssh_timeout=ssh_timeout,
    )
    path = tmp / "hosted.yaml"
    path.write_text(text)
    return path


def vm_state(name: str) -> str:
    out = subprocess.run([VBOXMANAGE, "showvminfo", name, "--machinereadable"],
                         capture_output=True, text=True).stdout
    return next((line.split("=", 1)[1].strip('"') for line in out.splitlines()
                 if line.startswith("VMState=")), "gone")


def test_up_ssh_provision_halt_up_destroy(
    vbox: object, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    profile = write_profile(tmp_path)
    env = profile.read_text().split("name: ", 1)[1].split("\n", 1)[0]
    f = ["-f", str(profile)]
    try:
        assert main(["up", *f, "--yes"]) == 0
        out = capfd.readouterr().out
        for stage in ("vm_running: passed", "tcp: passed", "ssh: passed"):
            assert stage in out
        assert "guest_network: skipped" in out  # no Guest Additions in the test guest
        assert "provision greet: done" in out and "provision upload: done" in out
        assert vm_state(f"{env}-box") == "running"

        assert main(["ssh", *f, "box", "--", "cat", "/root/greeting", "/srv/payload/data.txt"]) == 0
        out = capfd.readouterr().out
        assert "hello from test-guest as hosted-e2e" in out
        assert "payload for the guest" in out

        assert main(["halt", *f, "--timeout", "2"]) == 0  # no ACPI in the guest: powered off
        assert vm_state(f"{env}-box") == "poweroff"
        capfd.readouterr()

        assert main(["up", *f]) == 0
        out = capfd.readouterr().out
        assert "ssh: passed" in out
        assert "provision greet: already ran" in out and "provision upload: already ran" in out
        assert main(["logs", *f, "box"]) == 0
        assert "test-guest: starting dropbear" in capfd.readouterr().out
    finally:
        assert main(["destroy", *f, "--yes"]) == 0
    assert vm_state(f"{env}-box") == "gone"


def test_a_guest_without_ssh_fails_at_the_ssh_stage_naming_the_logs(
    vbox: object, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # No boot medium: the VM runs (at the BIOS), NAT accepts the TCP
    # connection, but no SSH server ever answers.
    profile = write_profile(tmp_path, dvd=False, ssh_timeout=8)
    f = ["-f", str(profile)]
    try:
        assert main(["up", *f, "--yes"]) == 1
        out = capfd.readouterr().out
        assert "vm_running: passed" in out and "tcp: passed" in out
        assert "✗ box" in out
        assert "ssh" in out.split("✗ box", 1)[1]
        assert "serial.log" in out and "VBox.log" in out
    finally:
        assert main(["destroy", *f, "--yes"]) == 0
