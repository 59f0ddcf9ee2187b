"""Provisioners (``shell``, ``file``) run over an SSH session after readiness.

``run: once`` is recorded per machine in VirtualBox extradata
(``hosted/provisioned/<step name>`` = the step's fingerprint); ``always``
steps run every time.
"""

from hosted.provision.record import KEY_PREFIX, record_key, step_fingerprint
from hosted.provision.runner import provision

__all__ = ["KEY_PREFIX", "provision", "record_key", "step_fingerprint"]
