"""Removing a machine hosted made: unregister, delete its media and settings, tidy its folder.

Undoing a failed create, clone or import and deleting a template all end here;
destroying a machine (``power.destroy``) chooses its own disks and ends in
``delete_files``.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from hosted.backend.virtualbox.context import Ctx
from hosted.backend.virtualbox.storage import delete_media_quietly, forget_broken_chains
from hosted.backend.virtualbox.translate import wait_progress
from hosted.events import Emit


def remove_machine(
    ctx: Ctx, machine: Any, cleanup_mode: int, media: list[Any], emit: Emit, *,
    what: str, name: str | None = None, quiet: bool = False,
) -> None:
    """Unregister ``machine`` and delete the media unregister hands back (``cleanup_mode``
    says which), the ``media`` this call made besides, its settings and its folder if empty.

    ``quiet``: undoing a failed call, so a failure here is swallowed rather than hiding
    the original error, and the files are tidied whatever happened.
    """
    path = str(machine.settingsFilePath)
    failures = contextlib.suppress(Exception) if quiet else contextlib.nullcontext()
    returned: list[Any] = []
    with failures:
        returned = list(machine.unregister(cleanup_mode) or [])  # children before parents
    delete_media_quietly(ctx, media, emit)
    with failures:
        deletable = forget_broken_chains(ctx, returned, os.path.dirname(path))
        wait_progress(ctx, machine.deleteConfig(deletable), what, emit, name)
    delete_files(path)


def delete_files(settings_file: str) -> None:
    """The settings file and the machine folder, if nothing else is in it."""
    for name in (settings_file, settings_file + "-prev"):
        with contextlib.suppress(OSError):
            os.remove(name)
    remove_empty_folder(os.path.dirname(settings_file))


def remove_empty_folder(folder: str) -> None:
    for sub in ("Logs", "Snapshots", ""):
        with contextlib.suppress(OSError):
            os.rmdir(os.path.join(folder, sub) if sub else folder)
