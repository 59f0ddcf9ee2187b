"""Runs in a separate (spawned) process: creates one machine with automatic forwards."""

from __future__ import annotations

import multiprocessing.synchronize
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

from hosted.events import discard
from hosted.model import Forward, MachineSpec, Nic, Tags


def create_with_auto_forwards(
    kind: str, root: str, env: str, index: int, barrier: multiprocessing.synchronize.Barrier,
    results: Queue[Any],
) -> None:
    try:
        if kind == "memory":
            from double import MemoryBackend

            backend: Any = MemoryBackend(root=Path(root) / f"p{index}")
        else:
            from hosted.backend.virtualbox import connect

            backend = connect(discard)
        spec = MachineSpec(
            name=f"m{index}", vm_name=f"{env}-m{index}", os_type="Linux_64", memory_mb=32,
            nics=(Nic("nat", forwards=(Forward("ssh", 22, None), Forward("web", 80, None))),),
        )
        barrier.wait(60)
        m = backend.create_machine(spec, Tags(env, spec.name, spec.config_hash()), discard)
        results.put((index, [f.host for f in m.forwards()]))
        backend.close()
    except BaseException as exc:
        results.put((index, repr(exc)))
        raise
