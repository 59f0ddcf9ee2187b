"""Provisioners (``shell``, ``file``), run over an SSH session after readiness.

``step_fingerprint`` says whether a ``run: once`` step changed since it ran
(the planner compares it with the machine's records); ``run_logged`` runs one.
"""

from hosted.provisioning.record import step_fingerprint
from hosted.provisioning.runner import run_logged

__all__ = ["run_logged", "step_fingerprint"]
