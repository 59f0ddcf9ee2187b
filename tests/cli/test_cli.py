"""The real entry point (hosted.cli.main.main, and `python -m hosted` in a
subprocess) with NO_COLOR and a fixed width: output and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cli_support
import pytest

from hosted.cli.main import main
from hosted.model import PowerState

ROOT = Path(__file__).resolve().parents[2]
PROFILE = """\
version: 1
name: clitest
machines:
  web:
    memory: 64M
    cpus: 1
    state: {state}
    nics:
      - nat:
          forwards:
            - {{name: ssh, guest: 22, host: auto}}
"""


@pytest.fixture
def profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cli_support.reset()
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:shared")
    path = tmp_path / "hosted.yaml"
    path.write_text(PROFILE.format(state="poweroff"))
    monkeypatch.chdir(tmp_path)
    return path


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    for name in ("HOSTED_BACKEND", "WORKERS", "NODES", "WITH_DB", "GUI"):  # the example profiles' knobs
        env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "hosted", *argv], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=60)


def test_help_lists_commands_and_exit_codes() -> None:
    proc = run("--help")
    assert proc.returncode == 0
    for command in ("validate", "plan", "schema", "up", "status", "destroy", "doctor", "halt"):
        assert command in proc.stdout
    assert "2 invalid input" in proc.stdout


def test_version() -> None:
    from hosted import __version__

    proc = run("--version")
    assert (proc.returncode, proc.stdout.strip()) == (0, f"hosted {__version__}")


def test_no_command_is_a_usage_error() -> None:
    assert run().returncode == 2
    proc = run("frobnicate")
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


@pytest.mark.parametrize(("profile", "says"), [
    ("workshop.yaml", "environment 'workshop', 3 machine(s)"),
    # the conversions of docs/from-vagrant.md: count, enabled, include, boxes' successors
    ("k8s-lab.yaml", "environment 'k8s-lab', 3 machine(s): controlplane, node-1, node-2"),
    ("ansible-lab.yaml", "environment 'ansible-lab', 4 machine(s): controller, web-1, web-2, db"),
    ("cluster-shared-disk.yaml", "environment 'cluster', 2 machine(s): node-1, node-2"),
])
def test_validate_example_profiles(profile: str, says: str) -> None:
    proc = run("validate", "-f", f"profiles/{profile}")
    assert proc.returncode == 0, proc.stderr
    assert says in proc.stdout


def test_invalid_profile_prints_file_line_key_and_hint_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: x\nmachines:\n  web:\n    memroy: 512\n")
    proc = run("validate", "-f", str(bad))
    assert proc.returncode == 2
    assert f"{bad}:5:" in proc.stderr
    assert "machines.web.memroy" in proc.stderr
    assert "hint:" in proc.stderr and "memory" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_validate_lists_every_problem_and_the_count(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "hosted.yaml"
    bad.write_text("version: 1\nname: x\nmachines:\n  web:\n    cpus: 0\n    memroy: 512\n"
                   "  db:\n    state: off\n")
    assert main(["validate", "-f", str(bad)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines == [
        f"error: {bad}:5:11: machines.web.cpus: 0 is too small",
        "hint: The minimum is 1.",
        f"error: {bad}:6:5: machines.web.memroy: unknown key 'memroy'",
        lines[3],
        f"error: {bad}:8:12: machines.db.state: False is not allowed here",
        lines[5],
        "3 problems in hosted.yaml",
    ]
    assert lines[3].startswith("hint: Did you mean 'memory'?")
    assert lines[5].startswith("hint: Use one of: 'running' or 'poweroff'")
    # Every command that reads the profile reports the same way, before touching VirtualBox.
    assert main(["plan", "-f", str(bad)]) == 2
    assert capsys.readouterr().err == err


def test_schema_is_json() -> None:
    proc = run("schema")
    assert proc.returncode == 0
    assert "machines" in json.loads(proc.stdout)["properties"]


def test_virtualbox_unavailable_exits_3_with_a_hint(profile: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:unavailable")
    assert main(["plan"]) == 3
    err = capsys.readouterr().err
    assert "error: VirtualBox is not installed" in err and "hint: install VirtualBox" in err


def test_a_bug_is_short_on_screen_and_logged_in_full(
        profile: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:broken")
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("HOSTED_STATE_DIR", str(runtime / "hosted"))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(profile.parent))
    assert main(["plan"]) == 1
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: a bug in a backend" in err
    assert "Traceback" not in err
    # In the user's own state directory, readable by them only; nothing at a /tmp name.
    path = runtime / "hosted" / "debug.log"
    assert str(path) in err
    log = path.read_text()
    assert "Traceback" in log and "a bug in a backend" in log
    assert path.stat().st_mode & 0o777 == 0o600
    assert not list(profile.parent.glob("hosted-debug-*.log"))


def test_plan_up_status_destroy(profile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan"]) == 0
    out = capsys.readouterr().out
    assert "web (clitest-web)" in out and "+ create clitest-web" in out and "1 step(s) to take." in out

    assert main(["plan", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["hosted_json"], data["kind"], data["environment"]) == (1, "plan", "clitest")
    assert [s["kind"] for s in data["machines"][0]["steps"] if not s["noop"]] == ["create"]

    assert main(["up"]) == 0
    assert "✓ web (clitest-web): 1 step(s) done" in capsys.readouterr().out
    assert main(["plan"]) == 0
    assert "Nothing to do" in capsys.readouterr().out

    assert main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    row = status["machines"][0]
    assert (row["machine"], row["power"], row["drift"]) == ("web", "poweroff", [])
    assert row["forwards"][0]["guest"] == 22 and isinstance(row["forwards"][0]["host"], int)

    # Destroying without a terminal and without --yes refuses and changes nothing.
    assert main(["destroy"]) == 1
    assert "--yes" in capsys.readouterr().err
    assert len(cli_support.shared().list_machines()) == 1
    assert main(["destroy", "--yes"]) == 0
    assert cli_support.shared().list_machines() == []


def test_status_shows_drift_made_outside_hosted(profile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["up"]) == 0
    backend = cli_support.shared()
    uuid = backend.list_machines()[0].uuid
    backend.modify(uuid, memory_mb=512)  # someone changed it in the GUI
    capsys.readouterr()
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "memory: 512 MB -> 64 MB" in out


def test_up_refuses_a_restart_without_yes_then_does_it_with_yes(
    profile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile.write_text(PROFILE.format(state="running"), encoding="utf-8")
    assert main(["up", "--no-wait"]) == 0
    profile.write_text(PROFILE.format(state="running").replace("64M", "128M"), encoding="utf-8")
    assert main(["up", "--no-wait"]) == 1
    assert "need confirmation" in capsys.readouterr().err
    machine = cli_support.shared().list_machines()[0]
    assert machine.memory_mb == 64 and machine.power == PowerState.RUNNING
    assert main(["up", "--yes", "--no-wait"]) == 0
    machine = cli_support.shared().list_machines()[0]
    assert machine.memory_mb == 128 and machine.power == PowerState.RUNNING


def test_halt_is_idempotent(profile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile.write_text(PROFILE.format(state="running"), encoding="utf-8")
    assert main(["up", "--no-wait"]) == 0
    assert main(["halt"]) == 0
    assert "web shut down" in capsys.readouterr().out
    assert main(["halt"]) == 0
    assert "web already poweroff" in capsys.readouterr().out


def test_unknown_machine_name(profile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["up", "nope"]) == 2
    assert "no machine named nope" in capsys.readouterr().err


def test_bad_input_leaves_virtualbox_exactly_as_it_was(
    profile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["up"]) == 0
    backend = cli_support.shared()
    before = (backend.list_machines(), len(backend.calls))
    profile.write_text(PROFILE.format(state="poweroff").replace("cpus: 1", "cpus: 0"), encoding="utf-8")
    capsys.readouterr()
    assert main(["up", "--yes"]) == 2
    err = capsys.readouterr().err
    assert f"{profile}:6:" in err and "machines.web.cpus" in err
    assert backend.list_machines() == before[0]
    # The failed `up` made no backend call at all; the one extra is the read just above.
    assert len(backend.calls) == before[1] + 1


def test_up_says_where_to_connect(profile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile.write_text(PROFILE.format(state="running"), encoding="utf-8")
    assert main(["up", "--no-wait"]) == 0
    out = capsys.readouterr().out
    port = cli_support.shared().list_machines()[0].forwards()[0].host
    assert f"web: hosted ssh web  (root@127.0.0.1:{port})" in out


def test_plan_json_lists_every_step_up_takes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """An image, provisioning and `baseline: true`: fetch, template, clone, start, wait,
    provision and baseline are all in the plan, before anything is done."""
    cli_support.reset()
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:shared")
    monkeypatch.chdir(tmp_path)
    header = b"<<< Oracle VM VirtualBox Disk Image >>>\n".ljust(64, b"\0")
    (tmp_path / "tiny.vdi").write_bytes(header + bytes.fromhex("7f10dabe") + b"\0" * 444)
    (tmp_path / "hosted.yaml").write_text("""\
