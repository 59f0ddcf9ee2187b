"""Staged waits until a booted machine can be provisioned, each stage with its
own timeout and its own failure message, so a stall says where it stalled.

1. ``vm_running``: VirtualBox reports the machine running (fails at once if
   it powers off or aborts, naming VBox.log).
2. ``guest_network``: Guest Additions report an IPv4 address (skipped when
   the machine has no Guest Additions).
3. ``tcp``: the forwarded SSH port accepts a connection.  Under VirtualBox
   NAT this passes as soon as the VM runs: NAT accepts on the host side and
   holds the connection until the guest listens, so only stage 4 proves sshd.
4. ``ssh``: the SSH banner arrives and the key login succeeds, on the socket
   of stage 3 first.  One attempt at a time with a long timeout: each probe
   connection costs a slow guest seconds of CPU.
5. ``command``: the profile's ``ready.command`` exits 0 (optional).

After a live snapshot was restored (``login_only``) there is no boot to wait
for: the guest runs as it did when the snapshot was taken.  Stage ``login``
checks that VirtualBox reports it running and makes ONE SSH login, with no
guest-network or TCP stage and no pause; only if that login fails does the
wait go on through the stages above, as after a boot.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from hosted import ssh
from hosted.backend.base import Backend
from hosted.clock import REAL_CLOCK, Clock
from hosted.errors import HostedError, MachineNotFound, ReadinessTimeout, SshError
from hosted.events import Emit, Event
from hosted.model import PowerState, ReadySpec
from hosted.ssh import SshConnectFailed, SshSession, SshTarget

POLL = 1.0  # seconds between backend polls and refused TCP connects
RETRY_PAUSE = 2.0  # after an SSH attempt failed quickly (closed before banner, auth refused)
# After a resume VirtualBox's NAT may take a moment to listen on the forwarded port again.  A refused
# connect costs the guest nothing (the host refuses it), so the login stage tries again at once.
NAT_SETUP = 30.0
REFUSED_PAUSE = 0.2
FAILED_STATES = (PowerState.POWEROFF, PowerState.ABORTED, PowerState.SAVED)
VM_RUNNING_ENDS = frozenset({PowerState.RUNNING, *FAILED_STATES})


Connect = Callable[[SshTarget, float, socket.socket | None], SshSession]


@dataclass
class _Wait:
    """One machine's staged wait, with what it has seen so far."""
    backend: Backend
    uuid: str
    label: str
    emit: Emit
    clock: Clock
    began: float = 0.0
    stage_began: float = 0.0
    stage: str = ""
    timings: dict[str, float] = field(default_factory=dict)

    def start(self, stage: str, timeout: float) -> float:
        """Announce ``stage``; returns its deadline."""
        self.stage, self.stage_began = stage, self.clock.now()
        self._event(f"{stage}: waiting (up to {timeout:.0f} s)", limit=timeout)
        return self.stage_began + timeout

    def passed(self, detail: str = "") -> None:
        took = self.clock.now() - self.stage_began
        self.timings[self.stage] = took
        self._event(f"{self.stage}: passed after {took:.1f} s" + (f" ({detail})" if detail else ""))

    def progress(self, message: str) -> None:
        self._event(f"{self.stage}: {message}")

    def fail(self, problem: str, look_at: str = "") -> ReadinessTimeout:
        waited = self.clock.now() - self.stage_began
        try:
            logs = self.backend.log_paths(self.uuid)
        except HostedError:  # e.g. the machine is gone: the stage's own message matters more
            logs = {}
        files = [f"{what} log {path}" for what, path in sorted(logs.items())]
        hint = "; ".join(x for x in (look_at, "look at the " + ", ".join(files) if files else "") if x)
        return ReadinessTimeout(f"{self.label}: stage {self.stage} failed after {waited:.0f} s: {problem}",
                                hint, stage=self.stage, waited=waited)

    def _event(self, message: str, limit: float | None = None) -> None:
        self.emit(Event("stage", message, machine=self.label, seconds=self.clock.now() - self.began,
                        limit=limit))


def wait_ready(backend: Backend, uuid: str, machine_label: str, target: SshTarget, ready: ReadySpec,
               emit: Emit, clock: Clock = REAL_CLOCK, connect: Connect = ssh.connect,
               timings: dict[str, float] | None = None, *, login_only: bool = False) -> SshSession:
    """Wait through every stage; returns the logged-in session (the caller closes it).

    Raises ReadinessTimeout naming the stage that stalled, HostKeyMismatch when
    the machine presents a key other than the pinned one.  ``emit`` gets a
    ``stage`` event as each stage starts and passes; ``seconds`` is the time
    since the wait began.  ``timings``, if given, receives each passed stage's seconds.
    ``login_only``: the guest already runs (a live snapshot was restored): one login
    confirms it (stage ``login``), and the boot stages follow only if it fails.
    """
    wait = _Wait(backend, uuid, machine_label, emit, clock, began=clock.now(),
                 timings=timings if timings is not None else {})
    session = wait_login(wait, target, ready, connect) if login_only else None
    if session is None:
        wait_vm_running(wait, ready.vm_running)
        wait_guest_network(wait, ready.guest_network)
        sock = wait_tcp(wait, target, ready.tcp)
        session = wait_ssh(wait, target, ready.ssh, sock, connect)
    try:
        if ready.command:
            wait_command(wait, session, ready.command, ready.command_timeout)
    except BaseException:
        session.close()
        raise
    return session


