"""Every `hosted` command next to the floor: the same VirtualBox work as a plain vboxapi script.

    scripts/sandbox run python bench/floor.py [--runs N] [--counts 1,3,10] [--status-counts 3,50]
                                              [--only ROW,...] [--trace]

Builds its own VirtualBox home (own VBOX_USER_HOME, VBOX_IPC_SOCKETID and
machine folder, so a VBoxSVC of its own, kept alive by this process for the
whole run; own XDG directories for hosted's files).  The machines are those of
the Vagrant comparison: 256 MB, 1 CPU, a 64 MB disk, one NAT forward each
(guest 80 -> 127.0.0.1:2808N, a fixed port, so both sides make the same
machine).  For each row it alternates, after one untimed warm-up of each:

* floor: ``python bench/floor_ops.py OP SPEC``, a fresh process that imports
  vboxapi, connects, finds the environment's machines by their extradata and
  does the work, one thread per machine (see floor_ops.py);
* hosted: the ``hosted`` CLI process doing the same (``up --no-wait``,
  ``status``, ``halt --force``, ``destroy``, ``snapshot save/restore/list/delete``,
  ``reset``), with ``--yes`` wherever the command accepts it.

The scaling rows (``scale``) time ``status`` of 3 and of 50 powered-off machines of one
environment (a profile that wants them off, so that 50 VMs need not run) and print how
much longer 50 take than 3 on each side (issue 11's target: hosted <= 1.5x).  With
more than one `up` row it also prints how much each extra machine adds to `up`, as a
share of `up` of one machine (issue 11's target: hosted <= 10 % per extra machine).

Before each timed run the machines are put into the row's starting state by
this process (untimed), and running VMs are left to settle (a VM just started
interprets its BIOS at full speed for seconds in the driverless sandbox).
After each run the bench checks the observable result through its own
connection, the same check for both sides: `up` makes
machines equal, setting by setting and extradata tag by tag, to the ones
`hosted up` made in the warm-up, and running; status and snapshot list print
every machine; halt leaves them powered off; destroy leaves no machine and no
folder; save leaves a live snapshot on each; restore and reset leave each
running again in a new VM process from the snapshot; delete leaves none.

``halt`` has two rows: against the plain power-down, and against a floor that also
waits until each machine is reported off and its session unlocked, which is what
`hosted halt` waits for before it returns.

Printed per row: wall time min / median / max of both, the ratio of the
medians, the target (hosted <= 1.3 x floor + 0.05 s) and peak resident memory
of both processes (``ru_maxrss`` of each child, from wait4), with the memory
target (hosted <= 1.5 x floor).  ``--trace`` adds one untimed traced hosted run
per row: where its time went (bench/hosted_trace.py).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchhome import isolate
from floor_ops import Floor, each

HERE = Path(__file__).resolve().parent
ENV = "bench"
SNAP = "s1"
BASELINE = "baseline"
PORT_BASE = 28080
MACHINE = ("  m{i}: {{memory: 256M, cpus: 1, disk: 64M, "
           "nics: [{{nat: {{forwards: [{{name: web, guest: 80, host: {port}}}]}}}}]}}\n")
MACHINE_OFF = MACHINE.replace("{{memory", "{{state: poweroff, memory")
TIME_FACTOR, TIME_SLACK, MEM_FACTOR = 1.3, 0.05, 1.5
SCALE_TARGET = 1.5  # status of 50 machines <= 1.5x status of 3
UP_SCALE_TARGET = 0.10  # up of N machines grows <= 10 % of up of 1 per extra machine


# --- child processes ---

@dataclass
class Sample:
    seconds: float
    rss_mb: float
    out: str
    rc: int = 0
    cpu: float = 0.0  # user + system s of the process itself


# A child's ru_maxrss starts at its parent's peak RSS (Linux keeps the larger of the old and the
# new memory's high-water mark across fork and exec), and this process holds vboxapi: children
# are forked by a small spawner instead, started before anything big is imported.  Its own
# ~11 MB is then the least a child can show; every child measured here peaks well above it.
SPAWNER = r"""
import json, os, sys, time
for line in sys.stdin:
    req = json.loads(line)
    out = os.open(req["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        try:
            os.execve(req["argv"][0], req["argv"], req["env"])
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - t0
    os.close(out)
    cpu = usage.ru_utime + usage.ru_stime
    print(json.dumps([os.waitstatus_to_exitcode(status), seconds, usage.ru_maxrss, cpu]), flush=True)
"""


@functools.cache
def spawner() -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-I", "-S", "-c", SPAWNER], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)


def spawn(argv: list[str], env: dict[str, str] | None = None, check: bool = True) -> Sample:
    """Run a process: its wall time and its own peak RSS (wait4 in the spawner)."""
    proc = spawner()
    assert proc.stdin is not None and proc.stdout is not None
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        request = {"argv": argv, "env": dict(os.environ if env is None else env), "out": out}
        proc.stdin.write(json.dumps(request) + "\n")
        proc.stdin.flush()
        rc, seconds, maxrss_kb, cpu = json.loads(proc.stdout.readline())
        with open(out, "rb") as f:
            text = f.read().decode(errors="replace")
    if check and rc != 0:
        raise SystemExit(f"{' '.join(argv)} exited with {rc}:\n{text[-3000:]}")
    return Sample(seconds, maxrss_kb / 1024, text, rc, cpu)


def hosted_argv() -> list[str]:
    script = Path(sys.executable).with_name("hosted")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hosted"]


def hosted_env() -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}


@functools.cache
def accepts(*command: str, flag: str) -> bool:
    """Does ``hosted COMMAND --help`` list ``flag``?  (The CLI is being reworked: ask it.)"""
    return flag in spawn([*hosted_argv(), *command, "--help"], hosted_env()).out


def hosted_cmd(command: list[str], profile: Path, yes: bool = False) -> list[str]:
    """``hosted COMMAND -f PROFILE`` (+ ``--yes`` if asked for and accepted)."""
    words = [w for w in command if not w.startswith("-") and w not in (SNAP, BASELINE)]
    extra = ["--yes"] if yes and accepts(*words, flag="--yes") else []
    return [*hosted_argv(), *command, *extra, "-f", str(profile)]


# --- the machines ---

def profile_path(home: Path, n: int, off: bool = False) -> Path:
    """n machines; ``off``: the profile wants them powered off."""
    path = home / f"bench-{n}{'-off' if off else ''}.yaml"
    if not path.exists():
        template = MACHINE_OFF if off else MACHINE
        body = "".join(template.format(i=i, port=PORT_BASE + i) for i in range(1, n + 1))
        path.write_text(f"version: 1\nname: {ENV}\nmachines:\n{body}")
    return path


def vm_names(n: int) -> list[str]:
    return [f"{ENV}-m{i}" for i in range(1, n + 1)]


@dataclass
class Reference:
    """What `hosted up` made for n machines: the floor writes the same extradata, the check compares."""
    specs: list[dict[str, Any]]
    described: dict[str, str]


class Bench:
    def __init__(self, home: Path, runs: int, trace: bool) -> None:
        self.home, self.runs, self.trace = home, runs, trace
        self.box = Floor()  # this process's connection: keeps VBoxSVC up, sets states up, checks
        self.refs: dict[tuple[int, bool], Reference] = {}
        self.results: list[Row] = []
        self.made_off = False  # the machines there are the `off` profile's

    # states (untimed)
    def mine(self) -> list[Any]:
        return self.box.machines(ENV)

    def by_name(self) -> dict[str, Any]:
        return {str(m.name): m for m in self.mine()}

    def remove_all(self) -> None:
        """Delete our machines, and wait for their VM processes to be gone: one still exiting
        holds its files, and a new machine of the same name fails to start (VERR_SHARING_VIOLATION)."""
        machines = self.mine()
        vm_pids = [int(m.sessionPID) for m in machines if self.box.is_on(m)]
        each(machines, self.box.destroy)
        deadline = time.monotonic() + 30
        while any(os.path.exists(f"/proc/{pid}") for pid in vm_pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        wait_ports_free(range(PORT_BASE + 1, PORT_BASE + 11))

    def reference(self, n: int, off: bool = False) -> Reference:
        """`hosted up` once (untimed): the machines it makes are the reference for both sides."""
        if (n, off) in self.refs:
            return self.refs[(n, off)]
        self.remove_all()
        spawn(hosted_cmd(["up", "--no-wait"], profile_path(self.home, n, off), yes=True), hosted_env())
        machines = self.by_name()
        if sorted(machines) != sorted(vm_names(n)):
            raise SystemExit(f"hosted up made {sorted(machines)}, expected {vm_names(n)}")
        specs = []
        for name in vm_names(n):
            m = machines[name]
            i = int(name.rsplit("m", 1)[1])
            extradata = [(str(k), str(m.getExtraData(k))) for k in self.box.array(m, "extraDataKeys")]
            specs.append({"name": name, "os_type": str(m.OSTypeId), "memory": 256, "cpus": 1,
                          "firmware": "bios", "disk_mb": 64,
                          "forwards": [["web", "tcp", "127.0.0.1", PORT_BASE + i, "", 80]],
                          "extradata": extradata})
        self.refs[(n, off)] = Reference(specs, {name: self.box.describe(machines[name], full=True)
                                                for name in vm_names(n)})
        self.remove_all()
        return self.refs[(n, off)]

    def ensure(self, n: int, running: bool = True, snapshot: str | None = None, off: bool = False) -> None:
        """Exactly the n machines (of the ``off`` profile's reference, or the other's), running or
        off, with exactly ``snapshot`` (live) or none."""
        ref = self.reference(n, off)
        machines = self.by_name()
        if sorted(machines) != sorted(vm_names(n)) or self.made_off != off:
            self.made_off = off
            self.remove_all()
            each(ref.specs, self.box.create)
            machines = self.by_name()
        box = self.box

        def fix(m: Any) -> None:
            have = {line.split()[0].strip() for line in box.snapshot_tree(m)}
            if snapshot is None or have - {snapshot}:
                for name in sorted(have, reverse=True):
                    box.delete_snapshot(m, name)
            if snapshot is not None and not box.is_on(m) and snapshot not in have:
                box.start(m)  # a live snapshot
            if snapshot is not None and snapshot not in {line.split()[0] for line in box.snapshot_tree(m)}:
                box.take(m, snapshot)
            if running and not box.is_on(m):
                box.start(m)
            elif not running and box.is_on(m):
                box.power_off(m)
                box.wait_unlocked(m)

        each(list(machines.values()), fix)

    def settle(self, limit: float = 0.08, timeout: float = 20.0) -> None:
        """Wait until our running VMs are idle: a VM just started interprets its BIOS at full
        speed for seconds (driverless), and would slow whichever side runs next."""
        hz = os.sysconf("SC_CLK_TCK")
        pids = [int(m.sessionPID) for m in self.mine() if self.box.is_on(m)]
        deadline = time.monotonic() + timeout
        while pids and time.monotonic() < deadline:
            before = {p: cpu_ticks(p) for p in pids}
            time.sleep(0.5)
            if all((cpu_ticks(p) - before[p]) / hz / 0.5 < limit for p in pids):
                return

    def pids(self) -> dict[str, int]:
        return {name: int(m.sessionPID) for name, m in self.by_name().items()}

    # the run
    def row(self, row: Row) -> None:
        print(f"== {row.label}", flush=True)
        sides: dict[str, Callable[[], Sample]] = {
            "floor": lambda: spawn([sys.executable, str(HERE / "floor_ops.py"), row.floor_op,
                                    json.dumps(row.spec)]),
            "hosted": lambda: spawn(row.hosted, hosted_env()),
        }
        order = ["floor", "hosted"]
        for run in range(self.runs + 1):  # run 0: untimed warm-up
            for side in order if run % 2 else order[::-1]:
                row.prepare()
                self.settle()
                sample = sides[side]()
                problem = row.check(sample)
                if problem:
                    raise SystemExit(f"{row.label}, {side}, run {run}: {problem}\n{sample.out[-2000:]}")
                if run:
                    row.samples[side].append(sample)
        if self.trace:
            row.prepare()
            self.settle()
            from hosted_trace import report_trace, traced
            print(report_trace(traced(row.hosted[len(hosted_argv()):], hosted_env())))
            if problem := row.check(Sample(0, 0, "")):
                print(f"(traced run: {problem})")
        row.after()
        print(row.line(), flush=True)
        self.results.append(row)


@dataclass
class Row:
    label: str
    floor_op: str
    spec: dict[str, Any]
    hosted: list[str]
    prepare: Callable[[], None]
    check: Callable[[Sample], str | None]
    after: Callable[[], None] = lambda: None
    samples: dict[str, list[Sample]] = field(default_factory=lambda: {"floor": [], "hosted": []})

    def med(self, side: str, attr: str = "seconds") -> float:
        return statistics.median(getattr(s, attr) for s in self.samples[side])

    def verdicts(self) -> tuple[float, bool, float, bool]:
        ratio = self.med("hosted") / self.med("floor")
        fast = self.med("hosted") <= TIME_FACTOR * self.med("floor") + TIME_SLACK
        mem = self.med("hosted", "rss_mb") / self.med("floor", "rss_mb")
        return ratio, fast, mem, mem <= MEM_FACTOR

    def line(self) -> str:
        def mmm(side: str) -> str:
            t = [s.seconds for s in self.samples[side]]
            return f"{min(t):.3f} / {statistics.median(t):.3f} / {max(t):.3f}"

        ratio, fast, mem, lean = self.verdicts()
        target = TIME_FACTOR * self.med("floor") + TIME_SLACK
        return (f"| {self.label} | {mmm('floor')} | {mmm('hosted')} | {ratio:.2f}x | "
                f"{target:.3f} {'ok' if fast else 'MISSED'} | {self.med('floor', 'cpu'):.2f} | "
                f"{self.med('hosted', 'cpu'):.2f} | {self.med('floor', 'rss_mb'):.0f} | "
                f"{self.med('hosted', 'rss_mb'):.0f} | {mem:.2f}x {'ok' if lean else 'MISSED'} |")


HEADER = ("| command | floor s min / med / max | hosted s min / med / max | hosted / floor | "
          "target s (1.3x floor + 0.05) | floor CPU s | hosted CPU s | floor MB | hosted MB | "
          "memory (<= 1.5x) |\n|---|---|---|---:|---|---:|---:|---:|---:|---|")


# --- checks: the observable result, read through the bench's own connection ---

def check_up(bench: Bench, n: int) -> Callable[[Sample], str | None]:
    def check(_: Sample) -> str | None:
        ref = bench.reference(n).described
        have = {name: bench.box.describe(m, full=True) for name, m in bench.by_name().items()}
        if sorted(have) != sorted(ref):
            return f"machines {sorted(have)}, expected {sorted(ref)}"
        bad = [f"{have[k]}\n  expected {ref[k]}" for k in ref if have[k] != ref[k]]
        return "differs from hosted's machine: " + "\n".join(bad) if bad else None
    return check


def check_power(bench: Bench, running: bool) -> Callable[[Sample], str | None]:
    def check(_: Sample) -> str | None:
        wrong = [n for n, m in bench.by_name().items() if bench.box.is_on(m) != running]
        return f"{wrong} not {'running' if running else 'powered off'}" if wrong else None
    return check


def check_listed(bench: Bench, n: int, word: str) -> Callable[[Sample], str | None]:
    def check(sample: Sample) -> str | None:
        if not sample.out:  # a traced run: output not captured
            return None
        missing = [name for name in vm_names(n) if name not in sample.out]
        if missing or sample.out.lower().count(word) < n:
            return f"output lacks {missing or word!r}"
        return None
    return check


def check_snapshot(bench: Bench, name: str | None) -> Callable[[Sample], str | None]:
    def check(_: Sample) -> str | None:
        for vm, m in bench.by_name().items():
            tree = bench.box.snapshot_tree(m)
            if name is None and tree:
                return f"{vm} still has snapshots: {tree}"
            if name is not None and not (len(tree) == 1 and tree[0].startswith(f"{name} ")
                                         and " live" in tree[0]):
                return f"{vm}: expected one live snapshot {name!r}, has {tree}"
            if not bench.box.is_on(m):
                return f"{vm} is not running"
        return None
    return check


def check_restored(bench: Bench, name: str, before: dict[str, int]) -> Callable[[Sample], str | None]:
    """Running again, in a new VM process (it was powered off), with ``name`` the current snapshot."""
    def check(_: Sample) -> str | None:
        for vm, m in bench.by_name().items():
            current = m.currentSnapshot
            if not bench.box.is_on(m) or current is None or str(current.name) != name:
                return f"{vm}: not running from {name!r}"
            if int(m.sessionPID) == before.get(vm):
                return f"{vm}: still the same VM process {before[vm]}: not restored"
        return None
    return check


def check_destroyed(bench: Bench, n: int) -> Callable[[Sample], str | None]:
    def check(_: Sample) -> str | None:
        left = [str(m.name) for m in bench.mine()]
        folders = [f for f in vm_names(n) if (bench.home / "machines" / f).exists()]
        return f"left behind: machines {left}, folders {folders}" if left or folders else None
    return check


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process, in clock ticks (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


def loadavg() -> str:
    """The host's 1/5/15-minute load: the CPUs are shared, and other work inflates wall times."""
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def wait_ports_free(ports: range, timeout: float = 30) -> None:
    """A powered-off VM's process may hold its NAT listener a moment; `hosted up` checks ports."""
    deadline = time.monotonic() + timeout
    for port in ports:
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) != 0:
                    break
            time.sleep(0.1)


# --- the rows ---

def up_rows(bench: Bench, counts: list[int]) -> list[Row]:
    rows = []
    for n in counts:
        ref = bench.reference(n)
        rows.append(Row(f"up --no-wait, {n} machine{'s' if n > 1 else ''}", "up", {"machines": ref.specs},
                        hosted_cmd(["up", "--no-wait"], profile_path(bench.home, n), yes=True),
                        bench.remove_all, check_up(bench, n), bench.remove_all))
    return rows


def three_rows(bench: Bench) -> list[Row]:
    n, p = 3, profile_path(bench.home, 3)
    spec = {"environment": ENV, "snapshot": SNAP}
    before: dict[str, int] = {}

    def snap_state(name: str | None, record: bool = False) -> Callable[[], None]:
        def prepare() -> None:
            bench.ensure(n, running=True, snapshot=name)
            if record:
                before.clear()
                before.update(bench.pids())
        return prepare

    return [
        Row("status (3 running)", "status", spec, hosted_cmd(["status"], p),
            snap_state(None), check_listed(bench, n, "running")),
        Row("snapshot save (3 running)", "snapshot-save", spec, hosted_cmd(["snapshot", "save", SNAP], p),
            snap_state(None), check_snapshot(bench, SNAP)),
        Row("snapshot list (3 running)", "snapshot-list", spec, hosted_cmd(["snapshot", "list"], p),
            snap_state(SNAP), check_listed(bench, n, SNAP)),
        Row("snapshot restore (3 running)", "snapshot-restore", spec,
            hosted_cmd(["snapshot", "restore", SNAP], p, yes=True),
            snap_state(SNAP, record=True), check_restored(bench, SNAP, before)),
        Row("snapshot delete (3 running)", "snapshot-delete", spec,
            hosted_cmd(["snapshot", "delete", SNAP], p, yes=True),
            snap_state(SNAP), check_snapshot(bench, None)),
        Row("reset (3 running, live baseline)", "reset", spec, hosted_cmd(["reset"], p, yes=True),
            snap_state(BASELINE, record=True), check_restored(bench, BASELINE, before),
            snap_state(None)),
        Row("halt --force (3 running)", "halt", spec, hosted_cmd(["halt", "--force"], p),
            snap_state(None), check_power(bench, running=False)),
        # hosted returns once each machine is off and unlocked (the next command can lock it):
        # the same floor, waiting for that too.
        Row("halt --force (3 running), floor waits off + unlocked", "halt-settled", spec,
            hosted_cmd(["halt", "--force"], p), snap_state(None), check_power(bench, running=False)),
        Row("destroy (3 powered off)", "destroy", spec, hosted_cmd(["destroy"], p, yes=True),
            lambda: bench.ensure(n, running=False), check_destroyed(bench, n)),
    ]


def scale_rows(bench: Bench, counts: list[int]) -> list[Row]:
    """status of n powered-off machines, for each n: how status grows with the environment."""
    def row(n: int) -> Row:
        return Row(f"status ({n} powered off)", "status", {"environment": ENV},
                   hosted_cmd(["status"], profile_path(bench.home, n, off=True)),
                   lambda: bench.ensure(n, running=False, off=True), check_listed(bench, n, "off"),
                   bench.remove_all)
    return [row(n) for n in counts]


def scaling(rows: list[Row]) -> str:
    """How much longer status of the most machines takes than of the fewest, on each side."""
    few, many = rows[0], rows[-1]
    hosted, floor = many.med("hosted") / few.med("hosted"), many.med("floor") / few.med("floor")
    verdict = "ok" if hosted <= SCALE_TARGET else "MISSED"
    return (f"{many.label} / {few.label}: hosted {hosted:.2f}x ({few.med('hosted'):.3f} -> "
            f"{many.med('hosted'):.3f} s), floor {floor:.2f}x ({few.med('floor'):.3f} -> "
            f"{many.med('floor'):.3f} s); target hosted <= {SCALE_TARGET}x: {verdict}")


def up_scaling(rows: list[Row]) -> str:
    """How much each extra machine adds to `up`, as a share of `up` of one machine, on each side."""
    few, many = rows[0], rows[-1]
    extra = len(many.spec["machines"]) - len(few.spec["machines"])

    def per_machine(side: str) -> float:
        return (many.med(side) - few.med(side)) / extra / few.med(side)

    hosted, floor = per_machine("hosted"), per_machine("floor")
    verdict = "ok" if hosted <= UP_SCALE_TARGET else "MISSED"
    return (f"{many.label} against {few.label}: each extra machine adds hosted {hosted:.0%} "
            f"({few.med('hosted'):.3f} -> {many.med('hosted'):.3f} s), floor {floor:.0%} "
            f"({few.med('floor'):.3f} -> {many.med('floor'):.3f} s); "
            f"target hosted <= {UP_SCALE_TARGET:.0%}: {verdict}")


ROW_KEYS = {"up": "up", "status": "status", "save": "snapshot save", "list": "snapshot list",
            "restore": "snapshot restore", "delete": "snapshot delete", "reset": "reset",
            "halt": "halt", "destroy": "destroy"}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per side and row (default 3)")
    parser.add_argument("--counts", default="1,3,10", help="machines for the `up` rows")
    parser.add_argument("--status-counts", default="3,50", help="powered-off machines for the `scale` rows")
    parser.add_argument("--only", default="", help=f"rows, comma-separated: {','.join(ROW_KEYS)},scale")
    parser.add_argument("--trace", action="store_true", help="one traced hosted run per row")
    args = parser.parse_args()
    keys = [k for k in args.only.split(",") if k] or [*ROW_KEYS, "scale"]
    only = [ROW_KEYS[k] for k in keys if k != "scale"]
    spawner()  # before this process grows
    load_at_start = loadavg()
    home = isolate("hosted-bench-floor-")
    bench = Bench(home, args.runs, args.trace)
    try:
        rows = up_rows(bench, [int(c) for c in args.counts.split(",")]) if "up" in only else []
        rows += [r for r in three_rows(bench) if any(r.label.startswith(o) for o in only)]
        scale = scale_rows(bench, [int(c) for c in args.status_counts.split(",")]) if "scale" in keys else []
        rows += scale
        for row in rows:
            bench.row(row)
        print(f"\n{args.runs} timed runs per side and row, alternating, after one warm-up each; "
              f"hosted {hosted_argv()[-1]}, {sys.executable} {sys.version.split()[0]}; "
              f"load average {load_at_start} at the start, {loadavg()} at the end\n")
        print(HEADER)
        for row in bench.results:
            print(row.line())
        ups = [r for r in bench.results if r.floor_op == "up"]
        if len(ups) > 1:
            print("\nscaling: " + up_scaling(ups))
        if len(scale) > 1:
            print(("" if len(ups) > 1 else "\n") + "scaling: " + scaling(scale))
        return 0 if all(all(r.verdicts()[1::2]) for r in bench.results) else 1
    finally:
        bench.remove_all()
        bench.box.close()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
