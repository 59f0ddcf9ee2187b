"""hosted: turn a YAML profile into running VirtualBox machines.

The public library API (``hosted.api``), re-exported lazily so that ``import
hosted`` (and ``hosted --help``) stays cheap::

    import hosted

    env = hosted.load("hosted.yaml")
    print(hosted.plan(env).to_json())
    result = hosted.up(env, yes=True, on_event=print)
    assert result.ok, [m.error for m in result.failed]
    hosted.halt(env)

See docs/api.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_API = ("load", "connect", "plan", "up", "reload", "provision", "status", "halt", "suspend", "resume",
        "destroy", "snapshot_save", "snapshot_restore", "snapshot_delete", "snapshot_push", "snapshot_pop",
        "snapshot_list", "reset", "run_command", "log_paths", "CommandResult", "list_environments",
        "upload", "download", "open_remote", "forwarded_port", "provision_log", "Remote", "CommandFailed",
        "preview")
_TYPES = {
    "Environment": "hosted.model", "MachineSpec": "hosted.model", "Event": "hosted.events",
    "Plan": "hosted.planner", "MachinePlan": "hosted.planner", "RunResult": "hosted.run",
    "MachineResult": "hosted.run", "MachineStatus": "hosted.machine_status",
    "MachineSnapshots": "hosted.snapshots", "EnvironmentSummary": "hosted.host_status",
    "HostMachine": "hosted.host_status",
    "HostedError": "hosted.errors", "ProfileError": "hosted.errors", "ConfirmationRequired": "hosted.errors",
}

__all__ = [  # noqa: RUF022 -- grouped as above: the API, then the types it uses
    "__version__",
    "load", "connect", "plan", "up", "reload", "provision", "status", "halt", "suspend", "resume",
    "destroy", "snapshot_save", "snapshot_restore", "snapshot_delete", "snapshot_push", "snapshot_pop",
    "snapshot_list", "reset", "run_command", "log_paths", "CommandResult", "list_environments", "upload",
    "download", "open_remote", "forwarded_port", "provision_log", "Remote", "CommandFailed", "preview",
    "Environment", "MachineSpec", "Event", "Plan", "MachinePlan", "RunResult", "MachineResult",
    "MachineStatus", "MachineSnapshots", "EnvironmentSummary", "HostMachine", "HostedError", "ProfileError",
    "ConfirmationRequired",
]

if TYPE_CHECKING:
    from hosted.api import (
        CommandFailed,
        CommandResult,
        Remote,
        connect,
        destroy,
        download,
        forwarded_port,
        halt,
        list_environments,
        load,
        log_paths,
        open_remote,
        plan,
        preview,
        provision,
        provision_log,
        reload,
        reset,
        resume,
        run_command,
        snapshot_delete,
        snapshot_list,
        snapshot_pop,
        snapshot_push,
        snapshot_restore,
        snapshot_save,
        status,
        suspend,
        up,
        upload,
    )
    from hosted.errors import ConfirmationRequired, HostedError, ProfileError
    from hosted.events import Event
    from hosted.host_status import EnvironmentSummary, HostMachine
    from hosted.machine_status import MachineStatus
    from hosted.model import Environment, MachineSpec
    from hosted.planner import MachinePlan, Plan
    from hosted.run import MachineResult, RunResult
    from hosted.snapshots import MachineSnapshots


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module("hosted.api"), name)
    if name in _TYPES:
        return getattr(importlib.import_module(_TYPES[name]), name)
    raise AttributeError(f"module 'hosted' has no attribute {name!r}")
