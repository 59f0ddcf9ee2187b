"""`hosted` next to Vagrant 2.3 + its VirtualBox provider: the issue-11 table, side by side.

    python3 bench/vs_vagrant.py [--runs N] [--setup] [--harness DIR]     # on the host, as root

Runs on the host (standard library only).  Per run, alternating which goes
first, for each scenario of the Vagrant harness in ``shared/bench-peers/vagrant``
(used as it is; it writes under /tmp/vagrant-bench):

* Vagrant: ``RUNS=1 SCENARIOS=<scenario> KEEP_VBOXSVC=1 RESULTS=<dir> measure.sh``
  (it re-executes itself in the VirtualBox chroot and times each ``vagrant``
  process there);
* hosted: ``scripts/sandbox run python bench/vs_vagrant.py --hosted-side
  <scenario> ...``, which does the same cycle with the ``hosted`` CLI in the
  same chroot, in a private VirtualBox home whose VBoxSVC it keeps running (as
  KEEP_VBOXSVC does for Vagrant), on the machines of ``bench/vs_vagrant.yaml``
  (256 MB, 1 CPU, a 64 MB disk, one NAT forward each, as the harness's
  Vagrantfile), and checks every command's result through its own vboxapi
  connection (machines running, powered off, gone; snapshots live, restored
  in a new VM process, deleted; the listings name every machine).

Scenarios: ``n3-full`` is up, status (running), halt, status (poweroff),
destroy; ``n3-snap`` is up, snapshot save, restore, list, delete, destroy.
``hosted`` runs ``up --no-wait`` (Vagrant's bench communicator does not wait
either), ``halt --force`` (Vagrant powers off at once: its communicator says
the guest is not ready) and ``--yes`` where the command takes it.
The ratio is Vagrant's median divided by hosted's.  ``--setup`` first runs the
harness's setup-vagrant.sh and make-box.sh (idempotent).
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PROFILE = HERE / "vs_vagrant.yaml"
HARNESS = Path(os.environ.get("VAGRANT_HARNESS", ROOT.parent / "shared" / "bench-peers" / "vagrant"))
SNAP = "s1"
# The harness enters the chroot through this project's enter.sh, which binds the harness's
# directory again when the chroot still shows an older copy of it (a new session's /work/shared).
HARNESS_ENV = {"HOSTED_VBOX_ENTER": os.environ.get("HOSTED_VBOX_ENTER",
                                                   str(ROOT / "scripts" / "vbox-host" / "enter.sh"))}

# scenario -> [(Vagrant's command label in raw.tsv, hosted's label, hosted's command, target ratio)]
CYCLES: dict[str, list[tuple[str, str, list[str], float | None]]] = {
    "n3-full": [
        ("up", "up --no-wait", ["up", "--no-wait", "--yes"], 8),
        ("status (running)", "status (running)", ["status"], 15),
        ("halt", "halt --force", ["halt", "--force"], 20),
        ("status (poweroff)", "status (poweroff)", ["status"], 15),
        ("destroy -f", "destroy --yes", ["destroy", "--yes"], 20),
    ],
    "n3-snap": [
        ("up", "up --no-wait", ["up", "--no-wait", "--yes"], 8),
        ("snapshot save", "snapshot save", ["snapshot", "save", SNAP], 4),
        ("snapshot restore", "snapshot restore --yes", ["snapshot", "restore", SNAP, "--yes"], 10),
        ("snapshot list", "snapshot list", ["snapshot", "list"], 15),
        ("snapshot delete", "snapshot delete", ["snapshot", "delete", SNAP], 8),
        ("destroy -f", "destroy --yes", ["destroy", "--yes"], 20),
    ],
}


# --- inside the sandbox: hosted's cycle ---

def hosted_side(scenario: str, out: Path, run: int) -> int:
    sys.path.insert(0, str(HERE))
    from benchhome import isolate
    from floor import accepts, hosted_argv, hosted_env, spawn, spawner
    from floor_ops import Floor

    spawner()  # before this process grows
    home = isolate("hosted-bench-vagrant-")
    box = Floor()  # keeps this home's VBoxSVC running for the whole cycle
    env_name = "vs-vagrant"
    names = [f"{env_name}-m{i}" for i in (1, 2, 3)]
    pids: dict[str, int] = {}

    def machines() -> list:
        return box.machines(env_name)

    def check(cmd: list[str], output: str) -> str | None:
        ms = machines()
        on = [box.is_on(m) for m in ms]
        trees = [box.snapshot_tree(m) for m in ms]
        if cmd[0] == "destroy":
            return f"left: {[str(m.name) for m in ms]}" if ms else None
        if sorted(str(m.name) for m in ms) != names:
            return f"machines {[str(m.name) for m in ms]}"
        if cmd[0] in ("up", "snapshot") and not all(on):
            return "not all running"
        if cmd[0] == "halt" and any(on):
            return "not all powered off"
        if cmd[0] == "status" or cmd[1:2] == ["list"]:
            missing = [n for n in names if n not in output]
            return f"output lacks {missing}" if missing else None
        if cmd[1:2] == ["save"] and not all(len(t) == 1 and " live" in t[0] for t in trees):
            return f"no live snapshot: {trees}"
        restarted = all(int(m.sessionPID) != pids.get(str(m.name)) for m in ms)
        current = all(str(m.currentSnapshot.name) == SNAP for m in ms if m.currentSnapshot is not None)
        if cmd[1:2] == ["restore"] and not (restarted and current and all(trees)):
            return "not restored (same VM process, or another current snapshot)"
        if cmd[1:2] == ["delete"] and any(trees):
            return f"snapshots left: {trees}"
        return None

    rows = []
    try:
        for vagrant_label, label, cmd, _ in CYCLES[scenario]:
            words = [w for w in cmd if not w.startswith("-") and w != SNAP]
            argv = [*hosted_argv(), *[w for w in cmd if w != "--yes" or accepts(*words, flag="--yes")],
                    "-f", str(PROFILE)]
            pids.update({str(m.name): int(m.sessionPID) for m in machines()})
            sample = spawn(argv, hosted_env(), check=False)
            problem = f"exit code {sample.rc}" if sample.rc else check(cmd, sample.out)
            rc = 1 if problem else 0
            if problem:
                print(f"hosted {' '.join(cmd)}: {problem}\n{sample.out[-1500:]}", file=sys.stderr)
            rows.append([scenario, run, vagrant_label, label, rc, f"{sample.seconds:.3f}",
                         f"{sample.rss_mb:.1f}"])
            print(f"{scenario} {label}: {sample.seconds:.3f} s, {sample.rss_mb:.0f} MB"
                  f"{' FAILED: ' + problem if problem else ''}", flush=True)
    finally:
        for m in machines():
            box.destroy(m)
        box.close()
        shutil.rmtree(home, ignore_errors=True)
    new = not out.exists()
    with out.open("a", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter="\t")
        if new:
            w.writerow(["scenario", "run", "vagrant_cmd", "cmd", "rc", "wall_s", "rss_mb"])
        w.writerows(rows)
    return 0 if all(r[4] == 0 for r in rows) else 1


# --- on the host: both, alternating, then the table ---

def run_vagrant(scenario: str, results: Path, log: Path) -> None:
    env = {**os.environ, **HARNESS_ENV, "RUNS": "1", "SCENARIOS": scenario, "KEEP_VBOXSVC": "1",
           "RESULTS": str(results)}
    with log.open("a", encoding="utf-8") as f:
        subprocess.run(["bash", str(HARNESS / "measure.sh")], env=env, stdout=f, stderr=subprocess.STDOUT,
                       check=True)


def run_hosted(scenario: str, out: Path, run: int, log: Path) -> None:
    with log.open("a", encoding="utf-8") as f:
        subprocess.run([str(ROOT / "scripts" / "sandbox"), "run", "python", "bench/vs_vagrant.py",
                        "--hosted-side", scenario, "--out", str(out), "--run", str(run)],
                       cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, check=False)


def read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def table(results: Path, hosted_tsv: Path) -> bool:
    vagrant = read_tsv(results / "raw.tsv")
    hosted = read_tsv(hosted_tsv)
    print("| command (3 machines) | Vagrant s | VBoxManage processes | hosted s | hosted MB "
          "| Vagrant / hosted | target | |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    ok = True
    for scenario, cycle in CYCLES.items():
        for vagrant_label, label, _, target in cycle:
            v = [r for r in vagrant if r["scenario"] == scenario and r["cmd"] == vagrant_label]
            h = [r for r in hosted if r["scenario"] == scenario and r["vagrant_cmd"] == vagrant_label]
            if not v or not h:
                continue
            vt, ht = [float(r["wall_s"]) for r in v], [float(r["wall_s"]) for r in h]
            failed = [r for r in v + h if r["rc"] != "0"]
            ratio = statistics.median(vt) / statistics.median(ht)
            met = target is None or ratio >= target
            ok &= met and not failed
            procs = sorted({r["vbm_n"] for r in v}, key=int)
            verdict = "FAILED runs" if failed else ("ok" if met else "MISSED")
            print(f"| {label} ({scenario}) | {spread(vt)} | {'/'.join(procs)} | {spread(ht)} | "
                  f"{statistics.median(float(r['rss_mb']) for r in h):.0f} | {ratio:.1f}x | "
                  f">= {target}x | {verdict} |")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scenarios", default="n3-full,n3-snap")
    parser.add_argument("--setup", action="store_true", help="run setup-vagrant.sh and make-box.sh first")
    parser.add_argument("--results", help="the directory of an earlier run: only print its table")
    parser.add_argument("--hosted-side", metavar="SCENARIO", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--run", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.hosted_side:
        return hosted_side(args.hosted_side, args.out, args.run)
    if args.results:
        results = Path(args.results)
        return 0 if table(results, results / "hosted.tsv") else 1
    if args.setup:
        for script in ("setup-vagrant.sh", "make-box.sh"):
            subprocess.run(["bash", str(HARNESS / script)], env={**os.environ, **HARNESS_ENV}, check=True)
    results = Path("/tmp/vagrant-bench") / f"vs-hosted-{time.strftime('%Y%m%d-%H%M%S')}"
    results.mkdir(parents=True)
    hosted_tsv, log = results / "hosted.tsv", results / "vs_vagrant.log"
    scenarios = args.scenarios.split(",")
    for run in range(1, args.runs + 1):
        for scenario in scenarios:
            sides = [lambda s=scenario: run_vagrant(s, results, log),
                     lambda s=scenario, r=run: run_hosted(s, hosted_tsv, r, log)]
            for side in sides if run % 2 else sides[::-1]:
                side()
            print(f"run {run} {scenario} done ({time.strftime('%H:%M:%S')})", flush=True)
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n{args.runs} runs per scenario, alternating; Vagrant: {HARNESS} (KEEP_VBOXSVC=1); "
          f"results and logs in {results}; load average at the end {load}\n")
    return 0 if table(results, hosted_tsv) else 1


if __name__ == "__main__":
    sys.exit(main())
