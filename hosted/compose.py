"""The composition root: the one place that chooses a backend (for the library API and the CLI).

``HOSTED_BACKEND=module:factory`` substitutes another backend (the tests'
in-memory double); normally it is VirtualBox through vboxapi.  It is honoured
only inside a pytest process and only for a module that process has already
imported: the environment never makes hosted import (and so run) a module.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator

from hosted.backend.base import Backend
from hosted.errors import UsageError
from hosted.events import Emit


def open_backend(emit: Emit) -> Backend:
    override = os.environ.get("HOSTED_BACKEND")
    if override:
        backend: Backend = _test_backend(override)()
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


def _test_backend(override: str) -> Callable[[], Backend]:
    module_name, _, attr = override.partition(":")
    module = sys.modules.get(module_name)
    if "_pytest" not in sys.modules or module is None or not attr.isidentifier() or attr.startswith("_") \
            or not callable(getattr(module, attr, None)):
        raise UsageError(f"HOSTED_BACKEND={override!r} is not used: it is for hosted's own test suite",
                         "Unset HOSTED_BACKEND (`unset HOSTED_BACKEND`); hosted uses VirtualBox.")
    factory: Callable[[], Backend] = getattr(module, attr)
    return factory
