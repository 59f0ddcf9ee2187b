"""The composition root: the one place that chooses a backend (for the library API and the CLI).

``HOSTED_BACKEND=module:factory`` substitutes another backend (the tests'
in-memory double); normally it is VirtualBox through vboxapi.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Iterator

from hosted.backend.base import Backend
from hosted.events import Emit


def open_backend(emit: Emit) -> Backend:
    override = os.environ.get("HOSTED_BACKEND")
    if override:
        module_name, _, attr = override.partition(":")
        factory = getattr(importlib.import_module(module_name), attr)
        backend: Backend = factory()
        return backend
    from hosted.backend.virtualbox import connect

    return connect(emit)


@contextlib.contextmanager
def backend_session(emit: Emit) -> Iterator[Backend]:
    backend = open_backend(emit)
    try:
        yield backend
    finally:
        backend.close()
