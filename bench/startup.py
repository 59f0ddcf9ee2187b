"""Start-up budget: what a `hosted` command does before its first VirtualBox call, and what imports cost.

    scripts/sandbox run python bench/startup.py [--runs N] [--no-profile]

In its own VirtualBox home (see benchhome.py) with the 3 running machines of
bench/floor.py, it prints:

0. the libraries' floor: whole processes that run none of hosted's code, only the
   interpreter, an argparse parse and rich's console and table (what the CLI is
   built on), then vboxapi's import: what any command pays before it could call
   VirtualBox;
1. a timeline per command (``validate``, ``status``, ``snapshot list``,
   ``plan``): seconds since the process was spawned at which hosted was
   imported, loaded the profile, called ``connect`` (the first VirtualBox work:
   finding the install, importing vboxapi, creating the manager), got the first
   answer from VBoxSVC, returned, exited (bench/hosted_trace.py; medians of N);
2. ``python -X importtime`` of ``hosted status``, grouped by top-level package
   (self time; stdlib lumped), and the biggest single imports;
3. memory: peak RSS of a fresh process importing each package alone, minus a
   bare interpreter's; and RSS step by step through what ``status`` loads;
4. what-if: ``status`` and ``snapshot list`` traced with one cost taken away at a
   time (paramiko and cryptography not imported; no interpreter finalisation; the profile from a
   pickle, as a compiled-once cache would give it): what each optimisation is worth;
5. unless ``--no-profile``: cProfile of ``hosted status`` (one thread), the top
   functions by cumulative time.

Target (issue 11): <= 0.12 s before the first VirtualBox call.
"""

from __future__ import annotations

import argparse
import io
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchhome import isolate
from floor import ENV, hosted_argv, hosted_cmd, hosted_env, profile_path, spawn, spawner
from floor_ops import Floor
from hosted_trace import milestones, traced

COMMANDS = [["validate"], ["status"], ["snapshot", "list"], ["plan"]]
BUDGET = 0.12
IMPORTS = [
    ("yaml", "import yaml"),
    ("pydantic", "import pydantic"),
    ("rich (console + table)", "import rich.console, rich.table"),
    ("paramiko", "import paramiko"),
    ("filelock (hosted.flock imports it only on Windows)", "import filelock"),
    ("vboxapi + manager + first call (the floor's connect)",
     "from vboxapi import VirtualBoxManager; m = VirtualBoxManager(None, None); m.getVirtualBox().version"),
    ("hosted.cli.main (--help)", "import hosted.cli.main"),
    ("hosted.profile", "import hosted.profile"),
    ("hosted.profile + load the 3-machine profile",
     "import hosted.profile; hosted.profile.load_profile({profile!r})"),
    ("hosted.profile + the same from the compiled-profile cache (a hit)",
     "import hosted.profile; hosted.profile.load_profile({profile!r}, cache=True)"),
    ("hosted.cli.machine_cmds (up/status)", "import hosted.cli.machine_cmds"),
    ("hosted.cli.snapshot_cmds", "import hosted.cli.snapshot_cmds"),
    ("hosted.backend.virtualbox.backend", "import hosted.backend.virtualbox.backend"),
]
STEPS = """
import sys, time
def status(field):
    return int(open('/proc/self/status').read().split(field + ':')[1].split()[0]) / 1024
t0 = time.perf_counter()
def step(label):
    print(f"{label}\\t{status('VmRSS'):.1f}\\t{status('VmHWM'):.1f}\\t{time.perf_counter() - t0:.3f}",
          flush=True)
step('interpreter')
import hosted.cli.main; step('hosted.cli.main')
import hosted.cli.console; step('hosted.cli.console (rich)')
import hosted.profile; step('hosted.profile')
env = hosted.profile.load_profile(sys.argv[1], cache=True); step('profile loaded (compiled cache: a hit)')
import hosted.cli.machine_cmds; step('hosted.cli.machine_cmds (the rest of status)')
from hosted.backend.virtualbox import connect; backend = connect(); step('connected (vboxapi)')
machines = backend.list_machines(env.name); step('list_machines (the environment)')
from hosted.machine_status import machine_status
rows = machine_status(env, machines, []); step('status rows')
"""


LIBRARIES = [
    ("python -c pass", "pass"),
    ("argparse: a parser with one option, parsed",
     "import argparse; p = argparse.ArgumentParser(); p.add_argument('-f'); p.parse_args([])"),
    ("+ rich's console and table (hosted's renderer)",
     "import argparse; p = argparse.ArgumentParser(); p.add_argument('-f'); p.parse_args([]); "
     "import rich.console, rich.table"),
    ("+ vboxapi imported (the floor pays this too)",
     "import argparse; p = argparse.ArgumentParser(); p.add_argument('-f'); p.parse_args([]); "
     "import rich.console, rich.table, vboxapi"),
]


