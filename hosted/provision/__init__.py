"""Provisioners (``shell``, ``file``) run over an SSH session after readiness.

``run: once`` is recorded per machine in VirtualBox extradata
(``Backend.record_provisioned``: the step's fingerprint); ``always``
steps run every time.
"""

from hosted.provision.record import step_fingerprint
from hosted.provision.runner import provision

__all__ = ["provision", "step_fingerprint"]
