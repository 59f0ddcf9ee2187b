"""The backend an in-process pytester run of the plugin uses (HOSTED_BACKEND=plugin.double_support:backend):
the outer test's double, whose NAT relays guest port 22 to the outer test's sshd."""

from __future__ import annotations

from cli_support import SharedBackend

BACKEND: SharedBackend | None = None


def backend() -> SharedBackend:
    assert BACKEND is not None, "set plugin.double_support.BACKEND first"
    return BACKEND
