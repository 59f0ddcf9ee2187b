"""The composition root: the one place that chooses a backend (for the library API and the CLI).

``HOSTED_BACKEND=module:factory`` substitutes another backend (the tests'
in-memory double); normally it is VirtualBox through vboxapi.  It is honoured
only inside a pytest process and only for a module that process has already
imported: the environment never makes hosted import (and so run) a module.
When the ``hosted.calls`` logger is enabled for DEBUG (``hosted --debug``), every
backend call is logged with its machine, its duration and how it ended.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, cast

from hosted.backend.base import Backend
from hosted.errors import UsageError
from hosted.events import Emit

calls = logging.getLogger("hosted.calls")


def open_backend(emit: Emit) -> Backend:
    override = os.environ.get("HOSTED_BACKEND")
    backend: Backend
    if override:
        backend = _test_backend(override)()
    else:
        from hosted.backend.virtualbox import connect

        backend = connect(emit)
    if calls.isEnabledFor(logging.DEBUG):
        info = backend.info()
        calls.debug("connected: %s %s (API %s)", info.name, info.version, info.api_version)
        return cast(Backend, LoggedBackend(backend))
    return backend


class LoggedBackend:
    """A backend whose every call goes to the debug log: the method, its plain arguments (a
    machine's uuid or name; settings objects only by their type, so no secret is written), its
    duration, and its result's size or its error."""

    def __init__(self, inner: Backend) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._inner, name)
        if name.startswith("_") or not callable(method):
            return method

        def logged(*args: Any, **kwargs: Any) -> Any:
            shown = ", ".join(_shown(a) for a in args if not callable(a))
            start = time.monotonic()
            try:
                result = method(*args, **kwargs)
            except BaseException as exc:
                calls.debug("%s(%s) failed after %.3f s: %s: %s", name, shown, time.monotonic() - start,
                            type(exc).__name__, exc)
                raise
            calls.debug("%s(%s) -> %s in %.3f s", name, shown, _outcome(result), time.monotonic() - start)
            return result

        return logged


def _shown(value: object) -> str:
    if isinstance(value, str | int | float | bool) or value is None:
        return repr(value)
    return type(value).__name__


def _outcome(result: object) -> str:
    if isinstance(result, list | tuple):
        return f"{len(result)} item(s)"
    return _shown(result)


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