def libraries(runs: int) -> None:
    """Whole processes that do nothing of hosted's: what the interpreter, argparse and rich cost
    before any command could call VirtualBox (the budget's own floor)."""
    print(f"0. the libraries' floor: whole processes, none of hosted's code (median of {runs}, "
          "alternating)\n")
    times: dict[str, list[float]] = {label: [] for label, _ in LIBRARIES}
    for _ in range(runs):
        for label, code in LIBRARIES:
            times[label].append(spawn([sys.executable, "-c", code], hosted_env()).seconds)
    print(f"| process | min s | median s | budget (<= {BUDGET:.2f} s) |\n|---|---:|---:|---|")
    for label, t in times.items():
        verdict = "within" if statistics.median(t) <= BUDGET else "over"
        print(f"| {label} | {min(t):.3f} | {statistics.median(t):.3f} | {verdict} |")
    print()


def timeline(profile: Path, runs: int) -> None:
    print(f"1. timeline: seconds since spawn (median of {runs}; traced runs, so a little slower)\n")
    table: dict[str, list[str]] = {}
    for cmd in COMMANDS:
        argv = [*cmd, "-f", str(profile)]
        traces = [traced(argv, hosted_env()) for _ in range(runs)]
        for t in traces:
            if t["rc"] != 0:
                raise SystemExit(f"hosted {' '.join(argv)} failed:\n{t['output']}")
        for i, (label, _) in enumerate(milestones(traces[0])):
            at = [m[i][1] for m in map(milestones, traces) if m[i][1] is not None]
            table.setdefault(label, []).append(f"{statistics.median(at):.3f}" if at else "-")
        table.setdefault("heavy packages imported", []).append(" ".join(traces[0]["heavy"]) or "-")
    print("| milestone | " + " | ".join(" ".join(c) for c in COMMANDS) + " |")
    print("|---|" + "---:|" * len(COMMANDS))
    for label, cells in table.items():
        print(f"| {label} | " + " | ".join(cells) + " |")
    print(f"\nbudget: <= {BUDGET} s before the first VirtualBox call (`connect() called`)\n")


def importtime(profile: Path, runs: int) -> None:
    print(f"2. python -X importtime hosted status (median of {runs}), self time by top-level package\n")
    groups: dict[str, list[float]] = {}
    biggest: dict[str, list[float]] = {}
    for _ in range(runs):
        script = hosted_argv()[-1] if len(hosted_argv()) == 1 else "-m hosted"
        argv = [sys.executable, "-X", "importtime", *script.split(), "status", "-f", str(profile)]
        proc = subprocess.run(argv, capture_output=True, text=True, env=hosted_env())
        run: dict[str, float] = {}
        for line in proc.stderr.splitlines():
            m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
            if not m:
                continue
            self_us, cum_us, indent, name = int(m[1]), int(m[2]), len(m[3]), m[4]
            top = name.split(".")[0]
            group = "stdlib" if top in sys.stdlib_module_names else top
            run[group] = run.get(group, 0.0) + self_us / 1e6
            if indent <= 2 or name.startswith("hosted"):
                biggest.setdefault(name, []).append(cum_us / 1e6)
        for group, seconds in run.items():
            groups.setdefault(group, []).append(seconds)
    total = sum(statistics.median(v) for v in groups.values())
    print("| package | self s | share |\n|---|---:|---:|")
    for group, v in sorted(groups.items(), key=lambda kv: -statistics.median(kv[1]))[:14]:
        print(f"| {group} | {statistics.median(v):.3f} | {statistics.median(v) / total:.0%} |")
    print(f"| all imports | {total:.3f} | |\n")
    print("biggest imports, cumulative s (top-level ones and hosted's):\n")
    for name, v in sorted(biggest.items(), key=lambda kv: -statistics.median(kv[1]))[:18]:
        print(f"  {statistics.median(v):.3f}  {name}")
    print()


HWM = ("\nimport sys; sys.stdout.write('HWM ' + "
       "open('/proc/self/status').read().split('VmHWM:')[1].split()[0])")


def peak(code: str, *args: str) -> tuple[float, float, str]:
    """(peak RSS in MB as the process itself saw it, wall s, output) of ``python -c CODE``."""
    sample = spawn([sys.executable, "-c", code + HWM, *args], hosted_env())
    return int(sample.out.rsplit("HWM ", 1)[1]) / 1024, sample.seconds, sample.out


