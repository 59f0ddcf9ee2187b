"""Connecting while VBoxSVC shuts down: how often a command is refused, and what hosted does.

    scripts/sandbox run python bench/svc_refusal.py [--from 4.70] [--to 4.98] [--step 0.02]

VBoxSVC exits 5 s after its last client leaves.  For each delay D in the sweep,
and for each side in turn, this starts a client (``VBoxManage list vms``) in its own
VirtualBox home (see benchhome.py), waits D seconds after it ends, then runs:

* ``probe``: a fresh Python process that creates vboxapi's manager, calls
  ``getVirtualBox()`` and reads the version, and when that fails asks again in the
  same process every 0.5 s for up to 15 s (as any in-process retry would), and
  says how many attempts it took;
* ``hosted``: ``hosted list --json``, which runs itself once more when VBoxSVC
  refused it (hosted/cli/reconnect.py).

then waits until that VBoxSVC is gone.  Printed: one line per run (delay, exit
code, seconds), and a table: runs, runs that failed, and runs that went through
after a refusal (the probe: on a later attempt in its own process; hosted: on its
second start, which it says on stderr).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from benchhome import VBOXMANAGE, isolate

PROBE = """\
import sys, time
from vboxapi import VirtualBoxManager
mgr = VirtualBoxManager(None, None)
deadline = time.monotonic() + 15
attempts = 0
while True:
    attempts += 1
    try:
        print(mgr.getVirtualBox().version, "attempts", attempts)
        break
    except Exception as exc:
        if time.monotonic() > deadline:
            sys.exit(f"refused for 15 s ({attempts} attempts): {exc}")
        time.sleep(0.5)
"""


def client() -> None:
    for _ in range(10):  # a client that arrives during a shutdown is refused too: the next one is not
        if subprocess.run([VBOXMANAGE, "list", "vms"], capture_output=True, timeout=120).returncode == 0:
            return
        time.sleep(1)
    raise SystemExit("VBoxManage list vms keeps failing")


def run(side: str, delay: float) -> tuple[int, float, str]:
    client()
    time.sleep(delay)
    argv = [sys.executable, "-c", PROBE] if side == "probe" else ["hosted", "list", "--json"]
    start = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    seconds = time.monotonic() - start
    # hosted says on stderr when it runs again (hosted/cli/reconnect.py)
    if side == "probe":
        said = done.stdout.strip()
    else:
        said = "again" if "running the command again" in done.stderr else ""
    print(f"  {side:6} D={delay:.3f} rc={done.returncode} {seconds:.2f} s {said} "
          f"{(done.stderr.strip().splitlines() or [''])[-1][:90]}", flush=True)
    time.sleep(6)  # that VBoxSVC is gone before the next run
    return done.returncode, seconds, said


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--from", dest="start", type=float, default=4.70)
    parser.add_argument("--to", dest="stop", type=float, default=4.98)
    parser.add_argument("--step", type=float, default=0.02)
    args = parser.parse_args()
    isolate("hosted-bench-refusal-")
    count = round((args.stop - args.start) / args.step) + 1
    delays = [round(args.start + i * args.step, 3) for i in range(count)]
    results: dict[str, list[tuple[int, float, str]]] = {"probe": [], "hosted": []}
    client()  # untimed: hosted's first run here writes its caches
    subprocess.run(["hosted", "list", "--json", "-q"], capture_output=True, timeout=120)
    time.sleep(6)
    for delay in delays:
        for side in results:
            results[side].append(run(side, delay))
    print("\n| side | runs | failed | went through after a refusal |")
    print("|---|---:|---:|---:|")
    for side, found in results.items():
        failed = sum(1 for rc, _, _ in found if rc)
        # probe: a later attempt in the same process; hosted: its second start
        later = sum(1 for rc, _, said in found if rc == 0 and (
            not said.endswith("attempts 1") if side == "probe" else said == "again"))
        print(f"| {side} | {len(found)} | {failed} | {later} |")
    print(f"\ndelays {delays[0]}-{delays[-1]} s after the last client, step {args.step} s; "
          f"VirtualBox home {os.environ['VBOX_USER_HOME']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
