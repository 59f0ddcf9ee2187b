"""Provisioners (``shell``, ``file``), run over an SSH session after readiness.

``step_fingerprint`` says whether a ``run: once`` step changed since it ran
(the planner compares it with the machine's records); ``run_logged`` runs one.
``run_logged`` is imported on first use: planning needs the fingerprints, not
the SSH stack a run loads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hosted.provisioning.record import step_fingerprint

if TYPE_CHECKING:
    from hosted.provisioning.runner import run_logged

__all__ = ["run_logged", "step_fingerprint"]


def __getattr__(name: str) -> Any:
    if name == "run_logged":
        from hosted.provisioning.runner import run_logged

        return run_logged
    raise AttributeError(f"module 'hosted.provisioning' has no attribute {name!r}")
