"""Ansible: a playbook run from this host against machines of the environment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from hosted.steps.base import Step


@dataclass(frozen=True, kw_only=True)
class RunAnsible(Step):
    """``ansible-playbook`` with hosted's inventory of the environment, limited to ``machines``;
    run once, after every machine's own steps (so its machines are ready).  A step of the
    environment: ``machine`` is ""."""

    name: str  # the ansible run's name in the profile
    playbook: str
    machines: tuple[str, ...]  # the machines it runs against (limit resolved)
    fingerprint: str  # recorded on each of them when it succeeds (run: once)
    kind: ClassVar[str] = "ansible"
    phase: ClassVar[str] = "provision"

    @property
    def lane(self) -> str:
        return f"ansible {self.name}"

    def summary(self) -> str:
        return f"run ansible-playbook {self.name} on " + ", ".join(self.machines)
