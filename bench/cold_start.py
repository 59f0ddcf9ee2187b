"""Cold-start time of the hosted CLI: whole processes, several runs, median.

    python bench/cold_start.py [--runs N]

Compares, side by side in one run: `hosted --help`, `hosted --version`,
`hosted validate profiles/workshop.yaml`, and a bare `python -c pass` (the
interpreter's own floor).  Target: `hosted --help` <= 0.15 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = [
    ("python -c pass (floor)", [sys.executable, "-c", "pass"]),
    ("hosted --version", [sys.executable, "-m", "hosted", "--version"]),
    ("hosted --help", [sys.executable, "-m", "hosted", "--help"]),
    ("hosted validate workshop.yaml", [sys.executable, "-m", "hosted", "validate", "-f",
                                       str(ROOT / "profiles" / "workshop.yaml")]),
]
TARGETS = {"hosted --help": 0.15}


def measure(argv: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(argv, cwd=ROOT, capture_output=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise SystemExit(f"{argv} failed: {proc.stderr.decode()[-500:]}")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    print(f"{'command':34} {'min':>8} {'median':>8} {'max':>8}  target")
    worst = 0
    for label, argv in CASES:
        measure(argv, 1)  # warm the page cache
        t = measure(argv, args.runs)
        med = statistics.median(t)
        target = TARGETS.get(label)
        verdict = "" if target is None else (f"<= {target:.2f}s " + ("ok" if med <= target else "MISSED"))
        worst |= bool(target and med > target)
        print(f"{label:34} {min(t):8.3f} {med:8.3f} {max(t):8.3f}  {verdict}")
    return 1 if worst else 0


if __name__ == "__main__":
    sys.exit(main())
