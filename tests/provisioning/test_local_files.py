"""Problems with files on this host (scripts, copied files, the provisioning
log) are ProvisionErrors naming the file; no SSH server needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from hosted.errors import ProvisionError
from hosted.events import Recorder
from hosted.model import ProvisionStep
from hosted.provisioning import run_logged, step_fingerprint
from hosted.ssh import SshSession


class NoSession:
    """Fails the test if provisioning gets as far as the guest."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"the session was used ({name})")


def _provision(tmp_path: Path, log: Path, *steps: ProvisionStep) -> None:
    session: SshSession = NoSession()  # type: ignore[assignment]
    for step in steps:
        run_logged(session, step, step_fingerprint(step), "env/web", Recorder(), log)


def test_unreadable_copied_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "conf"
    source.mkdir()
    (source / "secret").write_text("x")
    from hosted.provisioning import record

    def refuse(path: Path, mode: str = "r") -> object:
        if Path(path).name == "secret":  # as for a file of another user's (tests may run as root)
            raise PermissionError(13, "Permission denied", str(path))
        return open(path, mode)

    monkeypatch.setattr(record, "open", refuse, raising=False)
    step = ProvisionStep(kind="file", name="conf", source=str(source), destination="/etc/conf")
    with pytest.raises(ProvisionError, match="Permission denied") as err:
        step_fingerprint(step)
    assert err.value.step == "conf"
    assert str(source / "secret") in err.value.message + err.value.hint


@pytest.mark.parametrize("where", ["parent is a file", "log is a directory"])
def test_provisioning_log_that_cannot_be_written_is_named(tmp_path: Path, where: str) -> None:
    if where == "parent is a file":
        (tmp_path / "data").write_text("a file, not a directory")
        log = tmp_path / "data" / "provision.log"
    else:
        log = tmp_path / "provision.log"
        log.mkdir()
    step = ProvisionStep(kind="shell", name="hello", inline="echo hi", run="always")
    with pytest.raises(ProvisionError, match="provisioning log") as err:
        _provision(tmp_path, log, step)
    assert str(log) in err.value.message + err.value.hint
