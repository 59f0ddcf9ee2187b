"""Contract: two processes allocating ``host: auto`` ports at once never collide."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from contract.conftest import Ctx
from contract.worker import create_with_auto_forwards

PROCESSES = 3


def test_concurrent_auto_allocations_never_collide(ctx: Ctx, tmp_path: Path) -> None:
    mp = multiprocessing.get_context("spawn")  # no fork: vboxapi/XPCOM state must not be inherited
    barrier = mp.Barrier(PROCESSES)
    results = mp.Queue()
    procs = [
        mp.Process(target=create_with_auto_forwards,
                   args=(ctx.kind, str(tmp_path), ctx.env, i, barrier, results))
        for i in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    got = dict(results.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(60)
    assert all(isinstance(v, list) for v in got.values()), got
    ports = [port for v in got.values() for port in v]
    assert len(ports) == 2 * PROCESSES and None not in ports
    assert len(set(ports)) == len(ports), f"collision: {got}"
