"""Whether a process lives, on Windows (os.kill(pid, 0) would terminate it there): through
OpenProcess and GetExitCodeProcess, with kernel32 faked.  Before, every process counted as
running on Windows, so a killed run's leftovers were never swept there."""

from __future__ import annotations

from typing import Any

import pytest

from hosted import processes


class Kernel32:
    def __init__(self, handle: int, exit_code: int = processes.STILL_ACTIVE, last_error: int = 0) -> None:
        self.handle, self.exit_code, self.last_error = handle, exit_code, last_error
        self.closed: list[int] = []

    def OpenProcess(self, access: int, inherit: bool, pid: int) -> int:
        assert access == processes.PROCESS_QUERY_LIMITED_INFORMATION and not inherit
        return self.handle

    def GetLastError(self) -> int:
        return self.last_error

    def GetExitCodeProcess(self, handle: int, code: Any) -> int:
        code._obj.value = self.exit_code
        return 1

    def CloseHandle(self, handle: int) -> None:
        self.closed.append(handle)


@pytest.mark.parametrize(("kernel32", "alive"), [
    (Kernel32(7), True),  # still running
    (Kernel32(7, exit_code=0), False),  # ended, its handle still held by someone
    (Kernel32(0, last_error=processes.ERROR_INVALID_PARAMETER), False),  # no such process
    (Kernel32(0, last_error=5), True),  # access denied: another user's, running
])
def test_a_process_on_windows(kernel32: Kernel32, alive: bool) -> None:
    assert processes._alive_windows(4242, kernel32) is alive
    assert kernel32.closed == ([7] if kernel32.handle else [])


def test_windows_is_asked_instead_of_os_kill(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []
    monkeypatch.setattr(processes.os, "name", "nt")
    monkeypatch.setattr(processes, "_alive_windows", lambda pid: asked.append(pid) or False)
    monkeypatch.setattr(processes.os, "kill", lambda *a: pytest.fail("os.kill would terminate it"))
    assert processes.alive(4242) is False and asked == [4242]
