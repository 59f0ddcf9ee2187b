"""A VBoxSVC that does not answer the first call is ServiceRefused, a BackendUnavailable the
console script gets past by running again (tests/cli/test_reconnect.py): asking again in the
same process does not help (the sweep in bench/README.md), so it is asked once."""

from __future__ import annotations

from typing import Any

import pytest

from hosted.backend.virtualbox import connection
from hosted.errors import BackendUnavailable, ServiceRefused


class Manager:
    def __init__(self, refuse: bool) -> None:
        self.refuse = refuse
        self.calls = 0

    def getVirtualBox(self) -> Any:
        self.calls += 1
        if self.refuse:
            print("vboxapi's own chatter")  # never reaches the caller's terminal
            raise RuntimeError("0x80004005 (Operation failed (NS_ERROR_FAILURE))")
        return type("VirtualBox", (), {"version": "7.2.22"})()


def test_a_refusal_is_service_refused_after_one_call(capsys: pytest.CaptureFixture[str]) -> None:
    mgr = Manager(refuse=True)
    with pytest.raises(ServiceRefused, match=r"VBoxSVC\): 0x80004005.*NS_ERROR_FAILURE") as caught:
        connection.virtualbox(mgr)
    assert isinstance(caught.value, BackendUnavailable) and caught.value.exit_code == 3
    assert caught.value.retryable and "run the command again" in caught.value.hint
    assert mgr.calls == 1 and capsys.readouterr() == ("", "")


def test_an_answer_is_the_virtualbox_object() -> None:
    mgr = Manager(refuse=False)
    assert connection.virtualbox(mgr).version == "7.2.22" and mgr.calls == 1
