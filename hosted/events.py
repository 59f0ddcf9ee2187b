"""What the library reports while it works.  The library never prints: it calls
an ``Emit`` callback with these events, and the CLI renders them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

EventKind = Literal[
    "step-started",  # a plan step begins
    "step-finished",  # a plan step is done (seconds set)
    "step-noop",  # nothing to do, with the reason in message
    "progress",  # long work: percent set
    "warning",
    "info",
    "output",  # a line of guest/provisioner output
    "stage",  # a readiness stage changed
]


@dataclass(frozen=True)
class Event:
    """Something the library reports while it works: the CLI renders it, a caller may log it."""
    kind: EventKind
    message: str
    machine: str | None = None
    percent: float | None = None
    seconds: float | None = None
    limit: float | None = None  # a wait that starts: the seconds it may take


Emit = Callable[[Event], None]


def discard(_: Event) -> None:
    """An Emit that drops everything."""


class Recorder:
    """An Emit that keeps every event (for tests, and for callers that want them afterwards)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def messages(self, kind: EventKind | None = None) -> list[str]:
        return [e.message for e in self.events if kind is None or e.kind == kind]