def wait_login(wait: _Wait, target: SshTarget, ready: ReadySpec, connect: Connect) -> SshSession | None:
    """One login into a guest that already runs; None when it failed in a way a boot
    could explain (the caller then waits through every stage)."""
    deadline = wait.start("login", ready.ssh)
    try:
        power = wait.backend.wait_power(wait.uuid, VM_RUNNING_ENDS, min(ready.vm_running, 5.0))
    except MachineNotFound:
        raise wait.fail("the machine is no longer registered in VirtualBox") from None
    if power != PowerState.RUNNING:
        raise wait.fail(f"the machine is not running after its restore (state {power})",
                        "VBox.log says why VirtualBox stopped it")
    refused_until = min(deadline, wait.clock.now() + NAT_SETUP)
    while True:
        try:
            return _attempt_ssh(wait, target, deadline, None, connect)
        except SshConnectFailed as exc:
            if exc.reason == "refused" and wait.clock.now() + REFUSED_PAUSE < refused_until:
                wait.clock.sleep(REFUSED_PAUSE)
                continue
            wait.progress(f"one login failed ({exc.reason}: {exc.message}); waiting as after a boot")
            return None


def wait_vm_running(wait: _Wait, timeout: float) -> None:
    # Event-driven in the backend: returns the moment the state changes.
    deadline = wait.start("vm_running", timeout)
    try:
        power = wait.backend.wait_power(wait.uuid, VM_RUNNING_ENDS, max(deadline - wait.clock.now(), 0.0))
    except MachineNotFound:
        raise wait.fail("the machine is no longer registered in VirtualBox") from None
    if power == PowerState.RUNNING:
        return wait.passed()
    if power in FAILED_STATES:
        raise wait.fail(f"the machine stopped while starting (state {power})",
                        "VBox.log says why VirtualBox stopped it")
    raise wait.fail(f"VirtualBox did not report it running within {timeout:.0f} s (state {power})")


def wait_guest_network(wait: _Wait, timeout: float) -> None:
    deadline = wait.start("guest_network", timeout)
    if wait.backend.guest_info(wait.uuid).additions is None:
        wait.emit(Event("info", "guest_network: skipped, no Guest Additions reported",
                        machine=wait.label))
        return wait.passed("skipped")
    while True:
        address = wait.backend.guest_info(wait.uuid).ipv4
        if address:
            return wait.passed(address)
        if wait.clock.now() >= deadline:
            raise wait.fail("the Guest Additions reported no IPv4 address for the first adapter",
                            "the serial log shows whether the guest's network came up")
        wait.clock.sleep(POLL)


def wait_tcp(wait: _Wait, target: SshTarget, timeout: float) -> socket.socket:
    deadline = wait.start("tcp", timeout)
    while True:
        remaining = max(deadline - wait.clock.now(), 0.1)
        try:
            sock = socket.create_connection((target.host, target.port), timeout=min(remaining, 30.0))
        except OSError as exc:
            if wait.clock.now() + POLL > deadline:
                raise wait.fail(f"nothing accepted a connection on {target.host}:{target.port} "
                                f"(last error: {exc})",
                                "check that the machine forwards this port to the guest's SSH port"
                                ) from exc
            wait.clock.sleep(POLL)
            continue
        wait.passed(f"{target.host}:{target.port}")
        return sock


def wait_ssh(wait: _Wait, target: SshTarget, timeout: float, sock: socket.socket | None,
             connect: Connect) -> SshSession:
    deadline = wait.start("ssh", timeout)
    attempts, last = 0, "no attempt finished"
    while True:
        attempts += 1
        try:
            return _attempt_ssh(wait, target, deadline, sock, connect)
        except SshConnectFailed as exc:
            last = f"{exc.reason}: {exc.message}"
        finally:
            sock = None  # the stage-3 socket is used once
        if wait.clock.now() + RETRY_PAUSE >= deadline:
            raise wait.fail(f"no SSH login after {attempts} attempt(s); last error {last}",
                            _ssh_advice(last))
        wait.progress(f"attempt {attempts} failed ({last}); trying again")
        wait.clock.sleep(RETRY_PAUSE)


def _attempt_ssh(wait: _Wait, target: SshTarget, deadline: float, sock: socket.socket | None,
                 connect: Connect) -> SshSession:
    """One connection: banner, then key exchange and login, within what is left of the stage."""
    if sock is None:
        sock = ssh.open_socket(target, max(deadline - wait.clock.now(), 0.1))
    try:
        ssh.await_banner(sock, target, max(deadline - wait.clock.now(), 0.1))
    except BaseException:
        sock.close()
        raise
    wait.progress("SSH banner received")
    session = connect(target, max(deadline - wait.clock.now(), 1.0), sock)
    wait.passed(f"logged in as {target.user}")
    return session


def _ssh_advice(last: str) -> str:
    if last.startswith("auth"):
        return "the guest's sshd answers but refuses the key: is its public key in authorized_keys?"
    if last.startswith("no-banner"):
        return "the port accepts connections but no SSH server answers: did sshd start in the guest?"
    return "the serial log shows how far the guest booted"


def wait_command(wait: _Wait, session: SshSession, command: str, timeout: float) -> None:
    deadline = wait.start("command", timeout)
    while True:
        remaining = max(deadline - wait.clock.now(), 1.0)
        try:
            status, tail = session.run(command, timeout=remaining)
        except SshError as exc:
            raise wait.fail(f"ready command {command!r}: {exc.message}") from exc
        if status == 0:
            return wait.passed()
        if wait.clock.now() + RETRY_PAUSE >= deadline:
            raise wait.fail(f"ready command {command!r} still exits {status}"
                            + (f"; its last output: {tail}" if tail else ""))
        wait.clock.sleep(RETRY_PAUSE)
