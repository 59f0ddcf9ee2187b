"""Where a `hosted` command's time goes: a timeline of one CLI process, without editing hosted.

    python bench/hosted_trace.py OUT.json HOSTED-ARGS...     (the child: runs the CLI, writes OUT)

``traced(args)`` runs that child and ``report_trace`` prints the timeline:
from the parent's spawn to the interpreter running this file, to hosted's
``main``, loading the profile, ``connect`` (finding VirtualBox, importing
vboxapi, creating the manager, the first call to VBoxSVC), every call of the
VirtualBox backend (per thread) and the end.  Resident memory (RSS) is read
at each mark.

Functions are wrapped as their modules are imported (an import hook), so
importing happens in hosted's own order and its cost stays where it is.  A
function the current code does not have is skipped: the CLI is being
reworked.  CLOCK_MONOTONIC is system-wide on Linux, so the parent's spawn
time and the child's marks share a clock.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

T_START = time.monotonic()

# module -> functions (or Class.method) to time; "Class.*" times every public method
TIMED: dict[str, tuple[str, ...]] = {
    "hosted.cli.profile_cmds": ("load",),
    "hosted.profile": ("load_profile", "find_profile"),
    "hosted.backend.virtualbox": ("connect",),
    "hosted.backend.virtualbox.locate": ("import_vboxapi", "require_install"),
    "hosted.backend.virtualbox.connection": ("manager", "virtualbox"),
    "hosted.backend.virtualbox.backend": ("VirtualBoxBackend.*",),
    "hosted.cli.console": ("run_guarded",),
    # reported call by call: the plan, the runner, and inside the backend (wrapped where they are
    # defined, so the modules that import them by name get the wrapper)
    "hosted.planner.up": ("plan", "plan_reload"),
    "hosted.planner.power": ("plan_destroy", "plan_halt"),
    "hosted.run.runner": ("run",),
    "hosted.backend.virtualbox.session": ("lock", "wait_unlocked"),
    "hosted.backend.virtualbox.statewait": ("wait_power",),
    "hosted.backend.virtualbox.observe": ("observe", "host_ports"),
    "hosted.backend.virtualbox.translate": ("wait_progress",),
    "hosted.backend.virtualbox.power": ("_power_down", "_destroy"),
    "hosted.backend.virtualbox.netstate": ("release_machine",),
    "hosted.backend.virtualbox.natnet": ("drop_machine_rules",),
    "hosted.backend.virtualbox.dhcp": ("forget_macs",),
    "hosted.backend.virtualbox.disks": ("shared_paths", "last_users_disks"),
    "hosted.backend.virtualbox.removal": ("forget_broken_chains", "delete_files"),
    "hosted.backend.virtualbox.create": ("check_name", "_skeleton"),
    "hosted.backend.virtualbox.edits": ("apply_keys", "set_serial_log"),
    "hosted.backend.virtualbox.storage": ("create_disk", "ensure_dvd_drive"),
}
MILESTONES = {"load", "load_profile", "find_profile", "connect", "import_vboxapi", "require_install",
              "manager", "virtualbox", "run_guarded"}
HEAVY = ("rich", "yaml", "pydantic", "pydantic_core", "paramiko", "cryptography", "vboxapi", "xpcom",
         "jsonschema", "typing_extensions", "annotated_types", "concurrent", "email", "http", "ssl")


def rss_mb() -> float:
    try:
        with open("/proc/self/statm", encoding="utf-8") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return 0.0


class Recorder:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def mark(self, name: str) -> None:
        with self.lock:
            self.events.append({"name": name, "thread": threading.current_thread().name,
                                "start": time.monotonic(), "end": None, "rss": rss_mb(),
                                "cpu": time.process_time()})

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            event = {"name": name, "thread": threading.current_thread().name, "start": time.monotonic(),
                     "end": None, "rss": 0.0, "cpu": time.process_time()}
            try:
                return fn(*args, **kwargs)
            finally:
                event["end"] = time.monotonic()
                event["rss"] = rss_mb()
                event["cpu_end"] = time.process_time()
                with self.lock:
                    self.events.append(event)
        timed.__wrapped__ = fn  # type: ignore[attr-defined]
        return timed

    def patch(self, module: Any) -> None:
        for target in TIMED.get(module.__name__, ()):
            owner_name, _, attr = target.rpartition(".")
            owner = getattr(module, owner_name, None) if owner_name else module
            if owner is None:
                continue
            names = [n for n in vars(owner) if not n.startswith("_") and callable(getattr(owner, n))] \
                if attr == "*" else [attr]
            for n in names:
                fn = getattr(owner, n, None)
                if callable(fn):
                    setattr(owner, n, self.wrap(f"{owner_name + '.' if owner_name else ''}{n}", fn))


def install_hook(rec: Recorder) -> None:
    import importlib.abc
    import importlib.machinery

    class Hook(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
            if fullname not in TIMED:
                return None
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
            if spec is None or spec.loader is None:
                return spec
            loader_exec = spec.loader.exec_module

            def exec_module(module: Any) -> None:
                loader_exec(module)
                rec.patch(module)

            spec.loader.exec_module = exec_module  # type: ignore[method-assign]
            return spec

    sys.meta_path.insert(0, Hook())


# --- what-ifs: the same run with one cost taken away, to size an optimisation before making it ---

def stub_ssh_stack() -> None:
    """paramiko and cryptography (and what they pull in) never imported: hosted uses them only
    inside SSH functions; the modules that import them at the top get empty stand-ins."""
    import importlib.abc
    import importlib.machinery

    class Missing:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError("stubbed out by bench/hosted_trace.py")

    class Stubs(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
            if fullname.split(".")[0] not in ("paramiko", "cryptography"):
                return None
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

        def create_module(self, spec: Any) -> None:
            return None

        def exec_module(self, module: Any) -> None:
            module.__path__ = []
            module.__getattr__ = lambda name: Missing

    sys.meta_path.insert(0, Stubs())


def cached_profile(pickled: str) -> None:
    """The profile comes from a pickle of the Environment hosted built (a compiled-once cache):
    no YAML parsing, no pydantic."""
    import pickle
    import types
    from pathlib import Path

    with open(pickled, "rb") as f:
        env = pickle.load(f)
    loader = types.ModuleType("hosted.profile.loader")
    # Any signature the loader's callers use (path, environ, cwd, cache, ...).
    loader.load_profile = lambda *args, **kwargs: env  # type: ignore[attr-defined]
    loader.load_bytes = lambda *args, **kwargs: env  # type: ignore[attr-defined]  # the cache's miss
    loader.find_profile = lambda path=None, *args, **kwargs: Path(path or "hosted.yaml")  # type: ignore[attr-defined]
    sys.modules["hosted.profile.loader"] = loader


def fast_exit(code: int) -> None:
    """atexit handlers (vboxapi's deinit), flush, then os._exit: no interpreter finalisation."""
    import atexit

    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def child(out: str, args: list[str]) -> int:
    rec = Recorder()
    rec.events.append({"name": "interpreter ready", "thread": "MainThread", "start": T_START,
                       "end": None, "rss": rss_mb(), "cpu": time.process_time()})
    whatif = dict(w.partition("=")[::2] for w in os.environ.get("HOSTED_TRACE_WHATIF", "").split(",") if w)
    if "no-ssh-stack" in whatif:
        stub_ssh_stack()
    if "profile-cache" in whatif:
        cached_profile(whatif["profile-cache"])
    install_hook(rec)
    code = 1
    try:
        import inspect

        from hosted.cli.main import main

        rec.mark("hosted.cli.main imported")
        # As the console script runs it (its code cache, no collection while importing), where
        # hosted has that.
        script = {"script": True} if "script" in inspect.signature(main).parameters else {}
        code = main(args, **script)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        rec.mark("main returned")
        heavy = sorted({m.split(".")[0] for m in sys.modules} & set(HEAVY))
        with open("/proc/self/status", encoding="utf-8") as f:
            hwm = int(f.read().split("VmHWM:")[1].split()[0]) / 1024
        with open(out, "w", encoding="utf-8") as f:
            json.dump({"events": rec.events, "modules": len(sys.modules), "heavy": heavy, "code": code,
                       "peak_mb": hwm}, f)
    if "fast-exit" in whatif:
        fast_exit(code)
    try:  # leave as the console script does (hosted.cli.main.run), where hosted has that
        from hosted.cli.leave import leave
    except ImportError:
        return code
    with contextlib.suppress(ImportError):
        from hosted.cli import codecache

        codecache.save(code)
    leave(code)


# --- the parent side ---

def traced(args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``hosted ARGS`` traced; the trace, with ``spawn`` and ``exit`` (parent's clock) added."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryFile() as output:
        out = os.path.join(tmp, "trace.json")
        t0 = time.monotonic()
        proc = subprocess.Popen([sys.executable, __file__, out, *args], stdout=output,
                                stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)  # CPU time is the child's own (its maxrss is not)
        t1 = time.monotonic()
        proc.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read().decode(errors="replace")
        if not os.path.exists(out):
            raise SystemExit(f"traced hosted {' '.join(args)} wrote no trace:\n{text}")
        with open(out, encoding="utf-8") as f:
            trace: dict[str, Any] = json.load(f)
    trace.update(spawn=t0, exit=t1, rc=proc.returncode, output=text, cpu=usage.ru_utime + usage.ru_stime)
    return trace


def first(trace: dict[str, Any], name: str, key: str = "start") -> float | None:
    found = [e[key] for e in trace["events"] if e["name"] == name and e[key] is not None]
    return min(found) - trace["spawn"] if found else None


def milestones(trace: dict[str, Any]) -> list[tuple[str, float | None]]:
    """Seconds since spawn at which each milestone was reached."""
    return [
        ("interpreter ready (this file runs)", first(trace, "interpreter ready")),
        ("hosted.cli.main imported", first(trace, "hosted.cli.main imported")),
        ("profile loading starts", first(trace, "load_profile")),
        ("profile loaded", first(trace, "load_profile", "end")),
        ("connect() called: first VirtualBox work", first(trace, "connect")),
        ("vboxapi imported", first(trace, "import_vboxapi", "end")),
        ("VirtualBoxManager created", first(trace, "manager", "end")),
        ("first call to VBoxSVC answered", first(trace, "virtualbox", "end")),
        ("connected", first(trace, "connect", "end")),
        ("main returned", first(trace, "main returned")),
        ("process exited", trace["exit"] - trace["spawn"]),
    ]


def report_trace(trace: dict[str, Any]) -> str:
    lines = [f"  traced `hosted` (rc {trace['rc']}): seconds since spawn (process CPU s so far, RSS MB)"]
    at_mark = {e["name"]: (e.get("cpu_end", e.get("cpu", 0.0)), e["rss"]) for e in trace["events"]}
    mark_of = {"profile loaded": "load_profile", "connected": "connect", "main returned": "main returned",
               "hosted.cli.main imported": "hosted.cli.main imported",
               "interpreter ready (this file runs)": "interpreter ready"}
    for label, at in milestones(trace):
        if at is not None:
            cpu, mem = at_mark.get(mark_of.get(label, ""), (None, None))
            extra = f"  ({cpu:.3f} CPU s, {mem:.0f} MB)" if cpu is not None else ""
            lines.append(f"    {at:7.3f}  {label}{extra}")
    calls: dict[tuple[str, str], list[float]] = {}
    for e in trace["events"]:
        if e["end"] is not None and e["name"] not in MILESTONES:
            thread = "main" if e["thread"] == "MainThread" else "workers"
            calls.setdefault((e["name"].replace("VirtualBoxBackend.", "backend."), thread), []).append(
                e["end"] - e["start"])
    if calls:
        lines.append("    backend calls, and inside them (thread: count x median, max = total s):")
        for (name, thread), t in sorted(calls.items(), key=lambda kv: -sum(kv[1])):
            t.sort()
            lines.append(f"      {name:24} {thread:7} {len(t):3} x {t[len(t) // 2]:.3f}, {t[-1]:.3f} "
                         f"= {sum(t):.3f}")
    lines.append(f"    heavy packages imported: {', '.join(trace['heavy']) or '-'}; "
                 f"{trace['modules']} modules in all")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(child(sys.argv[1], sys.argv[2:]))
