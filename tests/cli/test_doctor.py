"""`hosted doctor` through the real entry point (NO_COLOR, fixed width): lines, hints, exit codes, --json."""

from __future__ import annotations

import json

import pytest

from hosted.backend.virtualbox import diagnose as vbox_diagnose
from hosted.backend.virtualbox.diagnose import Check
from hosted.cli.main import main

GOOD = [
    Check("install", "ok", "VirtualBox found in /usr/lib/virtualbox"),
    Check("bindings", "ok", "system vboxapi in /usr/lib/python3/dist-packages/vboxapi"),
    Check("vboxsvc", "ok", "VBoxSVC answers: VirtualBox 7.2.4 r170000"),
    Check("api", "ok", "API 7_2 (hosted knows 7.0 to 7.2)"),
    Check("machine-folder", "ok", "/home/u/VirtualBox VMs exists and is writable"),
    Check("machines", "ok", "2 registered, 1 created by hosted in 1 environment"),
    Check("kernel-driver", "ok", "/dev/vboxdrv present: VMs use hardware virtualisation"),
    Check("ssh", "ok", "OpenSSH client at /usr/bin/ssh (for `hosted ssh`)"),
]


def use(monkeypatch: pytest.MonkeyPatch, checks: list[Check]) -> None:
    monkeypatch.setattr(vbox_diagnose, "diagnose", lambda: checks)


def replaced(name: str, check: Check) -> list[Check]:
    return [check if c.name == name else c for c in GOOD]


def test_all_good_exits_0(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    use(monkeypatch, GOOD)
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "✓ install: VirtualBox found in /usr/lib/virtualbox" in out
    assert "✓ machines: 2 registered, 1 created by hosted in 1 environment" in out
    assert "Everything hosted needs is in place." in out and "hint" not in out


def test_a_warning_shows_its_hint_and_still_exits_0(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    use(monkeypatch, replaced("kernel-driver", Check("kernel-driver", "warn", "no /dev/vboxdrv", "modprobe")))
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "! kernel-driver: no /dev/vboxdrv\n  hint: modprobe\n" in out
    assert "0 problem(s), 1 warning(s)." in out


def test_virtualbox_missing_exits_3(monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    use(monkeypatch, [Check("install", "fail", "VirtualBox is not installed", "install VirtualBox 7.0"),
                      Check("ssh", "ok", "OpenSSH client at /usr/bin/ssh")])
    assert main(["doctor"]) == 3
    out = capsys.readouterr().out
    assert "✗ install: VirtualBox is not installed\n  hint: install VirtualBox 7.0\n" in out
    assert "VirtualBox cannot be used by hosted here." in out


def test_unsupported_version_exits_3(monkeypatch: pytest.MonkeyPatch) -> None:
    use(monkeypatch, replaced("api", Check("api", "fail", "VirtualBox 6.1.50 is too old", "upgrade")))
    assert main(["doctor"]) == 3


def test_other_failure_exits_1(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    folder = Check("machine-folder", "fail", "/vms is not writable", "chmod")
    use(monkeypatch, replaced("machine-folder", folder))
    assert main(["doctor"]) == 1
    assert "1 problem(s), 0 warning(s)." in capsys.readouterr().out


def test_json_envelope(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    use(monkeypatch, replaced("ssh", Check("ssh", "warn", "no `ssh` on PATH", "install openssh-client")))
    assert main(["doctor", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["hosted_json"], data["kind"], data["ok"], data["exit_code"]) == (1, "doctor", True, 0)
    assert [c["name"] for c in data["checks"]] == [c.name for c in GOOD]
    assert data["checks"][-1] == {"name": "ssh", "status": "warn", "detail": "no `ssh` on PATH",
                                  "hint": "install openssh-client"}


def test_json_when_unavailable(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    use(monkeypatch, [Check("install", "fail", "VirtualBox is not installed", "install it")])
    assert main(["doctor", "--json"]) == 3
    data = json.loads(capsys.readouterr().out)
    assert (data["ok"], data["exit_code"], data["checks"][0]["status"]) == (False, 3, "fail")


@pytest.mark.vbox
def test_real_virtualbox(capsys: pytest.CaptureFixture[str]) -> None:
    from vbox_fixtures import make_virtualbox_backend

    make_virtualbox_backend()  # skips without VirtualBox; points the machine folder into the test home
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    for name in ("install", "bindings", "vboxsvc", "api", "machine-folder", "machines", "ssh"):
        assert f"✓ {name}: " in out
