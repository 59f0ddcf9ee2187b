"""What every step is: frozen data that says what it will do and why.

A step is one thing a command does to one machine (or, for an image, to the
host).  ``describe()`` is what ``hosted plan`` prints; ``to_json()`` is what
``--json`` emits; ``needs_confirmation`` and ``needs_poweroff`` are what the
runner and the planner check.  A step holds no behaviour of its own: the
runner looks its handler up in one dispatch table (``hosted.run.dispatch``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, kw_only=True)
class Step:
    """One thing a command does, as data: the runner dispatches it by its type."""
    machine: str  # the profile's machine name; "" for a step of the host (an image)
    reason: str = ""  # why it is needed (a no-op: why nothing is needed)

    kind: ClassVar[str] = "step"  # its name in JSON and in events
    phase: ClassVar[str] = ""  # where its time is counted in a result ("configure", "start", ...)
    # A VirtualBox call that does all of its work or none: the runner may try it again
    # after a temporary error (a lock held by another session).
    repeatable: ClassVar[bool] = False

    @property
    def is_noop(self) -> bool:
        return False

    @property
    def needs_confirmation(self) -> bool:
        """Destroys something or restarts a running machine: asked for once, before anything."""
        return False

    @property
    def needs_poweroff(self) -> bool:
        return False

    def summary(self) -> str:
        """What the step does, without why."""
        return self.kind

    def describe(self) -> str:
        text = self.summary()
        return f"{text} ({self.reason})" if self.reason else text

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "machine": self.machine or None,
                                "description": self.describe()}
        for f in dataclasses.fields(self):
            if f.name not in ("machine",):
                data[f.name] = _jsonable(getattr(self, f.name))
        data["needs_confirmation"] = self.needs_confirmation
        data["needs_poweroff"] = self.needs_poweroff
        data["noop"] = self.is_noop
        return data


@dataclass(frozen=True, kw_only=True)
class Noop(Step):
    """Nothing to do for ``subject``; ``reason`` says why ("memory already 2 GB")."""

    subject: str
    kind: ClassVar[str] = "noop"

    @property
    def is_noop(self) -> bool:
        return True

    def describe(self) -> str:
        return self.reason or f"{self.subject}: nothing to do"


def _jsonable(value: object) -> object:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value
