"""`hosted cp` and `hosted ssh` through the real entry point, on the double whose NAT forward
relays to a real sshd standing in for the guest: files and directories both ways, `web:/path`,
modes kept, the machine's pinned host key used."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import cli_support
import pytest
from ssh.sshd import Sshd, client_key_fixture, sshd_fixture  # noqa: F401

from hosted import api
from hosted.cli.main import main

pytestmark = pytest.mark.sshd
_envs = itertools.count(1)  # an environment per test: each test's sshd has a host key of its own


@pytest.fixture
def rig(sshd: Sshd, client_key: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Iterator[Path]:
    cli_support.SHARED = cli_support.SharedBackend(guests={22: ("127.0.0.1", sshd.port)})
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:shared")
    monkeypatch.delenv("HOSTED_FILE", raising=False)
    (tmp_path / "hosted.yaml").write_text(f"""\
version: 1
name: cp{next(_envs)}
machines:
  web:
    memory: 64M
    ssh: {{user: root, private_key: {client_key}}}
    ready: {{tcp: 10, ssh: 30}}
    nics: [{{nat: {{forwards: [{{name: ssh, guest: 22, host: auto}}]}}}}]
""")
    monkeypatch.chdir(tmp_path)
    assert main(["up"]) == 0
    capsys.readouterr()
    yield tmp_path
    cli_support.shared().nat.close()
    cli_support.reset()


def test_cp_both_ways(rig: Path, capsys: pytest.CaptureFixture[str]) -> None:
    guest = rig / "guest"  # the "guest" is this host, through sshd
    (rig / "app" / "conf").mkdir(parents=True)
    (rig / "app" / "run.sh").write_text("#!/bin/sh\necho ran\n")
    (rig / "app" / "run.sh").chmod(0o755)
    (rig / "app" / "conf" / "a.conf").write_text("a=1\n")
    assert main(["cp", "app", f"web:{guest}/srv/app"]) == 0
    assert f"copied app to web:{guest}/srv/app" in capsys.readouterr().out
    assert (guest / "srv" / "app" / "conf" / "a.conf").read_text() == "a=1\n"
    assert (guest / "srv" / "app" / "run.sh").stat().st_mode & 0o777 == 0o755
    assert main(["cp", "app/run.sh", f"web:{guest}/bin/"]) == 0
    assert (guest / "bin" / "run.sh").is_file()
    assert api.run_command(api.load(), "web", f"{guest}/bin/run.sh").output == "ran"

    (rig / "back").mkdir()
    capsys.readouterr()
    assert main(["cp", f"web:{guest}/srv/app", "back/", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["kind"], data["direction"], data["destination"]) == ("cp", "download",
                                                                     str(rig / "back" / "app"))
    assert (rig / "back" / "app" / "conf" / "a.conf").read_text() == "a=1\n"
    assert main(["cp", f"web:{guest}/bin/run.sh", "copy.sh"]) == 0
    assert (rig / "copy.sh").stat().st_mode & 0o777 == 0o755


def test_cp_errors(rig: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cp", "a", "b"]) == 2
    assert "neither 'a' nor 'b' is in a machine" in capsys.readouterr().err
    assert main(["cp", "web:/x", "web:/y"]) == 2
    assert "both SRC and DEST are in machines" in capsys.readouterr().err
    assert main(["cp", "missing", "web:/tmp/"]) == 2
    assert main(["cp", "web:/nonexistent/file", "here"]) == 1
    assert "cannot copy /nonexistent/file: /nonexistent/file: no such file or directory" in \
        capsys.readouterr().err
    assert main(["cp", "web:/etc/hostname", "no/such/dir/"]) == 2
    assert main(["halt", "--force"]) == 0
    capsys.readouterr()
    assert main(["cp", "hosted.yaml", "web:/tmp/"]) == 1
    assert "web is not running" in capsys.readouterr().err


def test_ssh_runs_the_command_with_the_pinned_key(rig: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ssh", "--json", "--", "sh", "-c", "'echo $0 --; exit 3'", "hi"]) == 3
    data = json.loads(capsys.readouterr().out)
    assert data["stdout"] == "hi --\n" and data["exit_status"] == 3
