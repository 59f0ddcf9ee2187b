"""Each machine's snapshots as a tree, for `hosted snapshot list`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hosted.model import PowerState, SnapshotInfo
from hosted.snapshots.names import kind_of


@dataclass(frozen=True)
class SnapshotNode:
    """A snapshot in a machine's tree, with its depth."""
    info: SnapshotInfo
    depth: int

    @property
    def kind(self) -> str | None:
        return kind_of(self.info)


@dataclass(frozen=True)
class MachineSnapshots:
    """A machine's snapshots, as `hosted snapshot list` shows them."""
    machine: str
    vm_name: str
    uuid: str
    power: PowerState
    nodes: tuple[SnapshotNode, ...]  # the tree in pre-order, children oldest first


def tree(infos: Sequence[SnapshotInfo]) -> list[SnapshotNode]:
    shown = {i.id: i for i in infos}
    out: list[SnapshotNode] = []

    def walk(info: SnapshotInfo, depth: int) -> None:
        out.append(SnapshotNode(info, depth))
        for child in info.children:
            if child in shown:
                walk(shown[child], depth + 1)

    for info in shown.values():
        if info.parent_id not in shown:
            walk(info, 0)
    return out
