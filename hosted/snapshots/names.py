"""How hosted names and marks its snapshots, and finds one by name.

Snapshots hosted takes carry ``MARK`` on the first line of their description;
a snapshot without it is listed but only ever deleted when the user names it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from hosted import __version__
from hosted.errors import SnapshotError, UsageError
from hosted.model import SnapshotInfo

MARK = "hosted-snapshot:"
BASELINE = "baseline"
PUSH_PREFIX = "push-"
Kind = Literal["save", "push", "baseline"]


def describe(kind: Kind) -> str:
    return f"{MARK} {kind}\nTaken by hosted {__version__} (`hosted snapshot {kind}`)."


def kind_of(info: SnapshotInfo) -> str | None:
    """hosted's kind of snapshot ("save", "push", "baseline"), or None: hosted did not take it."""
    first = info.description.partition("\n")[0]
    return (first[len(MARK):].strip() or "save") if first.startswith(MARK) else None


def check_name(name: str) -> None:
    if not name or name != name.strip() or "\n" in name:
        raise UsageError(f"invalid snapshot name {name!r}", "use a non-empty name without surrounding spaces")


def find(infos: Sequence[SnapshotInfo], name: str) -> SnapshotInfo | None:
    found = [i for i in infos if i.name == name]
    if len(found) > 1:
        raise SnapshotError(
            f"{len(found)} snapshots are named {name!r} (made outside hosted); hosted cannot tell them apart",
            "rename or delete all but one in the VirtualBox GUI",
        )
    return found[0] if found else None


def push_number(info: SnapshotInfo) -> int:
    match = re.fullmatch(re.escape(PUSH_PREFIX) + r"(\d+)", info.name)
    return int(match.group(1)) if match else 0


def last_push(infos: Sequence[SnapshotInfo]) -> SnapshotInfo | None:
    pushed = [i for i in infos if kind_of(i) == "push" and push_number(i)]
    return max(pushed, key=push_number, default=None)
