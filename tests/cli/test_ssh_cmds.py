"""`hosted provision` and `hosted ssh-config` through the real entry point, on
the in-memory double (NO_COLOR, fixed width)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import cli_support
import pytest

from hosted.cli.main import main

PROFILE = """\
version: 1
name: sshcli
machines:
  web:
    memory: 64M
    state: running
    nics:
      - nat:
          forwards:
            - {name: ssh, guest: 22, host: auto}
  db:
    memory: 64M
    state: running
    nics:
      - nat:
          forwards:
            - {name: ssh, guest: 22, host: auto}
"""

UNREACHABLE = """\
version: 1
name: sshcli
machines:
  web:
    memory: 64M
    state: running
    provision:
      - {name: hello, shell: {inline: "echo hi"}}
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cli_support.reset()
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:shared")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _counting(monkeypatch: pytest.MonkeyPatch, calls: dict[str, int], name: str,
              target: Any, attr: str) -> None:
    original: Callable[..., Any] = getattr(target, attr)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[name] = calls.get(name, 0) + 1
        return original(*args, **kwargs)

    monkeypatch.setattr(target, attr, counted)


def test_provision_hint_is_printed_as_text_not_markup(workdir: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "hosted.yaml").write_text(UNREACHABLE)
    assert main(["up", "--no-wait"]) == 0
    capsys.readouterr()
    assert main(["provision"]) == 1
    out = capsys.readouterr().out
    assert "[bold]" not in out and "[/]" not in out
    assert "hint: add a forward such as {name: ssh, guest: 22, host: auto}" in out


def test_ssh_config_reads_the_machines_once(workdir: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "hosted.yaml").write_text(PROFILE)
    assert main(["up", "--no-wait"]) == 0
    capsys.readouterr()
    calls: dict[str, int] = {}
    backend = cli_support.shared()
    _counting(monkeypatch, calls, "session", cli_support, "shared")
    _counting(monkeypatch, calls, "list", backend, "list_machines")
    _counting(monkeypatch, calls, "get", backend, "get_machine")
    assert main(["ssh-config"]) == 0
    out = capsys.readouterr().out
    assert "Host sshcli-web" in out and "Host sshcli-db" in out
    assert calls == {"session": 1, "list": 1}


def test_ssh_config_skips_what_it_cannot_reach(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "hosted.yaml").write_text(PROFILE.replace("state: running", "state: poweroff", 1))
    assert main(["up", "--no-wait"]) == 0
    capsys.readouterr()
    assert main(["ssh-config", "web", "db"]) == 0
    captured = capsys.readouterr()
    assert "Host sshcli-db" in captured.out and "Host sshcli-web" not in captured.out
    assert "# skipped: web is not running (poweroff)" in captured.out + captured.err
    # A name the profile does not have is invalid input, found before VirtualBox is asked.
    assert main(["ssh-config", "web", "nope"]) == 2
    assert main(["ssh", "nope"]) == 2
    assert "no machine named nope in" in capsys.readouterr().err