def memory(profile: Path) -> None:
    print("3. memory: peak RSS (VmHWM) of a fresh process importing X alone (median of 3), "
          "minus `python -c pass`\n")
    peak(f"import hosted.profile; hosted.profile.load_profile({str(profile)!r}, cache=True)")  # warm it
    base = [peak("pass") for _ in range(3)]
    base_mb, base_t = statistics.median(b[0] for b in base), statistics.median(b[1] for b in base)
    print("| import | peak MB | + MB | + s |\n|---|---:|---:|---:|")
    print(f"| (python -c pass) | {base_mb:.1f} | | |")
    for label, code in IMPORTS:
        samples = [peak(code.format(profile=str(profile))) for _ in range(3)]
        mb, t = statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)
        print(f"| {label} | {mb:.1f} | {mb - base_mb:+.1f} | {t - base_t:+.3f} |")
    print("\nstep by step through what `hosted status` loads (one process): RSS now, peak, s since start\n")
    _, _, out = peak(STEPS, str(profile))
    print("| step | RSS MB | peak MB | s |\n|---|---:|---:|---:|")
    for line in out.splitlines():
        if line.count("\t") == 3:
            print("| " + " | ".join(line.split("\t")) + " |")
    print()


def profile_status(profile: Path) -> None:
    print("5. cProfile of `hosted status` (main thread), top by cumulative time\n")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "status.prof"
        # main(), not the console script's run(): that leaves with os._exit, before cProfile writes.
        entry = Path(tmp) / "entry.py"
        entry.write_text("import sys\nfrom hosted.cli.main import main\nsys.exit(main(sys.argv[1:]))\n",
                         encoding="utf-8")
        subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), str(entry), "status", "-f",
                        str(profile)], capture_output=True, env=hosted_env(), check=True)
        text = io.StringIO()
        pstats.Stats(str(out), stream=text).sort_stats("cumulative").print_stats(40)
    print(text.getvalue())


WHATIFS = [
    ("as it is", ""),
    ("paramiko, cryptography not imported", "no-ssh-stack"),
    ("+ no interpreter finalisation (os._exit)", "no-ssh-stack,fast-exit"),
    ("+ profile from a compiled-once cache (no YAML, no pydantic)",
     "no-ssh-stack,fast-exit,profile-cache={p}"),
]


def what_if(profile: Path, runs: int) -> None:
    """The read-only commands with one cost taken away at a time (bench/hosted_trace.py's switches)."""
    import pickle

    from hosted.profile import load_profile

    pickled = profile.with_suffix(".pickle")
    pickled.write_bytes(pickle.dumps(load_profile(profile)))
    print(f"4. what-if: the same traced process with a cost taken away (median of {runs}): "
          "wall s / CPU s / peak MB / s to `connect()`\n")
    cmds = [["status"], ["snapshot", "list"]]
    print("| variant | " + " | ".join(" ".join(c) for c in cmds) + " |\n|---|" + "---|" * len(cmds))
    for label, switches in WHATIFS:
        cells = []
        for cmd in cmds:
            env = {**hosted_env(), "HOSTED_TRACE_WHATIF": switches.format(p=pickled)}
            traces = [traced([*cmd, "-f", str(profile)], env) for _ in range(runs)]
            if any(t["rc"] != 0 for t in traces):
                raise SystemExit(f"{label}: hosted {' '.join(cmd)} failed:\n{traces[0]['output']}")
            wall = statistics.median(t["exit"] - t["spawn"] for t in traces)
            cpu = statistics.median(t["cpu"] for t in traces)
            mb = statistics.median(t["peak_mb"] for t in traces)
            to_connect = statistics.median(dict(milestones(t))["connect() called: first VirtualBox work"] or 0
                                           for t in traces)
            cells.append(f"{wall:.3f} / {cpu:.2f} / {mb:.0f} / {to_connect:.3f}")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args()
    spawner()  # before this process grows
    home = isolate("hosted-bench-startup-")
    box = Floor()
    try:
        profile = profile_path(home, 3)
        spawn(hosted_cmd(["up", "--no-wait"], profile, yes=True), hosted_env())
        libraries(args.runs)
        timeline(profile, args.runs)
        importtime(profile, args.runs)
        memory(profile)
        what_if(profile, args.runs)
        if not args.no_profile:
            profile_status(profile)
        return 0
    finally:
        for m in box.machines(ENV):
            box.destroy(m)
        box.close()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
