"""Provisioning output never carries the profile's secrets into the log, the events or the error
(no sshd needed: the step itself is replaced by one that prints the secret)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hosted.errors import ProvisionError
from hosted.events import Recorder
from hosted.model import ProvisionStep
from hosted.provisioning import runner

SECRET = "tok-7f3a9c"


def echoing(status: int) -> Callable[..., tuple[int, str]]:
    def run_step(session: Any, step: ProvisionStep, fingerprint: str,
                 on_output: Callable[[str], None]) -> tuple[int, str]:
        on_output(f"Authorization: Bearer {SECRET}")
        return status, f"curl: (22) 401 for {SECRET}\n"

    return run_step


@pytest.mark.parametrize("status", [0, 1])
def test_guest_output_is_redacted_everywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             status: int) -> None:
    monkeypatch.setattr(runner, "run_step", echoing(status))
    log = tmp_path / "provision.log"
    events = Recorder()
    step = ProvisionStep(kind="shell", name="fetch", inline=f"curl -H 'Bearer {SECRET}' https://x")
    try:
        runner.run_logged(None, step, "f1", "env/web", events, log, (SECRET,))  # type: ignore[arg-type]
    except ProvisionError as exc:
        assert status != 0
        shown = f"{exc.message}\n{exc.hint}\n{exc.output_tail}"
        assert SECRET not in shown and "***" in shown
    assert SECRET not in log.read_text() and "Bearer ***" in log.read_text()
    assert all(SECRET not in e.message for e in events.events)
