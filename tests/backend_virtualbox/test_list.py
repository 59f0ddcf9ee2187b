"""list_machines is fast: far quicker than one VBoxManage process per machine."""

from __future__ import annotations

import time

import pytest
from vbox_fixtures import vboxmanage_info

from backend_virtualbox.conftest import Maker, nat
from hosted.model import Forward

pytestmark = pytest.mark.vbox


def test_listing_ten_machines_beats_vboxmanage_five_times(maker: Maker) -> None:
    made = [maker.create(maker.spec("bench", disk_mb=8, nics=(nat(Forward("ssh", 22, None)),)))
            for _ in range(10)]
    b = maker.backend
    b.list_machines()
    api = min(_timed(b.list_machines) for _ in range(5))
    listed = {m.uuid: m for m in b.list_machines()}
    assert all(listed[m.uuid] == m for m in made)
    cli = _timed(lambda: [vboxmanage_info(m.vm_name) for m in made])
    assert api * 5 < cli, f"list_machines {api * 1000:.1f} ms vs VBoxManage {cli * 1000:.1f} ms"
    assert api / len(listed) < 0.016


def _timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start
