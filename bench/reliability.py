"""The reliability figures in docs/reliability.md, from the suites that produce them.

    scripts/sandbox run python bench/reliability.py [--quick]

Runs, in the VirtualBox sandbox (real VirtualBox 7.2, driverless, the tiny test guest):

* tests/test_run_faults.py: a failure injected at every step type of hosted's runner, before
  its work and as a lost reply, on the backend double (NAT forwards to a real sshd);
* tests/e2e/test_kill_rerun_vbox.py: `hosted up` of three machines from an image SIGKILLed
  as each kind of step starts, and VBoxSVC killed mid-run, on real VirtualBox; each rerun
  timed (``--quick`` leaves this one out: it boots the guest about twenty times);
* tests/test_hostile.py (the corpus in tests/hostile/): every hostile profile and bundle,
  refused with exit 2 and nothing changed.

and prints one table: cases run, cases passed, and how long the reruns took to converge.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUITES = [
    ("failure injected at every step type (double + sshd)", "tests/test_run_faults.py"),
    ("hostile profiles and bundles refused, nothing changed", "tests/test_hostile.py"),
    ("`hosted up` SIGKILLed at each step, VBoxSVC killed (real VirtualBox)",
     "tests/e2e/test_kill_rerun_vbox.py"),
]


def run_suite(path: str, log: Path) -> tuple[int, int]:
    """(passed, failed) of one pytest run."""
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", path],
                          cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "HOSTED_RELIABILITY_LOG": str(log)})
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr
    passed = sum(int(n) for n in re.findall(r"(\d+) passed", tail))
    failed = sum(int(n) for n in re.findall(r"(\d+) (?:failed|error)", tail))
    return passed, failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="leave out the kills on real VirtualBox")
    args = parser.parse_args()
    log = Path(tempfile.mkdtemp(prefix="hosted-reliability-")) / "rows.jsonl"
    print(f"{'suite':72} {'cases':>5} {'passed':>6}")
    ok = True
    for label, path in SUITES:
        if args.quick and "e2e" in path:
            continue
        passed, failed = run_suite(path, log)
        ok = ok and failed == 0
        print(f"{label:72} {passed + failed:>5} {passed:>6}")
    rows = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    if rows:
        print("\nrerun after a kill, seconds to converge (booting the guest where the kill came first):")
        for row in rows:
            print(f"  {row['case']:24} {row['rerun_seconds']:6.1f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