version: 1
name: planjson
images:
  tiny: {source: ./tiny.vdi}
machines:
  web:
    image: tiny
    baseline: true
    nics: [{nat: {forwards: [{name: ssh, guest: 22, host: auto}]}}]
    provision:
      - shell: "echo hello"
      - shell: "date"
        run: always
""")
    assert main(["plan", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [s["kind"] for s in data["images"]] == ["fetch-image", "import-template"]
    steps = data["machines"][0]["steps"]
    assert [s["kind"] for s in steps] == ["clone", "start", "wait-ready", "provision", "provision",
                                          "take-baseline"]
    assert [s["description"] for s in steps if s["kind"] == "provision"] == [
        "provision shell-1 (not run on this machine yet)",
        "provision shell-2 (runs every time (run: always))"]
    assert steps[2]["description"] == "wait for SSH (≤ 300 s) (the machine was started)"
    assert data["actions"] == 8
    assert main(["plan"]) == 0
    out = capsys.readouterr().out
    assert "this host (images and networks)" in out and "+ take the 'baseline' snapshot" in out
    assert cli_support.shared().list_machines() == [], "plan changed something"


def test_verbose_shows_each_step_as_it_starts(profile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["up"]) == 0
    assert "> create" not in capsys.readouterr().out
    assert main(["destroy", "--yes", "-v"]) == 0
    assert "web > destroy clitest-web (asked for)" in capsys.readouterr().out
    assert main(["-v", "up"]) == 0
    assert "web > create clitest-web" in capsys.readouterr().out


def test_a_secret_never_reaches_the_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    cli_support.reset()
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:shared")
    monkeypatch.setenv("HOOK_TOKEN", "s3cr3t-hook-value")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hosted.yaml").write_text("""\
