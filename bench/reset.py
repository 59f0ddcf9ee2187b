"""`hosted reset` of a 3-machine environment versus one VBoxManage process per restore.

    scripts/sandbox run python bench/reset.py [--runs N] [--machines N]

Creates a private VirtualBox home (its own VBOX_USER_HOME and VBOX_IPC_SOCKETID,
so a VBoxSVC of its own), N tiny powered-off machines with an 8 MB disk and a
``baseline`` snapshot, then times, alternating in one run:

* hosted reset (library): ``hosted.reset`` (the library API) on an open connection,
  machines in parallel — what a long-lived caller (or a second reset in the
  same `hosted` process) pays;
* hosted reset (CLI process): ``python -m hosted reset --yes``, a whole new
  process: interpreter start, imports, profile loading, connecting to VBoxSVC;
* VBoxManage: one process per step, machine after machine (a shell script's
  reset): ``snapshot VM restore baseline``; with ``--running`` also
  ``controlvm VM poweroff`` before and ``startvm VM --type headless`` after.

Medians and the ratio to VBoxManage are printed as a table; target: the
library reset >= 5x faster than VBoxManage.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchhome import isolate, vboxmanage

TARGET = 5.0
PROFILE = "version: 1\nname: bench\nmachines:\n{machines}"
MACHINE = "  m{i}: {{memory: 32M, cpus: 1, disk: 8M, state: {state}}}\n"
BASE = "VBoxManage, 1 process/step"


def run_cli(argv: list[str]) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise SystemExit(f"hosted reset failed:\n{proc.stdout}{proc.stderr}")


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--machines", type=int, default=3)
    parser.add_argument("--running", action="store_true",
                        help="machines run (live baseline): reset = power off, restore, resume")
    args = parser.parse_args()
    home = isolate("hosted-bench-reset-")
    profile = home / "hosted.yaml"
    state = "running" if args.running else "poweroff"
    machines = "".join(MACHINE.format(i=i + 1, state=state) for i in range(args.machines))
    profile.write_text(PROFILE.format(machines=machines))

    from hosted.backend.virtualbox import connect
    from hosted.events import discard

    backend = connect(discard)
    try:
        cases = make_cases(backend, profile, args.running)
        times: dict[str, list[float]] = {k: [] for k in cases}
        for fn in cases.values():
            fn()  # warm up: page cache, VBoxSVC's first load of each machine
        for _ in range(args.runs):
            for name, fn in cases.items():
                times[name].append(timed(fn))
        return report(times, f"{args.machines} {state} machines", args.runs)
    finally:
        for m in backend.list_machines():
            backend.destroy(m.uuid, discard)
        backend.close()
        shutil.rmtree(home, ignore_errors=True)


def make_cases(backend: Any, profile: Path, running: bool) -> dict[str, Callable[[], object]]:
    """Create the machines and their baselines; the three ways of resetting them."""
    from hosted import api
    from hosted.events import discard
    from hosted.snapshots import describe

    env = api.load(str(profile))
    result = api.up(env, backend=backend, wait=False)
    if not result.ok:
        raise SystemExit(f"creating the machines failed: {result.failed[0].error}")
    for m in result.machines:
        assert m.uuid is not None
        backend.take_snapshot(m.uuid, "baseline", describe("baseline"), discard)
    cli = [sys.executable, "-m", "hosted", "reset", "--yes", "-f", str(profile)]

    def library() -> None:
        if not api.reset(env, backend=backend, yes=True, wait=False).ok:
            raise SystemExit("hosted reset failed")

    def by_vboxmanage() -> None:
        for m in env.machines:
            if running:
                vboxmanage("controlvm", m.vm_name, "poweroff")
            vboxmanage("snapshot", m.vm_name, "restore", "baseline")
            if running:
                vboxmanage("startvm", m.vm_name, "--type", "headless")

    return {
        "hosted reset (library)": library,
        "hosted reset (CLI process)": lambda: run_cli(cli),
        BASE: by_vboxmanage,
    }


def report(times: dict[str, list[float]], what: str, runs: int) -> int:
    base = statistics.median(times[BASE])
    print(f"reset of {what}, {runs} runs each, alternating")
    print(f"{'method':32} {'min s':>8} {'median s':>9} {'max s':>8} {'vs VBoxManage':>14}")
    for name, t in times.items():
        med = statistics.median(t)
        print(f"{name:32} {min(t):8.3f} {med:9.3f} {max(t):8.3f} {base / med:13.1f}x")
    lib = base / statistics.median(times["hosted reset (library)"])
    print(f"target: library >= {TARGET:.0f}x faster: {'ok' if lib >= TARGET else 'MISSED'} ({lib:.1f}x)")
    return 0 if lib >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
