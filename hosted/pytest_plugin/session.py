"""The test session's environment: brought up once, its machines handed to tests,
the machines tests used put back to their baseline, destroyed at the end.

A machine is *dirty* once a test has used it (asked for it, ran a command,
copied a file, read a port).  Before a test that wants a clean machine, every
dirty machine goes back to its ``baseline`` snapshot in one ``hosted.reset``
(machines in parallel), then is logged in again, in parallel too: after a live
snapshot the guest already runs, so that one login is all the waiting there is.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path

import hosted
from hosted.api import ssh_targets
from hosted.backend.base import Backend
from hosted.errors import HostedError, MachineNotFound
from hosted.events import Event
from hosted.model import Environment, MachineSpec
from hosted.pytest_plugin.handle import Machine
from hosted.pytest_plugin.report import log_tail
from hosted.readiness import wait_ready
from hosted.remote import Remote
from hosted.run import RunResult
from hosted.snapshots import BASELINE
from hosted.ssh import SshSession, SshTarget

log = logging.getLogger("hosted.pytest")
log.setLevel(logging.INFO)  # the steps and stages show under "Captured log" in a failed test's report
SERIAL_KEPT = 400  # lines of each machine's serial log kept across resets
LOGGED = frozenset({"step-started", "step-finished", "stage", "info", "warning", "output"})


class SessionError(Exception):
    """Bringing the environment up, or resetting it, failed; the message says how, for a test report."""


def needs_wait(spec: MachineSpec) -> bool:
    """After a restore, does the machine need hosted's own readiness and provisioning run?"""
    return spec.ready.command is not None or any(p.run == "always" for p in spec.provision)


class HostedSession:
    def __init__(self, env: Environment, *, keep: bool) -> None:
        self.env = env
        self.keep = keep
        self.machines = {m.name: Machine(self, m) for m in env.machines if m.state == "running"}
        self.dirty: set[str] = set()
        self.used: set[str] = set()  # by the test that runs now
        self.started = False
        self._backend: Backend | None = None
        self._ports: dict[tuple[str, int, str], int] = {}
        self._lock = threading.Lock()
        # VirtualBox starts the serial log afresh whenever the machine starts, a restore included:
        # its lines from before the last reset, kept for a failure report.
        self.serial_before: dict[str, str] = {}

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            self._backend = hosted.connect(on_event=_log_event)
        return self._backend

    def start(self) -> None:
        """``hosted up``; a machine whose baseline was there before may be dirty (kept from a run)."""
        self.started = True
        had = {m.machine for m in hosted.snapshot_list(self.env, backend=self.backend)
               if any(n.info.name == BASELINE for n in m.nodes)}
        _check("bringing the environment up", hosted.up(self.env, yes=True, backend=self.backend,
                                                        on_event=_log_event))
        self.dirty = had & set(self.machines)

    def stop(self) -> None:
        for machine in self.machines.values():
            machine.close()
        try:
            if self.started and not self.keep:
                _check("destroying the environment", hosted.destroy(self.env, yes=True, backend=self.backend,
                                                                    on_event=_log_event))
        finally:
            if self._backend is not None:
                self._backend.close()
                self._backend = None

    def machine(self, name: str) -> Machine:
        found = self.machines.get(name)
        if found is None:
            running = ", ".join(self.machines) or "none"
            raise LookupError(f"no running machine {name!r} in profile {self.env.path} (running: {running})")
        self.touch(name)
        return found

    def touch(self, name: str) -> None:
        with self._lock:
            self.used.add(name)
            self.dirty.add(name)

    def reset_dirty(self) -> list[str]:
        """Every dirty machine back to its baseline (in parallel); the names reset."""
        with self._lock:
            names = [n for n in self.machines if n in self.dirty]
        if names:
            self.reset(names)
        return names

    def reset(self, names: Sequence[str]) -> None:
        for name in names:
            self._keep_serial(name)
        specs = [self.machines[n].spec for n in names]
        result = hosted.reset(self.env, names, yes=True, wait=any(needs_wait(s) for s in specs),
                              backend=self.backend, on_event=_log_event)
        _check(f"resetting {', '.join(names)} to {BASELINE!r}", result)
        with self._lock:
            self.dirty.difference_update(names)
            self._ports = {k: v for k, v in self._ports.items() if k[0] not in names}
        uuids = {m.label: m.uuid for m in self.backend.list_machines(self.env.name)}
        targets = dict(zip(names, ssh_targets(self.env, names, self.backend), strict=True))
        with ThreadPoolExecutor(max_workers=len(names), thread_name_prefix="hosted-login") as pool:
            logins = [pool.submit(self.machines[n].login, partial(self._login, n, uuids.get(n), targets[n]))
                      for n in names]
            for done in logins:
                done.result()

    def _login(self, name: str, uuid: str | None, target: SshTarget | HostedError) -> SshSession:
        """The login after a live restore: what ``hosted reset``'s readiness does (one login; the
        boot stages only if it fails, e.g. while VirtualBox's NAT does not listen yet)."""
        if isinstance(target, HostedError):
            raise target
        if uuid is None:
            raise MachineNotFound(f"{name} vanished while it was being reset", "`hosted status` shows it")
        ready = replace(self.machines[name].spec.ready, command=None)  # hosted.reset ran it if any
        return wait_ready(self.backend, uuid, name, target, ready, _log_event, login_only=True)

    def _keep_serial(self, name: str) -> None:
        serial = self.log_paths(name).get("serial")
        if serial:
            before = self.serial_before.get(name, "")
            now = log_tail(Path(serial), SERIAL_KEPT)
            marker = "[hosted: restored to 'baseline' here; VirtualBox starts the serial log afresh]"
            joined = "\n".join(x for x in (before, now, marker) if x)
            self.serial_before[name] = "\n".join(joined.splitlines()[-SERIAL_KEPT:])

    def open_remote(self, name: str) -> Remote:
        spec = self.machines[name].spec
        return hosted.open_remote(self.env, name, timeout=spec.ready.ssh, backend=self.backend)

    def port(self, name: str, guest_port: int, protocol: str) -> int:
        key = (name, guest_port, protocol)
        if key not in self._ports:
            self._ports[key] = hosted.forwarded_port(self.env, name, guest_port, protocol=protocol,
                                                     backend=self.backend)
        return self._ports[key]

    def log_paths(self, name: str) -> dict[str, str]:
        paths = {"provision": str(hosted.provision_log(self.env, name))}
        # The machine may be gone, or never made: the provisioning log may still tell.
        with contextlib.suppress(HostedError):
            paths.update(hosted.log_paths(self.env, name, backend=self.backend))
        return paths


def _check(what: str, result: RunResult) -> None:
    if result.ok:
        return
    lines = [f"hosted: {what} failed"]
    for failed in result.failed:
        error = failed.error
        lines.append(f"  {failed.machine}: {error.message if error else 'failed'}")
        if error is not None and error.hint:
            lines.extend("    " + line for line in error.hint.splitlines())
    raise SessionError("\n".join(lines))


def _log_event(event: Event) -> None:
    if event.kind in LOGGED:
        log.info("%s%s", f"{event.machine}: " if event.machine else "", event.message)

