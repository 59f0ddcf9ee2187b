# Copyright: The hosted authors
# MIT License (see LICENSE in the collection)
"""The hosted_environment module's way in when hosted is importable on the target: its public
Python API (``hosted.api``), in the module's own process, with one VirtualBox connection for
the whole task.  hosted's errors become HostedFailures with its message, hint and exit code;
the profile's secrets are masked in everything returned."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ansible_collections.hosted.lab.plugins.module_utils.environment import HostedFailure, Request, slim_plan

if TYPE_CHECKING:
    Json = dict[str, Any]


def importable() -> bool:
    """hosted, recent enough for this module (``hosted.api.preview``), in this Python."""
    try:
        from hosted import api
    except ImportError:
        return False
    return hasattr(api, "preview")


class ApiDriver:
    name = "api"

    def __init__(self, request: Request) -> None:
        from hosted import __version__, api

        self.api: Any = api
        self.version = __version__
        self.request = request
        self.warnings: list[str] = []
        self.secrets: tuple[str, ...] = ()
        self._backend: Any = None
        with self.errors():
            from hosted.profile import load_profile, locate_profile

            signers = Path(request.trust).expanduser() if request.trust else None
            self.located = locate_profile(request.source, allowed_signers=signers)
            self.env = load_profile(self.located.profile)
            self.secrets = tuple(self.env.secrets)

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        """hosted's errors, as the module reports them."""
        from hosted.errors import HostedError, ProfileError

        try:
            yield
        except HostedError as exc:
            extra: Json = {}
            if isinstance(exc, ProfileError):
                extra["problems"] = [{"message": p.message, "file": p.file, "line": p.line,
                                      "column": p.column, "key": p.key} for p in exc.problems]
            raise HostedFailure(self._masked(exc.message), self._masked(exc.hint), exc.exit_code,
                                type(exc).__name__, self._masked(extra)) from None

    def _masked(self, data: Any) -> Any:
        from hosted.redact import redact_data

        return redact_data(data, self.secrets)

    def _event(self, event: Any) -> None:
        if event.kind == "warning" and event.message not in self.warnings:
            self.warnings.append(self._masked(event.message))

    def backend(self) -> Any:
        if self._backend is None:
            self._backend = self.api.connect(self._event)
        return self._backend

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None

    def environment(self) -> str:
        return str(self.env.name)

    def profile_machines(self) -> list[str]:
        return [m.name for m in self.env.machines]

    def status(self) -> list[Json]:
        return [self._masked(row.to_json()) for row in self.api.status(self.env, backend=self.backend())]

    def snapshot_names(self) -> dict[str, set[str]]:
        return {m.machine: {node.info.name for node in m.nodes}  # the tree, flat in pre-order
                for m in self.api.snapshot_list(self.env, backend=self.backend())}

    def bundle_info(self) -> Json | None:
        opened = self.located.bundle
        if opened is None:
            return None
        from hosted.images.trust import summarize

        return {"path": str(opened.bundle), "profile": str(opened.profile), "signed": opened.signed,
                "signer": opened.signer, "summary": summarize(self.env)}

    def require_trust(self) -> None:
        from hosted.images.trust import require_trust

        opened = self.located.bundle
        if opened is not None:  # apply() asks only for a bundle
            require_trust(opened, self.env, yes=self.request.allow_unsigned)

    def preview(self, operation: str, names: tuple[str, ...], snapshot: str) -> Json:
        r = self.request
        plan = self.api.preview(self.env, operation, names, snapshot=snapshot, timeout=r.timeout, wait=r.wait,
                                backend=self.backend(), on_event=self._event)
        return slim_plan(self._masked(plan.to_json()))

    def run(self, operation: str, names: tuple[str, ...], snapshot: str) -> Json:
        r, api = self.request, self.api
        common = {"backend": self.backend(), "on_event": self._event, "parallel": r.parallel}
        if operation == "up":
            result = api.up(self.env, names, yes=r.confirm, wait=r.wait, **common)
        elif operation == "halt":
            result = api.halt(self.env, names, timeout=r.timeout, **common)
        elif operation == "destroy":  # state: absent is the confirmation
            result = api.destroy(self.env, names, yes=True, **common)
        elif operation == "reset":
            result = api.reset(self.env, names, yes=True, wait=r.wait, **common)
        elif operation == "snapshot save":
            result = api.snapshot_save(self.env, snapshot, names, **common)
        else:
            result = api.snapshot_restore(self.env, snapshot, names, yes=True, **common)
        return dict(self._masked(result.to_json()))
