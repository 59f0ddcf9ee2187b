"""`hosted ssh [MACHINE] [-c CMD | -- CMD...]` through the real entry point: options anywhere,
the remote command passed to OpenSSH as it was given, MACHINE optional with one machine or a
`primary: true` one, and usage errors that say what to do.  A stand-in `ssh` on PATH records
the argv it gets (the double has no guest to log in to)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import cli_support
import pytest

from hosted.cli.main import main, split_remote_command

PROFILE = """\
version: 1
name: sshargv
machines:
  web:
    memory: 64M
    state: running
    nics: [{nat: {forwards: [{name: ssh, guest: 22, host: auto}]}}]
  db:
    memory: 64M
    state: running
    nics: [{nat: {forwards: [{name: ssh, guest: 22, host: auto}]}}]
"""
FAKE_SSH = """#!{python}
import json, os, sys
with open(os.environ["FAKE_SSH_LOG"], "a") as fh:
    fh.write(json.dumps(sys.argv[1:]) + "\\n")
print("remote output")
print("remote error", file=sys.stderr)
sys.exit(7)
"""


@pytest.fixture
def rig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    cli_support.reset()
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:shared")
    monkeypatch.delenv("HOSTED_FILE", raising=False)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "ssh"
    fake.write_text(FAKE_SSH.format(python=sys.executable))
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SSH_LOG", str(tmp_path / "ssh.log"))
    (tmp_path / "hosted.yaml").write_text(PROFILE)
    monkeypatch.chdir(tmp_path)
    assert main(["up", "--no-wait"]) == 0
    capsys.readouterr()
    return tmp_path


def remote(rig: Path) -> list[str]:
    """What the last ssh was asked to run (after its own ``--``), and to which port."""
    argv: list[str] = json.loads((rig / "ssh.log").read_text().splitlines()[-1])
    return argv[argv.index("--") + 1:] if "--" in argv else []


def port(rig: Path) -> int:
    argv: list[str] = json.loads((rig / "ssh.log").read_text().splitlines()[-1])
    return int(argv[argv.index("-p") + 1])


def ports() -> dict[str, int]:
    found: dict[str, int] = {}
    for m in cli_support.shared().list_machines():
        host = m.forwards()[0].host
        assert host is not None
        found[m.label] = host
    return found


@pytest.mark.parametrize(("argv", "expected"), [
    (["ssh", "web", "--", "ls", "--", "-l", "a b"], ["ls", "--", "-l", "a b"]),
    (["ssh", "-f", "hosted.yaml", "web", "--", "cat", "/etc/motd"], ["cat", "/etc/motd"]),
    (["ssh", "web", "-f", "hosted.yaml", "--", "cat", "-f", "x"], ["cat", "-f", "x"]),
    (["-f", "hosted.yaml", "ssh", "web", "--", "echo", "--"], ["echo", "--"]),
    (["ssh", "web", "-c", "ls -l | wc -l"], ["ls -l | wc -l"]),
    (["ssh", "-c", "uptime", "web"], ["uptime"]),
    (["ssh", "web"], []),
    (["ssh", "web", "--"], []),
])
def test_the_remote_command_is_passed_intact(rig: Path, capsys: pytest.CaptureFixture[str],
                                             argv: list[str], expected: list[str]) -> None:
    assert main(argv) == 7, "the remote command's exit status"
    assert remote(rig) == expected
    assert port(rig) == ports()["web"]
    assert "remote output" not in capsys.readouterr().out, "ssh's own stdout, not captured by hosted"


def test_split_remote_command_finds_the_command_past_global_options() -> None:
    assert split_remote_command(["-v", "-f", "x", "ssh", "w", "--", "a", "--"]) == (
        ["-v", "-f", "x", "ssh", "w"], ["a", "--"])
    assert split_remote_command(["status", "--", "web"]) == (["status", "--", "web"], None)
    assert split_remote_command(["-f", "ssh", "status"]) == (["-f", "ssh", "status"], None)


def test_machine_is_optional_with_one_machine_or_a_primary_one(rig: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ssh", "--", "true"]) == 2
    err = capsys.readouterr().err
    assert "ssh: name the machine; environment 'sshargv' has 2 (web, db)" in err
    assert "primary: true" in err
    (rig / "hosted.yaml").write_text(PROFILE.replace("  db:\n    memory: 64M\n",
                                                     "  db:\n    memory: 64M\n    primary: true\n"))
    assert main(["ssh", "--", "true"]) == 7 and port(rig) == ports()["db"]
    assert main(["ssh", "-c", "true"]) == 7 and port(rig) == ports()["db"]
    (rig / "hosted.yaml").write_text(PROFILE.split("  db:")[0])
    assert main(["ssh"]) == 7 and port(rig) == ports()["web"]


@pytest.mark.parametrize(("argv", "message"), [
    (["ssh", "web", "-c", "ls", "--", "ls"], "either with -c or after --, not both"),
    (["ssh", "web", "-c", " "], "-c needs a command"),
    (["ssh", "web", "--json"], "--json needs a command to run"),
    (["ssh", "nope"], "no machine named nope"),
])
def test_usage_errors(rig: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert message in (json.loads(out)["error"]["message"] if "--json" in argv else err)


def test_words_without_dashes_dashes_are_refused_with_a_hint(rig: Path) -> None:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-m", "hosted", "ssh", "web", "ls", "-l"], capture_output=True,
                          text=True, env=env, cwd=rig, timeout=60)
    assert proc.returncode == 2
    assert "unrecognized arguments: ls -l; a command to run goes after -- (hosted ssh web -- ls -l)" \
        in proc.stderr
    assert "[MACHINE] [-c CMD | -- COMMAND [ARG ...]]" in proc.stderr
    assert not (rig / "ssh.log").exists(), "nothing was run"


def test_ssh_json_captures_the_command(rig: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ssh", "web", "--json", "--", "uname", "-a"]) == 7
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert (data["kind"], data["machine"], data["command"], data["exit_status"]) == (
        "ssh", "web", ["uname", "-a"], 7)
    assert (data["stdout"], data["stderr"]) == ("remote output\n", "remote error\n")


def test_logs_takes_the_machine_the_same_way(rig: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (rig / "hosted.yaml").write_text(PROFILE.split("  db:")[0])
    [web] = [m for m in cli_support.shared().list_machines() if m.label == "web"]
    serial = Path(cli_support.shared().log_paths(web.uuid)["serial"])
    serial.parent.mkdir(parents=True, exist_ok=True)
    serial.write_text("boot\nlogin:\n", encoding="utf-8")
    assert main(["logs", "-n", "1"]) == 0
    assert capsys.readouterr().out.endswith("login:\n")
    assert main(["logs", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["lines"] == ["boot", "login:"]
