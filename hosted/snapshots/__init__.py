"""How hosted names, marks and lists snapshots.  What snapshot commands do is planned
in ``hosted.planner.snapshots`` and run by ``hosted.run``, like every other command."""

from hosted.snapshots.names import (
    BASELINE,
    MARK,
    PUSH_PREFIX,
    check_name,
    describe,
    find,
    kind_of,
    last_push,
    push_number,
)
from hosted.snapshots.tree import MachineSnapshots, SnapshotNode, tree

__all__ = [
    "BASELINE", "MARK", "PUSH_PREFIX", "MachineSnapshots", "SnapshotNode", "check_name", "describe", "find",
    "kind_of", "last_push", "push_number", "tree",
]
