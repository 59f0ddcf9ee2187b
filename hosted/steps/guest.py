"""Steps inside a running guest: wait until it is ready, provision it, keep a baseline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from hosted.steps.base import Step


@dataclass(frozen=True, kw_only=True)
class WaitReady(Step):
    """The staged wait (VM running, guest network, TCP, SSH login, ready command).

    ``login_only``: the guest is known to run already (a live snapshot was just
    restored), so one SSH login confirms it; there is no boot to wait for.
    """

    timeout: float  # the SSH stage's, the longest a booted guest may take
    command: str | None = None  # the profile's ready.command
    login_only: bool = False
    kind: ClassVar[str] = "wait-ready"
    phase: ClassVar[str] = "ready"

    def summary(self) -> str:
        what = "check the SSH login" if self.login_only else "wait for SSH"
        text = f"{what} (≤ {self.timeout:.0f} s)"
        return text + (f", then `{self.command}`" if self.command else "")


@dataclass(frozen=True, kw_only=True)
class Provision(Step):
    """One provisioning step, over the session WaitReady opened."""

    step: str  # the provisioning step's name
    provisioner: str  # "shell", "file"
    fingerprint: str  # the step and its files now; recorded when it succeeds (run: once)
    kind: ClassVar[str] = "provision"
    phase: ClassVar[str] = "provision"

    def summary(self) -> str:
        return f"provision {self.step}"


@dataclass(frozen=True, kw_only=True)
class TakeBaseline(Step):
    """The 'baseline' snapshot `hosted reset` returns to, taken once the machine is ready."""

    name: str = "baseline"
    kind: ClassVar[str] = "take-baseline"
    phase: ClassVar[str] = "baseline"

    def summary(self) -> str:
        return f"take the {self.name!r} snapshot"


@dataclass(frozen=True, kw_only=True)
class SetHostname(Step):
    """The guest's host name, set over SSH (idempotent: a guest that has it already is left alone)."""

    hostname: str
    fingerprint: str  # recorded on the machine once set
    kind: ClassVar[str] = "set-hostname"
    phase: ClassVar[str] = "network"

    def summary(self) -> str:
        return f"set the host name to {self.hostname}"


@dataclass(frozen=True, kw_only=True)
class RebootGuest(Step):
    """Reboot the guest from inside (after the provisioning step ``after``) and wait until it has
    booted again and is ready; the steps after it run in the new boot."""

    after: str  # the provisioning step that asked for it
    timeout: float  # the readiness wait's (ready.ssh)
    kind: ClassVar[str] = "reboot"
    phase: ClassVar[str] = "provision"

    def summary(self) -> str:
        return f"reboot the guest (after {self.after}) and wait for SSH (≤ {self.timeout:.0f} s)"
