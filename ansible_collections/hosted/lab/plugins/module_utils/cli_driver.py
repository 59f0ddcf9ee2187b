# Copyright: The hosted authors
# MIT License (see LICENSE in the collection)
"""The hosted_environment module's way in when hosted is not importable by the Python Ansible
runs on the target (hosted installed with pipx, say): the ``hosted`` command with ``--json``,
whose one envelope carries the result or hosted's error (message, hint, exit code, type).

The CLI plans only ``up`` (``hosted plan``); check mode of the other operations is derived
from ``hosted status`` and ``hosted snapshot list`` (such plans say ``approximate: true``).
``hosted up`` has one ``--yes`` for both the bundle gate and the steps that need confirming,
so an unsigned bundle is never let through by ``confirm: true`` alone: without
``allow_unsigned`` the first run is made without ``--yes`` (the gate then needs a good
signature), and only a refusal of steps to confirm, after the gate passed, is run again
with it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ansible_collections.hosted.lab.plugins.module_utils.environment import (
    EXIT_FAILED,
    EXIT_INVALID,
    HostedFailure,
    Request,
    slim_plan,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    Json = dict[str, Any]
    RunCommand = Callable[..., tuple[int, str, str]]

OFF = ("poweroff", "aborted")


class CliDriver:
    name = "cli"

    def __init__(self, request: Request, run_command: RunCommand, executable: str) -> None:
        self.request = request
        self._run = run_command
        self.executable = executable
        self.warnings: list[str] = []
        self.version = ""
        validated = self._call("validate")
        self.version = str(validated.get("hosted_version", ""))
        self._environment = str(validated["environment"])
        self._machines = [str(m) for m in validated["machines"]]

    def _call(self, *args: str, runs: bool = False) -> Json:
        """``hosted ARGS --json``'s document; hosted's error raised, unless ``runs`` and the
        document is a run's result (machines that failed are in it)."""
        argv = [self.executable, *args, "--file=" + str(self.request.source), "--json", "-q"]
        rc, out, err = self._run(argv)
        try:
            doc = json.loads(out)
        except ValueError:
            tail = (err or out or "").strip()[-2000:]
            raise HostedFailure(f"`hosted {args[0]}` exited with status {rc} without its JSON result",
                                tail, rc or EXIT_FAILED, "CommandFailed") from None
        for line in (err or "").splitlines():  # warnings still go to stderr with -q
            if (line.startswith("warning:") or " warning: " in line) and line not in self.warnings:
                self.warnings.append(line)
        error = doc.get("error")
        if not doc.get("ok", rc == 0) and error and not (runs and "machines" in doc):
            extra = {"problems": error["problems"]} if error.get("problems") else {}
            raise HostedFailure(error.get("message", ""), error.get("hint", ""),
                                int(error.get("exit_code", rc or EXIT_FAILED)),
                                error.get("type", "HostedError"), extra)
        return dict(doc)

    def errors(self) -> Any:
        import contextlib

        return contextlib.nullcontext()

    def close(self) -> None:
        pass

    def environment(self) -> str:
        return self._environment

    def profile_machines(self) -> list[str]:
        return list(self._machines)

    def status(self) -> list[Json]:
        return list(self._call("status")["machines"])

    def snapshot_names(self) -> dict[str, set[str]]:
        def names(nodes: list[Json]) -> set[str]:
            found = set()
            for node in nodes:
                found.add(node["name"])
                found |= names(node.get("children") or [])
            return found

        listed = self._call("snapshot", "list")["machines"]
        return {m["machine"]: names(m.get("snapshots") or []) for m in listed}

    def bundle_info(self) -> Json | None:
        return {"path": str(self.request.source)} if self.request.is_bundle else None

    def require_trust(self) -> None:
        """The gate is ``hosted up``'s own (see ``run``)."""

    def preview(self, operation: str, names: tuple[str, ...], snapshot: str) -> Json:
        if operation == "up":
            return slim_plan(self._call("plan", *names, *self._no_wait()))
        rows = [r for r in self.status() if r.get("exists") and (not names or r["machine"] in names)]
        have = self.snapshot_names() if operation in ("reset", "snapshot restore") else {}
        if operation == "snapshot restore" and not any(snapshot in have.get(r["machine"], ()) for r in rows):
            raise HostedFailure(f"no snapshot named {snapshot!r}; nothing was changed",
                                "`hosted snapshot list` shows each machine's snapshots", EXIT_INVALID,
                                "UnknownSnapshot")
        machines = [{"machine": r["machine"], "vm_name": r.get("vm_name"),
                     "steps": [self._step(operation, r, snapshot, have)]} for r in rows]
        return {"environment": self._environment, "operation": operation.replace(" ", "-"),
                "actions": sum(1 for m in machines for s in m["steps"] if not s["noop"]), "warnings": [],
                "images": [], "machines": machines, "approximate": True}

    def _step(self, operation: str, row: Json, snapshot: str, have: dict[str, set[str]]) -> Json:
        noop = ""
        if operation == "halt":
            noop, text = ("already off" if row.get("power") in OFF else ""), "shut down"
        elif operation == "destroy":
            text = f"destroy {row.get('vm_name')} (asked for)"
        elif operation == "reset":
            noop = "" if "baseline" in have.get(row["machine"], ()) else "no 'baseline' snapshot"
            text = "reset to 'baseline'"
        elif operation == "snapshot save":
            text = f"take snapshot {snapshot!r}"
        else:
            noop = "" if snapshot in have.get(row["machine"], ()) else f"no snapshot {snapshot!r}"
            text = f"restore snapshot {snapshot!r}"
        return {"kind": operation.replace(" ", "-"), "description": f"{text}: {noop}" if noop else text,
                "noop": bool(noop), "needs_confirmation": False}

    def _no_wait(self) -> list[str]:
        return [] if self.request.wait else ["--no-wait"]

    def run(self, operation: str, names: tuple[str, ...], snapshot: str) -> Json:
        r = self.request
        if operation == "up":
            return self._up(names)
        if operation == "halt":
            return self._call("halt", *names, f"--timeout={r.timeout}", runs=True)
        if operation == "destroy":
            return self._call("destroy", *names, "--yes", runs=True)
        if operation == "reset":
            return self._call("reset", *names, "--yes", *self._no_wait(), runs=True)
        if operation == "snapshot save":
            return self._call("snapshot", "save", snapshot, *names, runs=True)
        return self._call("snapshot", "restore", snapshot, *names, "--yes", runs=True)

    def _up(self, names: tuple[str, ...]) -> Json:
        r = self.request
        args = ["up", *names, *self._no_wait()]
        if r.parallel:
            args.append(f"--parallel={r.parallel}")
        if r.trust:
            args.append("--trust=" + str(r.trust))
        if not r.is_bundle or r.allow_unsigned:
            if r.is_bundle and not r.confirm:  # --yes lets the bundle through: no other step may need it
                planned = self.preview("up", names, "")["machines"]
                needing = [f"{m['machine']}: {s['description']}" for m in planned
                           for s in m["steps"] if s["needs_confirmation"]]
                if needing:
                    raise HostedFailure("these steps need confirmation: " + "; ".join(needing), "",
                                        EXIT_FAILED, "ConfirmationRequired")
            return self._call(*args, *(["--yes"] if r.confirm or r.is_bundle else []), runs=True)
        try:
            return self._call(*args, runs=True)
        except HostedFailure as refused:
            # Only plain ConfirmationRequired: the bundle's gate (UnconfirmedBundle) passed before it.
            if refused.error_type != "ConfirmationRequired" or not r.confirm:
                raise
        return self._call(*args, "--yes", runs=True)
