"""One set of conventions, through the real entry point on the in-memory double (NO_COLOR, fixed
width): where the profile comes from, -f/-v/-q/--debug/--json before or after the command, one
JSON envelope on every command (failures too), -y wherever something is deleted or restarted,
and the README's exit codes, checked before VirtualBox is asked where they can be."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import cli_support
import pytest

from hosted import __version__
from hosted.cli.main import COMMANDS, build_parser, main

ROOT = Path(__file__).resolve().parents[2]
PROFILE = """\
version: 1
name: conv
machines:
  web:
    memory: 64M
    state: running
    primary: true
    shared_folders: [{host: ./src, guest: /srv/src}]
    nics: [{nat: {forwards: [{name: ssh, guest: 22, host: auto}]}}]
  db:
    memory: 64M
    state: poweroff
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A profile at the top of a project, with a src/ folder it shares; cwd is the project."""
    cli_support.reset()
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:shared")
    monkeypatch.delenv("HOSTED_FILE", raising=False)
    (tmp_path / "src" / "deep").mkdir(parents=True)
    (tmp_path / "hosted.yaml").write_text(PROFILE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def call(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def envelope(out: str, kind: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(out)
    assert (data["hosted_json"], data["kind"], data["hosted_version"]) == (1, kind, __version__)
    assert set(data) >= {"ok", "error"}
    return data


# ---- finding the profile ----------------------------------------------------------------


def test_the_profile_is_found_from_a_subdirectory_and_its_paths_stay_its_own(
        project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(project / "src" / "deep")
    code, out, _ = call(capsys, "validate", "--json")
    assert code == 0 and envelope(out, "validate")["path"] == str(project / "hosted.yaml")
    # ./src is the profile's src, not one under the current directory.
    assert call(capsys, "up", "--no-wait")[0] == 0
    [web] = [m for m in cli_support.shared().list_machines() if m.label == "web"]
    assert [f.host for f in web.shared_folders] == [str(project / "src")]


def test_hosted_file_names_the_profile_and_f_wins_over_it(
        project: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    other = elsewhere / "other.yaml"
    other.write_text("version: 1\nname: other\nmachines:\n  web: {}\n")
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("HOSTED_FILE", str(other))
    assert envelope(call(capsys, "validate", "--json")[1], "validate")["environment"] == "other"
    code, out, _ = call(capsys, "-f", str(project), "validate", "--json")
    assert code == 0 and json.loads(out)["environment"] == "conv"
    monkeypatch.setenv("HOSTED_FILE", str(elsewhere / "missing.yaml"))
    code, _, err = call(capsys, "validate")
    assert code == 2 and "(from HOSTED_FILE)" in err


def test_no_profile_anywhere_up_the_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("HOSTED_FILE", raising=False)
    monkeypatch.chdir(tmp_path)
    code, _, err = call(capsys, "status")
    assert code == 2 and "no hosted.yaml in" in err and "nor in a parent directory" in err
    assert "HOSTED_FILE" in err and "hosted init" in err


@pytest.mark.parametrize("argv", [["-f", "P", "status"], ["status", "-f", "P"],
                                  ["-f", "P", "snapshot", "list"], ["snapshot", "-f", "P", "list"],
                                  ["snapshot", "list", "-f", "P"], ["images", "pull", "-f", "P"],
                                  ["-f", "P", "images", "pull"]])
def test_f_before_or_after_the_command(project: Path, tmp_path_factory: pytest.TempPathFactory,
                                       monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                       argv: list[str]) -> None:
    monkeypatch.chdir(tmp_path_factory.mktemp("away"))
    code, _, err = call(capsys, *[str(project / "hosted.yaml") if a == "P" else a for a in argv])
    assert code == 0, err


@pytest.mark.parametrize("argv", [["schema", "-f", "x"], ["-f", "x", "schema"], ["doctor", "-f", "x"],
                                  ["-f", "x", "doctor"], ["images", "list", "-f", "x"],
                                  ["-f", "x", "images", "list"], ["list", "-f", "x"], ["-f", "x", "list"],
                                  ["completion", "bash", "-f", "x"]])
def test_f_only_where_a_profile_is_read(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = call(capsys, *argv)
    assert code == 2 and out == ""
    assert "-f" in err and ("reads no profile" in err or "unrecognized arguments" in err)


def test_every_command_that_reads_a_profile_takes_f_and_the_others_do_not() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, command in COMMANDS.items():
        parsers = [sub.choices[name]]  # type: ignore[attr-defined]
        if command.actions:
            actions = next(a for a in parsers[0]._actions if a.dest == f"{name}_command")
            parsers = [actions.choices[x] for x in command.actions]  # type: ignore[attr-defined]
            uses = [c.profile for c in command.actions.values()]
        else:
            uses = [command.profile]
        for p, use in zip(parsers, uses, strict=True):
            assert ("-f" in p._option_string_actions) == use, p.prog


# ---- -q, -v, --debug ---------------------------------------------------------------------


def test_quiet_shows_only_results_that_failed_and_verbose_excludes_it(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = call(capsys, "up", "--no-wait", "-q")
    assert (code, out, err) == (0, "", "")
    code, out, _ = call(capsys, "-q", "status")
    assert code == 0 and "environment conv" in out, "what was asked for is still shown"
    code, _, err = call(capsys, "up", "-v", "-q")
    assert code == 2 and "exclude each other" in err


def test_debug_logs_events_and_every_backend_call_to_a_private_file(
        project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    state = project / "state"
    state.mkdir(mode=0o700)
    monkeypatch.setenv("HOSTED_STATE_DIR", str(state))
    assert call(capsys, "--debug", "up", "--no-wait")[0] == 0
    log = state / "debug.log"  # the user's private state directory
    text = log.read_text(encoding="utf-8")
    assert "hosted.calls: connected: memory" in text
    assert "hosted.calls: create_machine(MachineSpec, Tags) -> ObservedMachine in" in text
    assert "hosted.calls: list_machines('conv') -> 0 item(s)" in text
    assert "hosted.calls: start('" in text
    assert "hosted.events: step-finished web: create conv-web" in text
    assert log.stat().st_mode & 0o777 == 0o600
    # A named error: message and hint on screen, the traceback in the log.
    code, _, err = call(capsys, "ssh", "db", "-c", "true", "--debug")
    assert code == 1 and "db is not running" in err and f"debug log: {log}" in err
    assert "Traceback" in log.read_text() and "SshError" in log.read_text()
    # Without --debug nothing more is written.
    size = log.stat().st_size
    assert call(capsys, "status")[0] == 0
    assert log.stat().st_size == size


# ---- JSON --------------------------------------------------------------------------------


def test_every_command_has_json_with_one_envelope(project: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    runs = [
        (["validate"], "validate"), (["plan"], "plan"), (["up", "--no-wait"], "up"), (["status"], "status"),
        (["list"], "list"), (["global-status"], "list"), (["ssh-config"], "ssh-config"),
        (["provision", "db"], "provision"), (["halt", "web"], "halt"), (["suspend"], "suspend"),
        (["resume"], "resume"), (["snapshot", "save", "s1"], "snapshot-save"),
        (["snapshot", "list"], "snapshots"), (["snapshot", "push"], "snapshot-push"),
        (["snapshot", "pop", "-y"], "snapshot-pop"),
        (["snapshot", "restore", "s1", "-y"], "snapshot-restore"),
        (["snapshot", "delete", "s1", "-y"], "snapshot-delete"),
        (["snapshot", "save", "baseline"], "snapshot-save"), (["reset", "-y", "--no-wait"], "reset"),
        (["reload", "--no-wait", "-y"], "reload"), (["images", "list"], "images"),
        (["images", "pull"], "images-pull"), (["images", "prune"], "images-prune"),
        (["bundle", "-o", str(tmp_path / "b.bundle")], "bundle"), (["schema"], "schema"),
        (["init", "--list"], "init"), (["init", "minimal", "-f", str(tmp_path / "new.yaml")], "init"),
        (["destroy", "-y"], "destroy"),
    ]
    for argv, kind in runs:
        code, out, err = call(capsys, *argv, "--json")
        assert code == 0, (argv, out, err)
        data = envelope(out, kind)
        assert data["ok"] is True and data["error"] is None, argv
    code, out, _ = call(capsys, "--json", "doctor")
    assert envelope(out, "doctor")["exit_code"] == code


def test_up_json_says_what_changed_and_where_to_connect_with_progress_on_stderr(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = call(capsys, "up", "--no-wait", "--json")
    data = envelope(out, "up")
    assert code == 0 and data["operation"] == "up" and data["changed"] is True
    assert [m["machine"] for m in data["machines"]] == ["web", "db"]
    [ssh] = data["ssh"]
    assert (ssh["machine"], ssh["user"], ssh["host"]) == ("web", "root", "127.0.0.1")
    assert "web create conv-web" in err, "progress goes to stderr, stdout holds only the document"


@pytest.mark.parametrize(("argv", "code", "kind", "type_"), [
    (["status", "nope"], 2, "status", "UnknownMachine"),
    (["snapshot", "save", " x"], 2, "snapshot-save", "UsageError"),
    (["destroy"], 1, "destroy", "ConfirmationRequired"),
    (["ssh", "-c", "true"], 2, "ssh", "UsageError"),  # two machines, neither named; web is not primary
])
def test_failures_use_the_same_envelope(project: Path, capsys: pytest.CaptureFixture[str],
                                        argv: list[str], code: int, kind: str, type_: str) -> None:
    (project / "hosted.yaml").write_text(PROFILE.replace("    primary: true\n", ""))
    assert call(capsys, "up", "--no-wait")[0] == 0
    got, out, err = call(capsys, *argv, "--json")
    data = envelope(out, kind)
    assert got == code and data["ok"] is False and err == ""
    assert data["error"]["exit_code"] == code and data["error"]["type"] == type_
    assert data["error"]["message"] and data["error"]["hint"]


def test_a_profile_error_in_json_lists_every_problem(project: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    (project / "hosted.yaml").write_text("version: 1\nname: x\nmachines:\n  web:\n    cpus: 0\n"
                                         "    memroy: 1\n")
    code, out, _ = call(capsys, "plan", "--json")
    data = envelope(out, "plan")
    assert code == 2 and data["error"]["type"] == "ProfileError"
    assert [(p["line"], p["key"]) for p in data["error"]["problems"]] == [
        (5, "machines.web.cpus"), (6, "machines.web.memroy")]


def test_virtualbox_unavailable_is_3_in_the_envelope(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:unavailable")
    for argv, kind in ((["status"], "status"), (["list"], "list"), (["images", "prune"], "images-prune")):
        code, out, _ = call(capsys, *argv, "--json")
        assert code == 3 and envelope(out, kind)["error"]["type"] == "BackendUnavailable"


def test_a_failed_machine_is_in_its_entry_and_in_error(project: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from hosted.errors import OperationFailed

    cli_support.shared().fail_next("create_machine", OperationFailed("disk full", "free some space"))
    code, out, _ = call(capsys, "up", "--no-wait", "--json")
    data = envelope(out, "up")
    assert code == 1 and data["ok"] is False
    assert data["error"]["message"] == "web: disk full" and data["error"]["exit_code"] == 1
    [web] = [m for m in data["machines"] if m["machine"] == "web"]
    assert web["error"]["message"] == "disk full"


def test_virtualbox_gone_under_a_machine_is_3_not_1(project: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """VBoxSVC going away during one machine's step is gone for all: exit 3, as when it was
    never there ("run the command again"), not 1."""
    from hosted.errors import ServiceGone

    gone = ServiceGone("VBoxSVC went away", "run the command again")
    cli_support.shared().fail_next("create_machine", gone)
    code, out, _ = call(capsys, "up", "--no-wait", "--json")
    data = envelope(out, "up")
    assert code == 3 and data["error"]["exit_code"] == 3 and data["error"]["type"] == "ServiceGone"
    cli_support.shared().fail_next("create_machine", gone)
    assert call(capsys, "up", "--no-wait")[0] == 3


def test_json_where_there_is_no_json_output_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = call(capsys, "--json", "completion", "bash")
    assert code == 2 and envelope(out, "completion")["error"]["message"] == \
        "--json: this command has no JSON output"
    code, out, _ = call(capsys, "completion", "bash", "--json")
    assert code == 2 and envelope(out, "completion")["error"]["message"] == "unrecognized arguments: --json"


# ---- -y and exit codes -------------------------------------------------------------------

DELETES_OR_RESTARTS = [["up"], ["reload"], ["destroy"], ["reset"], ["snapshot", "restore", "s"],
                       ["snapshot", "delete", "s"], ["snapshot", "pop"], ["snapshot", "save", "s"],
                       ["images", "prune"]]


@pytest.mark.parametrize("argv", DELETES_OR_RESTARTS, ids=" ".join)
def test_yes_on_every_command_that_deletes_or_restarts(argv: list[str]) -> None:
    for flag in ("-y", "--yes"):
        args = build_parser().parse_args([*argv, flag])
        assert args.yes is True


MACHINE_ARGS = [["up"], ["plan"], ["status"], ["destroy"], ["halt"], ["suspend"], ["resume"], ["reload"],
                ["reset"], ["provision"], ["ssh-config"], ["ssh"], ["logs"], ["snapshot", "save", "s"],
                ["snapshot", "restore", "s"], ["snapshot", "list"], ["snapshot", "delete", "s"],
                ["snapshot", "push"], ["snapshot", "pop"]]


@pytest.mark.parametrize("argv", MACHINE_ARGS, ids=" ".join)
def test_an_unknown_machine_is_2_before_virtualbox_is_asked(
        project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        argv: list[str]) -> None:
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:unavailable")  # asking VirtualBox would be 3
    code, _, err = call(capsys, *argv, "nope")
    assert code == 2 and "no machine named nope" in err


def test_snapshot_names_invalid_before_connecting_and_unknown_after(
        project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert call(capsys, "up", "--no-wait")[0] == 0
    assert call(capsys, "snapshot", "save", "clean", "web")[0] == 0
    for action in ("restore", "delete"):
        code, _, err = call(capsys, "snapshot", action, "dirty", "-y")
        assert code == 2 and "no snapshot named 'dirty'" in err, err
        code, _, err = call(capsys, "snapshot", action, "clean", "db", "-y")
        assert code == 2 and "db: no snapshot named 'clean'" in err
    assert call(capsys, "snapshot", "delete", "clean", "-y")[0] == 0, "db lacks it, web has it: fine"
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:unavailable")
    code, _, err = call(capsys, "snapshot", "save", " padded")
    assert code == 2 and "invalid snapshot name" in err


def test_usage_errors_are_2_through_python_m_hosted(tmp_path: Path) -> None:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "80"}
    for argv in (["snapshot"], ["ssh", "web", "ls"], ["cp", "onlyone"], ["status", "--bogus"]):
        proc = subprocess.run([sys.executable, "-m", "hosted", *argv], capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=60)
        assert proc.returncode == 2 and "usage: hosted" in proc.stderr, (argv, proc.stderr)


def test_docs_usage_lists_every_command_and_its_options() -> None:
    text = (ROOT / "docs" / "usage.md").read_text()
    table = text[text.index("## The commands"):text.index("### Options every command takes")]
    for name, command in COMMANDS.items():
        assert f"hosted {name}" in table or f"`{name}`" in table, name
        for alias in command.aliases:
            assert alias in table
        for action in command.actions or {}:
            assert action in table, f"{name} {action}"
    for option in ("-f PATH", "HOSTED_FILE", "`-v`", "`-q`", "`--json`", "`--debug`", "`-y`/`--yes`"):
        assert option in text


def test_a_usage_error_with_json_is_in_the_envelope(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = call(capsys, "status", "--bogus", "--json")
    data = envelope(out, "status")
    assert (code, err, data["ok"]) == (2, "", False)
    assert data["error"]["message"] == "unrecognized arguments: --bogus"
    assert data["error"]["hint"].startswith("usage: hosted status [-h] [-f PATH]")
    assert (data["error"]["exit_code"], data["error"]["type"]) == (2, "UsageError")
    code, out, err = call(capsys, "ssh", "web", "--", "--json")  # after --: the guest's, not ours
    assert code == 2 and out == "" and "usage: hosted" not in err
