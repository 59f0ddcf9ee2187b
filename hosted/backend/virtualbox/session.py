"""The one place that locks machines: lock, change, saveSettings, unlock.

VirtualBox allows one write lock per machine (a running VM's process holds
it, so a running machine only takes shared locks).  A lock held by someone
else is retried for a bounded time, then reported as MachineLocked, naming
the holder when VirtualBox knows it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from hosted.backend.virtualbox.context import Ctx
from hosted.backend.virtualbox.translate import VBOX_E_INVALID_OBJECT_STATE, status_of
from hosted.errors import MachineLocked


def _holder(ctx: Ctx, machine: Any) -> str:
    try:
        if int(machine.sessionState) == int(ctx.const.SessionState_Unlocked):
            return ""
        name, pid = str(machine.sessionName or ""), int(machine.sessionPID or 0)
    except ctx.xcpt:
        return ""
    parts = [f"session '{name}'" if name else "", f"process {pid}" if pid else ""]
    held = " ".join(p for p in parts if p)
    return f" (held by {held})" if held else ""


def lock(ctx: Ctx, machine: Any, session: Any, write: bool) -> None:
    """Lock with bounded retry while another session holds the machine."""
    lock_type = ctx.const.LockType_Write if write else ctx.const.LockType_Shared
    deadline = time.monotonic() + ctx.lock_timeout
    while True:
        try:
            machine.lockMachine(session, lock_type)
            return
        except ctx.xcpt as exc:
            if status_of(ctx, exc) != VBOX_E_INVALID_OBJECT_STATE or time.monotonic() > deadline:
                if status_of(ctx, exc) == VBOX_E_INVALID_OBJECT_STATE:
                    raise MachineLocked(
                        f"machine '{machine.name}' is locked by another session{_holder(ctx, machine)}",
                        "wait for the other VirtualBox client (GUI dialog, VBoxManage, another hosted "
                        "run) to finish, then run the command again",
                    ) from exc
                raise
        time.sleep(0.2)


@contextlib.contextmanager
def locked(ctx: Ctx, machine: Any, *, write: bool = True, save: bool = True) -> Iterator[Any]:
    """Yield a locked session; on success save the settings once, on failure discard them."""
    session = ctx.session()
    lock(ctx, machine, session, write)
    try:
        yield session
        if save:
            session.machine.saveSettings()
    except BaseException:
        if save:
            with contextlib.suppress(Exception):
                session.machine.discardSettings()
        raise
    finally:
        with contextlib.suppress(Exception):
            session.unlockMachine()


def wait_unlocked(ctx: Ctx, machine: Any, timeout: float = 10.0) -> None:
    """After a VM process ends its session lingers briefly; wait so a write lock can follow."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if int(machine.sessionState) == int(ctx.const.SessionState_Unlocked):
            return
        time.sleep(0.1)