version: 1
name: secretplan
machines:
  web:
    nics: [{nat: {forwards: [{name: ssh, guest: 22, host: auto}]}}]
    provision:
      - name: "hook-${HOOK_TOKEN}"
        shell: "curl -H 'X-Token: ${HOOK_TOKEN}' https://example.test"
""")
    # A name is recorded in the machine's VirtualBox settings: a secret in one is refused.
    assert main(["plan"]) == 2
    out, err = capsys.readouterr()
    assert "provision[0].name" in err and "s3cr3t-hook-value" not in out + err
    profile = tmp_path / "hosted.yaml"
    profile.write_text(profile.read_text(encoding="utf-8").replace("hook-${HOOK_TOKEN}", "hook"),
                       encoding="utf-8")
    for argv in (["plan"], ["plan", "--json"], ["status", "--json"]):
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert "s3cr3t-hook-value" not in out, argv
    assert main(["plan"]) == 0
    assert "provision hook" in capsys.readouterr().out


def test_validate_shows_the_profiles_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "hosted.yaml").write_text("""\
version: 1
name: open
machines:
  web:
    nics: [{nat: {forwards: [{name: web, guest: 80, host: 8080, host_ip: 0.0.0.0}]}}]
""")
    assert main(["validate", "-f", str(tmp_path / "hosted.yaml")]) == 0
    out = capsys.readouterr().out
    assert "warning:" in out and "0.0.0.0" in out
