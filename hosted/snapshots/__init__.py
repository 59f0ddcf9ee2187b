"""Snapshots of an environment's machines, and resetting them to a baseline.

The library never prints: every function reports through ``emit`` and returns
one ``MachineResult`` per machine (``list_snapshots`` returns the trees).
"""

from hosted.snapshots.core import (
    DEFAULT_PARALLEL,
    MARK,
    MachineSnapshots,
    SnapshotNode,
    kind_of,
    list_snapshots,
    tree,
)
from hosted.snapshots.ops import PUSH_PREFIX, delete, pop, push, restore, save
from hosted.snapshots.reset import BASELINE, reset, take_baseline_if_needed

__all__ = [
    "BASELINE", "DEFAULT_PARALLEL", "MARK", "PUSH_PREFIX", "MachineSnapshots", "SnapshotNode", "delete",
    "kind_of", "list_snapshots", "pop", "push", "reset", "restore", "save", "take_baseline_if_needed", "tree",
]
