"""Steps on snapshots: take, restore, delete."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from hosted.steps.base import Step

SnapshotKind = Literal["save", "push", "baseline"]


@dataclass(frozen=True, kw_only=True)
class TakeSnapshot(Step):
    """Take ``name`` (live when the machine runs); with ``replaces``, then delete that one."""

    name: str
    snapshot_kind: SnapshotKind = "save"
    replaces: str = ""  # the id of a snapshot of the same name that this one replaces
    replaces_foreign: bool = False  # ... and hosted did not take that one
    kind: ClassVar[str] = "take-snapshot"
    phase: ClassVar[str] = "snapshot"

    def summary(self) -> str:
        return f"{'replace' if self.replaces else 'take'} snapshot {self.name!r}"


@dataclass(frozen=True, kw_only=True)
class RestoreSnapshot(Step):
    """Restore a snapshot of a powered-off machine (the plan stops it first)."""

    name: str
    snapshot_id: str
    online: bool = False  # a live snapshot: the machine is then saved, and resumes into it
    discards: bool = False  # the machine runs (or is suspended): its current state is lost
    kind: ClassVar[str] = "restore-snapshot"
    phase: ClassVar[str] = "snapshot"
    repeatable: ClassVar[bool] = True

    @property
    def needs_confirmation(self) -> bool:
        return self.discards

    def summary(self) -> str:
        return f"restore snapshot {self.name!r}"


@dataclass(frozen=True, kw_only=True)
class DeleteSnapshot(Step):
    """Delete a snapshot; its child, if any, absorbs its changes."""
    name: str
    snapshot_id: str
    merges_into: str = ""  # its child, which absorbs its changes
    kind: ClassVar[str] = "delete-snapshot"
    phase: ClassVar[str] = "snapshot"

    def summary(self) -> str:
        text = f"delete snapshot {self.name!r}"
        return text + (f" (its changes merge into {self.merges_into!r})" if self.merges_into else "")
