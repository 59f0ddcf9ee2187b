"""The real entry point with hostile input: escape sequences never reach the terminal raw, text
is not turned into emoji, and HOSTED_BACKEND never imports a module."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cli_support
import pytest

from hosted.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def run(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120", **env}
    if "HOSTED_BACKEND" not in env:
        environ.pop("HOSTED_BACKEND", None)
    return subprocess.run([sys.executable, "-m", "hosted", *argv], capture_output=True, text=True,
                          env=environ, cwd=ROOT, timeout=60)


def test_escape_sequences_in_a_profile_are_shown_escaped(tmp_path: Path) -> None:
    bad = tmp_path / "hosted.yaml"
    bad.write_text('version: 1\nname: "x\\e]0;pwned\\a\\e[2J"\nmachines:\n  web: {}\n')
    proc = run("validate", "-f", str(bad))
    assert proc.returncode == 2
    assert "\x1b" not in proc.stderr and "\x07" not in proc.stderr
    assert "\\x1b]0;pwned\\x07\\x1b[2J" in proc.stderr and f"{bad}:2:" in proc.stderr


def test_escape_sequences_reaching_the_console_from_elsewhere_are_escaped(tmp_path: Path) -> None:
    # A message the profile loader cannot escape itself: the path it was given.
    bad = tmp_path / "x\x1b]0;pwned\x07\x1b[2J\u202e.yaml"
    proc = run("validate", "-f", str(bad))
    assert proc.returncode == 2
    assert not any(c in proc.stderr for c in "\x1b\x07\u202e"), repr(proc.stderr)
    assert "x\\x1b]0;pwned\\x07\\x1b[2J\\u202e.yaml" in proc.stderr


def test_a_newline_in_a_key_cannot_print_a_line_of_its_own(tmp_path: Path) -> None:
    bad = tmp_path / "hosted.yaml"
    bad.write_text('version: 1\nname: t\nmachines:\n  web:\n    "x\\nhint: all is well": 1\n')
    proc = run("validate", "-f", str(bad))
    assert proc.returncode == 2
    assert "\nhint: all is well" not in proc.stderr and "machines.web.x\\nhint: all is well" in proc.stderr


def test_text_is_not_turned_into_emoji(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "hosted.yaml"
    bad.write_text("version: 1\nname: t\nmachines:\n  web:\n    vm_name: 'a:b: :smile: :thumbs_up:'\n")
    assert main(["validate", "-f", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "'a:b: :smile: :thumbs_up:' is not a valid name" in err, err


def test_hosted_backend_never_imports_a_module(tmp_path: Path) -> None:
    marker = tmp_path / "imported"
    (tmp_path / "evil_backend.py").write_text(f"open({str(marker)!r}, 'w').close()\n"
                                              "def factory():\n    return None\n")
    profile = tmp_path / "hosted.yaml"
    profile.write_text("version: 1\nname: t\nmachines:\n  web: {}\n")
    proc = run("plan", "-f", str(profile), HOSTED_BACKEND="evil_backend:factory",
               PYTHONPATH=str(tmp_path))
    assert proc.returncode == 2, proc.stderr
    assert "HOSTED_BACKEND" in proc.stderr and "hint:" in proc.stderr
    assert not marker.exists(), "the module named in the environment was imported (and run)"


def test_hosted_backend_in_process_needs_a_loaded_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    profile = tmp_path / "hosted.yaml"
    profile.write_text("version: 1\nname: t\nmachines:\n  web: {}\n")
    monkeypatch.setenv("HOSTED_BACKEND", "json.tool:main")  # a real module, not imported yet here
    sys.modules.pop("json.tool", None)
    assert main(["plan", "-f", str(profile)]) == 2
    assert "json.tool" not in sys.modules
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:shared")  # the test suite's own double works
    cli_support.reset()
    assert main(["plan", "-f", str(profile)]) == 0
    capsys.readouterr()


def test_warnings_of_the_profile_are_available_to_the_cli(tmp_path: Path) -> None:
    from hosted.profile import load_profile

    profile = tmp_path / "hosted.yaml"
    profile.write_text("version: 1\nname: t\nmachines:\n  web:\n    nics: [{nat: {forwards: "
                       "[{guest: 80, host: 8080, host_ip: '0.0.0.0'}]}}]\n")
    (warning,) = load_profile(profile, {}).warnings
    assert warning.startswith(f"{profile}:5: machines.web.nics[0].nat.forwards[0].host_ip:")
