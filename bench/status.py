"""`hosted status` of 10 machines versus one `VBoxManage showvminfo` process per machine.

    scripts/sandbox run python bench/status.py [--runs N] [--machines N]

In a private VirtualBox home (see bench/vbox_up.py) hosted creates N powered-off
machines (32 MB, an 8 MB disk, a NAT NIC with an ``auto`` SSH forward and an
internal NIC), then this times, alternating in one run:

* hosted status (library): what ``hosted status`` does once connected —
  ``backend.list_machines()`` and ``machine_status`` (a plan per machine, drift,
  forwards), in this process;
* VBoxManage: ``showvminfo VM --machinereadable``, one process per machine;
* hosted status (CLI process): ``python -m hosted status -f PROFILE``, a whole
  new process (interpreter, imports, profile, connecting, output) — for honesty.

Target: the library status >= 5x faster than showvminfo per machine.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vbox_up import isolate, remove_all, report, timed, vboxmanage, verdict

PROFILE = "version: 1\nname: bench\nmachines:\n{machines}"
MACHINE = """\
  m{i}:
    memory: 32M
    cpus: 1
    disk: 8M
    state: poweroff
    nics:
      - nat: {{forwards: [{{name: ssh, guest: 22, host: auto}}]}}
      - internal: {{network: bench-lab}}
"""
LIB = "hosted status (library)"
CLI = "hosted status (CLI process)"
VBOXM = "VBoxManage showvminfo, 1 process/VM"
TARGET = 5.0


def make_cases(backend: Any, profile: Path) -> dict[str, Callable[[], object]]:
    from hosted import api
    from hosted.machine_status import machine_status

    env = api.load(profile)
    result = api.up(env, backend=backend, wait=False)
    if not result.ok:
        raise SystemExit(f"creating the machines failed: {result.failed[0].error}")
    names = [m.vm_name for m in env.machines]

    def library() -> None:
        rows = machine_status(env, backend.list_machines(), [])
        if len(rows) != len(names) or any(r.drift for r in rows):
            raise SystemExit(f"unexpected status: {rows}")

    def cli() -> None:
        proc = subprocess.run([sys.executable, "-m", "hosted", "status", "-f", str(profile)],
                              capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise SystemExit(f"hosted status failed:\n{proc.stdout}{proc.stderr}")

    return {
        LIB: library,
        VBOXM: lambda: [vboxmanage("showvminfo", n, "--machinereadable") for n in names],
        CLI: cli,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--machines", type=int, default=10)
    args = parser.parse_args()
    home = isolate("hosted-bench-status-")
    profile = home / "hosted.yaml"
    machines = "".join(MACHINE.format(i=i + 1) for i in range(args.machines))
    profile.write_text(PROFILE.format(machines=machines))
    from hosted.backend.virtualbox import connect
    from hosted.events import discard

    backend = connect(discard)
    try:
        cases = make_cases(backend, profile)
        times: dict[str, list[float]] = {k: [] for k in cases}
        for fn in cases.values():
            fn()  # warm up
        for _ in range(args.runs):
            for name, fn in cases.items():
                times[name].append(timed(fn))
        report(f"status of {args.machines} powered-off machines, {args.runs} runs each, alternating",
               times, VBOXM, None)
        med = {k: statistics.median(v) for k, v in times.items()}
        per_vm = med[LIB] / args.machines * 1000
        print(f"hosted status (library): {per_vm:.1f} ms per machine")
        return 0 if verdict("library vs showvminfo", med[VBOXM] / med[LIB], TARGET) else 1
    finally:
        remove_all(backend._ctx.mgr, backend._ctx.vbox)
        backend.close()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
