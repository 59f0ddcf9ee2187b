"""Shell completion (argcomplete): `hosted completion bash|zsh|fish` scripts loaded into the real
shells, which then ask the installed `hosted` for commands, options, machine names and
templates; snapshot names come from VirtualBox (here the double); `hosted --help` stays fast."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cli_support
import pytest

from hosted.cli import complete
from hosted.cli.main import main

BIN = Path(sys.executable).parent  # the environment hosted is installed in
PROFILE = "version: 1\nname: comp\nmachines:\n  web: {memory: 64M, state: poweroff}\n  db: {memory: 64M}\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    if not (BIN / "hosted").exists():
        pytest.skip("needs the `hosted` command installed next to this Python")
    (tmp_path / "hosted.yaml").write_text(PROFILE)
    (tmp_path / "sub").mkdir()
    return tmp_path


@pytest.fixture(autouse=True)
def _shells_have_a_home_of_their_own(tmp_path_factory: pytest.TempPathFactory,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """zsh writes ~/.zcompdump and fish ~/.config/fish: never in the user's own home."""
    home = tmp_path_factory.mktemp("shell-home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))


def shell_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HOSTED_BACKEND", "HOSTED_FILE")}
    return {**env, "PATH": f"{BIN}{os.pathsep}{env['PATH']}", "NO_COLOR": "1"}


BASH = r"""
eval "$(hosted completion bash)"
COMP_LINE="$LINE"; COMP_POINT=${#COMP_LINE}
read -ra COMP_WORDS <<< "$LINE"
[[ "$LINE" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
_python_argcomplete hosted
printf '%s\n' "${COMPREPLY[@]}"
"""


def bash(line: str, cwd: Path) -> list[str]:
    proc = subprocess.run(["bash", "--norc", "-c", BASH], capture_output=True, text=True, cwd=cwd,
                          env={**shell_env(), "LINE": line}, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return [w.strip() for w in proc.stdout.splitlines() if w.strip()]


@pytest.mark.parametrize(("line", "expected"), [
    ("hosted sn", ["snapshot"]),
    ("hosted global", ["global-status"]),
    ("hosted snapshot re", ["restore"]),
    ("hosted status --js", ["--json"]),
    ("hosted -", ["--file", "--verbose", "--quiet", "--debug", "--json", "--version", "--help"]),
    ("hosted ssh ", ["web", "db"]),
    ("hosted ssh -", ["--command", "--file", "--json"]),
    ("hosted halt w", ["web"]),
    ("hosted snapshot save clean ", ["web", "db"]),
    ("hosted init ", ["debian-12", "minimal", "test-guest", "ubuntu-24.04", "workshop"]),
    ("hosted cp w", ["web:"]),
    ("hosted completion ", ["bash", "zsh", "fish"]),
])
def test_bash(project: Path, line: str, expected: list[str]) -> None:
    got = bash(line, project / "sub")  # the profile one directory up is found
    assert set(expected) <= set(got), got
    if not line.endswith("-"):
        assert not [w for w in got if w.startswith("-") and not expected[0].startswith("-")], \
            "options only once - is typed"


def test_bash_machine_names_follow_f(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    assert bash("hosted ssh ", elsewhere) == [], "no profile there: no names (and options only after -)"
    assert set(bash(f"hosted -f {project} ssh ", elsewhere)) == {"web", "db"}
    assert set(bash(f"hosted ssh -f {project / 'hosted.yaml'} ", elsewhere)) == {"web", "db"}


def test_fish(project: Path) -> None:
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed")
    script = 'hosted completion fish | source; complete -C "hosted sn"; complete -C "hosted ssh "'
    proc = subprocess.run(["fish", "--no-config", "-c", script], capture_output=True, text=True,
                          cwd=project, env=shell_env(), timeout=60)
    words = [line.split("\t")[0] for line in proc.stdout.splitlines()]
    assert proc.returncode == 0 and {"snapshot", "web", "db"} <= set(words), proc.stdout + proc.stderr


def test_zsh(project: Path) -> None:
    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed")
    # The script loads into zsh's completion system and binds to `hosted` ...
    script = ('autoload -U compinit && compinit -u && eval "$(hosted completion zsh)" && '
              "print -r -- $_comps[hosted]")
    proc = subprocess.run(["zsh", "-f", "-c", script], capture_output=True, text=True, cwd=project,
                          env=shell_env(), timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "_python_argcomplete", proc.stdout + proc.stderr
    # ... and `hosted` answers zsh's form of the request (value:description).
    proc = subprocess.run(["hosted"], capture_output=True, text=True, cwd=project, timeout=60, env={
        **shell_env(), "_ARGCOMPLETE": "1", "_ARGCOMPLETE_SHELL": "zsh", "_ARGCOMPLETE_SUPPRESS_SPACE": "1",
        "COMP_LINE": "hosted sn",
        "COMP_POINT": "9", "_ARGCOMPLETE_STDOUT_FILENAME": str(project / "out")})
    assert proc.returncode == 0
    assert (project / "out").read_text() == "snapshot:save, restore, list and delete snapshots; push/pop " \
        "to try and undo"


def test_snapshot_names_come_from_virtualbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cli_support.reset()
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:shared")
    (tmp_path / "hosted.yaml").write_text(PROFILE)
    monkeypatch.chdir(tmp_path)
    assert main(["up", "--no-wait", "-q"]) == 0
    assert main(["snapshot", "save", "clean", "-q"]) == 0
    assert main(["snapshot", "save", "before upgrade", "web", "-q"]) == 0
    assert list(complete.snapshots(parsed_args=argparse.Namespace(file=None))) == ["before upgrade", "clean"]
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:unavailable")
    assert list(complete.snapshots(parsed_args=argparse.Namespace(file=None))) == [], "nothing, no error"


def test_completion_script_names_how_to_load_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "zsh"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("#compdef hosted\n") and 'eval "$(hosted completion zsh)"' in out


def test_help_stays_fast_and_never_imports_argcomplete() -> None:
    code = ("import sys, time; t = time.perf_counter(); from hosted.cli.main import build_parser; "
            "build_parser().format_help(); print('argcomplete' in sys.modules, 'rich' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.split() == ["False", "False"], proc.stderr
