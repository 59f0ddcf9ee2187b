"""Real COM on Windows (.github/workflows/hosts.yml runs it there; skipped elsewhere): the
process is in COM's multi-threaded apartment, and the runner's worker threads use VirtualBox's
objects without RPC_E_WRONG_THREAD."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = [pytest.mark.vbox,
              pytest.mark.skipif(sys.platform != "win32", reason="COM apartments exist on Windows only")]


def test_worker_threads_use_virtualbox_through_real_com() -> None:
    from vbox_fixtures import make_virtualbox_backend

    backend = make_virtualbox_backend()
    assert backend._ctx.mgr.type == "MSCOM"
    assert getattr(sys, "coinit_flags", None) == 0, "the MTA was asked for before pywin32 was loaded"

    def work(_: int) -> tuple[str, int]:
        return backend.info().version, len(backend.list_machines())

    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="hosted-run") as pool:
        results = list(pool.map(work, range(8)))
    assert len(set(results)) == 1, results
