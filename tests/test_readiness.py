"""Readiness stages: VM state and guest properties with a fake clock and a stub
backend; TCP and SSH against real sockets (nothing listening, a listener that
never speaks, one that hangs up, and a real sshd)."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from ssh.sshd import Listener, Sshd, client_key_fixture, free_port, sshd_fixture, target_at  # noqa: F401

from hosted import readiness
from hosted.backend.base import GuestInfo
from hosted.errors import HostKeyMismatch, MachineNotFound, ReadinessTimeout
from hosted.events import Recorder
from hosted.model import PowerState, ReadySpec
from hosted.readiness import wait_ready
from hosted.ssh import SshTarget, connect

LOGS = {"serial": "/vms/web/serial.log", "vbox": "/vms/web/Logs/VBox.log"}
QUICK = ReadySpec(vm_running=10, guest_network=10, tcp=1.5, ssh=1.5)


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


class StubBackend:
    """Power states in turn (the last repeats); guest properties that appear at a clock time."""

    def __init__(self, clock: FakeClock | None = None, powers: tuple[PowerState, ...] = (PowerState.RUNNING,),
                 props: dict[str, tuple[float, str]] | None = None) -> None:
        self.clock = clock or FakeClock()
        self.powers = list(powers)
        self.props = props or {}

    def get_machine(self, uuid: str) -> SimpleNamespace:
        power = self.powers.pop(0) if len(self.powers) > 1 else self.powers[0]
        return SimpleNamespace(power=power)

    def wait_power(self, uuid: str, until: frozenset[PowerState], timeout: float) -> PowerState:
        """One state change per (fake) second, as events would bring them."""
        deadline = self.clock.now() + timeout
        while True:
            power = self.get_machine(uuid).power
            if power in until or self.clock.now() >= deadline:
                return power
            self.clock.sleep(1.0)

    def guest_info(self, uuid: str) -> GuestInfo:
        def now(name: str) -> str | None:
            at, value = self.props.get(name, (float("inf"), ""))
            return value if self.clock.now() >= at else None

        return GuestInfo(additions=now("additions"), ipv4=now("ipv4"))

    def log_paths(self, uuid: str) -> dict[str, str]:
        return LOGS


def _wait(backend: StubBackend, ready: ReadySpec, target: SshTarget | None = None,
          clock: readiness.Clock | None = None, rec: Recorder | None = None,
          login_only: bool = False) -> object:
    target = target or SshTarget("127.0.0.1", 1, "root", Path("/k"), Path("/kh"), "env/web")
    return wait_ready(backend, "uuid-1", "env/web", target, ready, rec or Recorder(),  # type: ignore[arg-type]
                      clock=clock or backend.clock, login_only=login_only)


def test_vm_running_passes_after_polls() -> None:
    backend = StubBackend(powers=(PowerState.STARTING, PowerState.STARTING, PowerState.RUNNING))
    rec = Recorder()
    with pytest.raises(ReadinessTimeout) as err:  # tcp: nothing on port 1
        _wait(backend, QUICK, rec=rec)
    assert err.value.stage == "tcp"
    stages = rec.messages("stage")
    assert stages[:2] == ["vm_running: waiting (up to 10 s)", "vm_running: passed after 2.0 s"]
    assert "guest_network: skipped, no Guest Additions reported" in rec.messages("info")


@pytest.mark.parametrize("power", [PowerState.ABORTED, PowerState.POWEROFF])
def test_vm_stopping_fails_at_once_naming_vbox_log(power: PowerState) -> None:
    backend = StubBackend(powers=(PowerState.STARTING, power))
    with pytest.raises(ReadinessTimeout) as err:
        _wait(backend, QUICK)
    assert err.value.stage == "vm_running" and err.value.waited == 1.0
    assert f"stopped while starting (state {power})" in err.value.message
    assert LOGS["vbox"] in err.value.hint and LOGS["serial"] in err.value.hint


def test_vm_never_running_times_out() -> None:
    with pytest.raises(ReadinessTimeout) as err:
        _wait(StubBackend(powers=(PowerState.STARTING,)), QUICK)
    assert (err.value.stage, err.value.waited) == ("vm_running", 10.0)
    assert "env/web: stage vm_running failed after 10 s" in err.value.message
    assert "state starting" in err.value.message


class UnregisteredBackend(StubBackend):
    """The machine was unregistered while it started: every call about it fails."""

    def wait_power(self, uuid: str, until: frozenset[PowerState], timeout: float) -> PowerState:
        raise MachineNotFound(f"no machine {uuid}")

    def log_paths(self, uuid: str) -> dict[str, str]:
        raise MachineNotFound(f"no machine {uuid}")


def test_vm_unregistered_while_starting_keeps_the_stage_message() -> None:
    with pytest.raises(ReadinessTimeout) as err:
        _wait(UnregisteredBackend(), QUICK)
    assert err.value.stage == "vm_running"
    assert "no longer registered in VirtualBox" in err.value.message


def test_guest_network_waits_for_an_address() -> None:
    clock = FakeClock()
    backend = StubBackend(clock, props={"additions": (0, "7.2.4"), "ipv4": (5, "10.0.2.15")})
    rec = Recorder()
    with pytest.raises(ReadinessTimeout):
        _wait(backend, QUICK, rec=rec)
    assert "guest_network: passed after 5.0 s (10.0.2.15)" in rec.messages("stage")


def test_guest_network_timeout_names_the_property_and_serial_log() -> None:
    backend = StubBackend(props={"additions": (0, "7.2.4")})
    with pytest.raises(ReadinessTimeout) as err:
        _wait(backend, QUICK)
    assert err.value.stage == "guest_network" and "no IPv4 address" in err.value.message
    assert LOGS["serial"] in err.value.hint


def test_tcp_nothing_listening(client_key: Path, tmp_path: Path) -> None:
    target = target_at(free_port(), client_key, tmp_path / "kh")
    began = time.monotonic()
    with pytest.raises(ReadinessTimeout) as err:
        _wait(StubBackend(), QUICK, target, readiness.REAL_CLOCK)
    assert err.value.stage == "tcp" and "Connection refused" in err.value.message
    assert 1.0 <= time.monotonic() - began < 3.0


def test_ssh_no_banner_is_one_long_attempt(client_key: Path, tmp_path: Path) -> None:
    with Listener("silent") as port:
        listener_target = target_at(port, client_key, tmp_path / "kh")
        with pytest.raises(ReadinessTimeout) as err:
            _wait(StubBackend(), QUICK, listener_target, readiness.REAL_CLOCK)
    assert err.value.stage == "ssh"
    assert "after 1 attempt(s); last error no-banner" in err.value.message
    assert "did sshd start" in err.value.hint
    assert 1.4 <= err.value.waited < 2.5


def test_ssh_closed_before_banner_is_retried(monkeypatch: pytest.MonkeyPatch, client_key: Path,
                                             tmp_path: Path) -> None:
    monkeypatch.setattr(readiness, "RETRY_PAUSE", 0.2)
    listener = Listener("close")
    with listener as port, pytest.raises(ReadinessTimeout) as err:
        _wait(StubBackend(), QUICK, target_at(port, client_key, tmp_path / "kh"), readiness.REAL_CLOCK)
    assert err.value.stage == "ssh" and "last error closed" in err.value.message
    assert listener.accepted >= 3  # tcp's socket, then one new connection per attempt


@pytest.mark.sshd
def test_real_sshd_passes_every_stage(sshd: Sshd, client_key: Path, tmp_path: Path) -> None:
    rec, timings = Recorder(), {}
    target = sshd.target(client_key, tmp_path / "kh", label="env/web")
    ready = ReadySpec(tcp=5, ssh=10, command="test -d /", command_timeout=5)
    began = time.monotonic()
    session = wait_ready(StubBackend(), "uuid-1", "env/web", target, ready, rec,  # type: ignore[arg-type]
                         timings=timings)
    elapsed = time.monotonic() - began
    with session:
        assert session.run("echo up") == (0, "up")
    passed = [m.split(":")[0] for m in rec.messages("stage") if "passed" in m]
    assert passed == ["vm_running", "guest_network", "tcp", "ssh", "command"]
    assert "ssh: SSH banner received" in rec.messages("stage")
    assert set(timings) == set(passed) and elapsed < 5


@pytest.mark.sshd
def test_ready_command_failing_names_its_output(monkeypatch: pytest.MonkeyPatch, sshd: Sshd,
                                                client_key: Path, tmp_path: Path) -> None:
    monkeypatch.setattr(readiness, "RETRY_PAUSE", 0.2)
    ready = ReadySpec(tcp=5, ssh=10, command="echo not yet; exit 4", command_timeout=1)
    with pytest.raises(ReadinessTimeout) as err:
        _wait(StubBackend(), ready, sshd.target(client_key, tmp_path / "kh"), readiness.REAL_CLOCK)
    assert err.value.stage == "command"
    assert "still exits 4; its last output: not yet" in err.value.message


@pytest.mark.sshd
def test_refused_key_is_reported_as_auth(monkeypatch: pytest.MonkeyPatch, sshd: Sshd,
                                         tmp_path: Path) -> None:
    from hosted.ssh import ensure_keypair

    monkeypatch.setattr(readiness, "RETRY_PAUSE", 0.5)
    target = sshd.target(ensure_keypair("unauthorised"), tmp_path / "kh")
    with pytest.raises(ReadinessTimeout) as err:
        _wait(StubBackend(), ReadySpec(tcp=5, ssh=2), target, readiness.REAL_CLOCK)
    assert err.value.stage == "ssh" and "last error auth" in err.value.message
    assert "authorized_keys" in err.value.hint


@pytest.mark.sshd
def test_host_key_mismatch_fails_at_once(sshd: Sshd, client_key: Path, tmp_path: Path) -> None:
    target = sshd.target(client_key, tmp_path / "kh")
    connect(target, timeout=10).close()
    sshd.restart_with_new_host_key()
    began = time.monotonic()
    with pytest.raises(HostKeyMismatch):
        _wait(StubBackend(), ReadySpec(tcp=5, ssh=30), target, readiness.REAL_CLOCK)
    assert time.monotonic() - began < 5


# After a live snapshot is restored the guest already runs: one login, no boot stages.

@pytest.mark.sshd
def test_login_only_is_one_login_without_boot_stages(sshd: Sshd, client_key: Path, tmp_path: Path) -> None:
    rec, timings = Recorder(), {}
    target = sshd.target(client_key, tmp_path / "kh", label="env/web")
    backend = StubBackend(props={"additions": (0, "7.2"), "ipv4": (1e9, "")})  # guest_network would stall
    began = time.monotonic()
    session = wait_ready(backend, "uuid-1", "env/web", target, ReadySpec(ssh=10), rec,  # type: ignore[arg-type]
                         timings=timings, login_only=True)
    with session:
        assert session.run("echo up") == (0, "up")
    stages = rec.messages("stage")
    assert [m.split(":")[0] for m in stages if "passed" in m] == ["login"]
    assert "login: SSH banner received" in stages and set(timings) == {"login"}
    assert time.monotonic() - began < 5


@pytest.mark.sshd
def test_login_only_runs_the_ready_command_once(sshd: Sshd, client_key: Path, tmp_path: Path) -> None:
    rec = Recorder()
    target = sshd.target(client_key, tmp_path / "kh")
    ready = ReadySpec(ssh=10, command="test -d /", command_timeout=5)
    wait_ready(StubBackend(), "uuid-1", "env/web", target, ready, rec,  # type: ignore[arg-type]
               login_only=True).close()
    assert [m.split(":")[0] for m in rec.messages("stage") if "passed" in m] == ["login", "command"]


def test_login_only_falls_back_to_the_boot_stages_when_the_login_fails(
        monkeypatch: pytest.MonkeyPatch, client_key: Path, tmp_path: Path) -> None:
    monkeypatch.setattr(readiness, "NAT_SETUP", 0.6)  # refused connects are tried again this long
    rec = Recorder()
    began = time.monotonic()
    target = target_at(free_port(), client_key, tmp_path / "kh")  # nothing listens
    with pytest.raises(ReadinessTimeout) as err:
        _wait(StubBackend(), QUICK, target, readiness.REAL_CLOCK, rec=rec, login_only=True)
    assert err.value.stage == "tcp"  # the full wait went on after the one login failed
    assert time.monotonic() - began >= 1.0  # 0.6 s of refused logins, then the tcp stage
    stages = rec.messages("stage")
    assert any(m.startswith("login: one login failed (refused") and "as after a boot" in m for m in stages)
    assert any(m.startswith("vm_running: passed") for m in stages)


def test_login_only_on_a_stopped_machine_fails_at_once(client_key: Path, tmp_path: Path) -> None:
    backend = StubBackend(powers=(PowerState.POWEROFF,))
    with pytest.raises(ReadinessTimeout) as err:
        _wait(backend, QUICK, target_at(free_port(), client_key, tmp_path / "kh"), login_only=True)
    assert err.value.stage == "login" and "not running after its restore" in err.value.message
    assert "VBox.log" in err.value.hint and err.value.waited == 0
