"""Record, then act: what a killed run left behind is found and removed by the next one.

Creating, cloning and importing a machine each take several VirtualBox calls, and
VBoxSVC goes on with its part after the client is killed: settings files and disks
appear in the machine's folder, disks in VirtualBox's media registry, an import may
register a machine that hosted never got to tag.  So before the first of those calls,
an entry naming the machine's folder is written to the journal (a directory in the
user's private state directory); it is removed when the operation is done, or undone.
An entry whose process is gone is a crash: ``sweep`` removes what is in that folder
and is not a finished machine of hosted's, then drops the entry.

What ``sweep`` keeps: a registered machine with hosted's tags (an environment's machine
the plan converges, or a template, healthy or broken, that ``ensure_template`` and
``images prune`` handle).  What it removes: a registered machine in the folder without
tags, disks in the media registry whose file is in the folder and which no machine uses,
and the folder itself when no registered machine is in it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hosted import paths
from hosted.backend.virtualbox.context import Ctx
from hosted.backend.virtualbox.extradata import read_tags
from hosted.backend.virtualbox.template_store import is_template
from hosted.events import Emit, Event
from hosted.processes import alive


def _dir() -> Path:
    return paths.private_dir(paths.state_dir() / "journal")


def _entry(folder: str) -> Path:
    return _dir() / (hashlib.sha256(os.path.abspath(folder).encode()).hexdigest()[:20] + ".json")


@contextlib.contextmanager
def recorded(kind: str, folder: str, name: str) -> Iterator[None]:
    """Hold an entry for ``folder`` while the operation runs; kept only if the process dies."""
    entry = _entry(folder)
    with paths.open_private(entry, "w") as fh:
        fh.write(json.dumps({"kind": kind, "folder": os.path.abspath(folder), "name": name,
                             "pid": os.getpid(), "started": time.time()}))
    try:
        yield
    finally:  # done, or undone by the operation's own rollback: nothing to sweep
        with contextlib.suppress(OSError):
            entry.unlink()


def pending() -> list[dict[str, Any]]:
    """Entries whose process is gone: operations that a crash interrupted."""
    out = []
    for path in sorted(_dir().glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and not alive(data.get("pid")):
            out.append({**data, "entry": str(path)})
    return out


def sweep(ctx: Ctx, emit: Emit) -> list[str]:
    """Remove what interrupted operations left; returns what was removed, as lines."""
    removed: list[str] = []
    for item in pending():
        folder = str(item.get("folder", ""))
        here = _clean(ctx, folder) if folder and os.path.isabs(folder) else []
        with contextlib.suppress(OSError):
            Path(item["entry"]).unlink()
        if here:
            emit(Event("warning", f"removed what an interrupted {item.get('kind', 'operation')} of "
                                  f"{item.get('name', '?')} left: {'; '.join(here)}"))
        removed += here
    return removed


def _clean(ctx: Ctx, folder: str) -> list[str]:
    removed: list[str] = []
    keep = False
    for machine in ctx.array(ctx.vbox, "machines"):
        with contextlib.suppress(ctx.xcpt):
            if not _inside(str(machine.settingsFilePath), folder):
                continue
            if machine.accessible and (read_tags(machine) is not None or is_template(machine)):
                keep = True  # a machine of hosted's: the plan (or ensure_template, prune) sees it
                continue
            name = str(machine.name)
            returned = list(machine.unregister(ctx.const.CleanupMode_DetachAllReturnHardDisksOnly) or [])
            _delete_media(ctx, returned)
            with contextlib.suppress(ctx.xcpt):
                machine.deleteConfig([])
            removed.append(f"machine {name}")
    for medium in _unused_media_in(ctx, folder):
        location = str(medium.location)
        _delete_media(ctx, [medium])
        removed.append(f"disk {location}")
    if not keep and os.path.isdir(folder):
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(f"folder {folder}")
    return removed


def _unused_media_in(ctx: Ctx, folder: str) -> list[Any]:
    """Disks in the media registry, children first, whose files are in ``folder`` and unused."""
    found: list[Any] = []
    stack = list(ctx.array(ctx.vbox, "hardDisks"))
    while stack:
        medium = stack.pop()
        children = ctx.array(medium, "children")
        stack.extend(children)
        if _inside(str(medium.location), folder) and not ctx.array(medium, "machineIds"):
            found.append(medium)
    return list(reversed(found))


def _delete_media(ctx: Ctx, media: list[Any]) -> None:
    for medium in media:
        with contextlib.suppress(ctx.xcpt):
            progress = medium.deleteStorage()
            progress.waitForCompletion(60_000)
        with contextlib.suppress(ctx.xcpt):
            medium.close()


def _inside(path: str, folder: str) -> bool:
    return os.path.abspath(path).startswith(os.path.abspath(folder).rstrip(os.sep) + os.sep)
