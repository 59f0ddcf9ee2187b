"""`hosted up` through the real entry point with an installer ISO image: the image cache
(fetch, detect, inspect) and apply on the double; output names the password's file only."""

from __future__ import annotations

from pathlib import Path

import cli_support
import pytest
from installer_iso import write_debian_netinst

from hosted import paths
from hosted.cli.main import main
from hosted.images import unattended

PROFILE = """\
version: 1
name: isotest
images:
  debian: {source: debian-12.5.0-amd64-netinst.iso}
machines:
  dev:
    image: debian
    disk: 4G
    memory: 64M
    state: poweroff
    nics: [{nat: {forwards: [{name: ssh, guest: 22}]}}]
"""


@pytest.fixture
def profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cli_support.reset()
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:shared")
    write_debian_netinst(tmp_path / "debian-12.5.0-amd64-netinst.iso")
    path = tmp_path / "hosted.yaml"
    path.write_text(PROFILE)
    monkeypatch.chdir(tmp_path)
    return path


def test_up_installs_once_and_shows_only_where_the_password_is(
    profile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan"]) == 0
    assert "prepare the unattended install from debian" in capsys.readouterr().out
    assert main(["up", "--no-wait"]) == 0
    out = capsys.readouterr()
    password_file = paths.machine_dir("isotest", "dev") / unattended.PASSWORD_FILE
    password = password_file.read_text().strip()
    assert str(password_file) in out.out + out.err
    assert password not in out.out + out.err
    backend = cli_support.shared()
    [machine] = [m for m in backend.list_machines() if m.tags is not None]
    assert machine.os_type == "Debian12_64" and machine.disk_mb == 4096
    assert backend.records(machine.uuid).install == "Debian12_64"
    assert main(["up", "--no-wait"]) == 0
    assert backend.count("prepare_unattended") == 1 and backend.count("create_machine") == 1


def test_a_profile_without_a_disk_is_refused_with_its_line(
    profile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile.write_text(PROFILE.replace("    disk: 4G\n", ""), encoding="utf-8")
    assert main(["up"]) == 2
    err = capsys.readouterr().err
    assert f"{profile}:7:" in err and "machines.dev.image" in err and "disk:" in err
