# Copyright: The hosted authors
# MIT License (see LICENSE in the collection)
"""What the hosted_environment module does, whichever way it reaches hosted.

A task asks for a state (up, halted, absent, reset) and maybe a snapshot to
restore before it or to save after it.  ``apply`` turns that into hosted
operations, runs each through a driver (hosted's Python API in this process,
or its CLI's ``--json``) or, in check mode, asks the driver for the plan, and
shapes one result: ``changed`` only when a plan had steps, each machine's state
and SSH endpoint, and hosted's own message, hint and exit code on failure.

Operations that act on existing machines (halt, destroy, reset, snapshots) are
given only the named machines that exist, so that a second run is a no-op
rather than "no such machine"; a snapshot is saved only on machines that lack
it.  Code here runs on the managed host under whatever Python Ansible chose
there, so it uses the standard library only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: this code also runs on a target's older Python
    from collections.abc import Callable

    Json = dict[str, Any]

STATES = {"up": "up", "halted": "halt", "absent": "destroy", "reset": "reset"}
ON_EXISTING = ("halt", "destroy", "reset", "snapshot save", "snapshot restore")
EXIT_FAILED = 1
EXIT_INVALID = 2


class HostedFailure(Exception):
    """hosted's error (message, hint, exit code, its type's name), with what the task did so far."""

    def __init__(self, message: str, hint: str = "", exit_code: int = EXIT_FAILED,
                 error_type: str = "HostedError", extra: Json | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code
        self.error_type = error_type
        self.extra = dict(extra or {})

    def result(self) -> Json:
        """The keys of the failed task's result."""
        return dict(self.extra, msg=self.message, hint=self.hint, exit_code=self.exit_code,
                    error_type=self.error_type)


# hosted's hints name its command-line flags; a task has parameters instead.
MODULE_HINTS = {
    "ConfirmationRequired": "set `confirm: true` on the task to allow these steps; nothing was changed",
    "UnconfirmedBundle": "give the bundle's signers as `trust:` (an allowed-signers file; sign it with "
                         "`hosted bundle --sign KEY`), or set `allow_unsigned: true` once you have read "
                         "what it does (`bundle.summary` in this result); nothing was changed",
}


class Request:
    """The task's parameters, as the drivers read them."""

    def __init__(self, params: Json) -> None:
        self.is_bundle = bool(params.get("bundle"))
        self.source = params.get("bundle") or params.get("profile")
        self.state = params.get("state") or "up"
        self.machines = list(params.get("machines") or [])
        snapshot = params.get("snapshot") or {}
        self.save = snapshot.get("save") or ""
        self.restore = snapshot.get("restore") or ""
        self.trust = params.get("trust") or ""
        self.allow_unsigned = bool(params.get("allow_unsigned"))
        self.confirm = bool(params.get("confirm"))
        self.parallel = int(params.get("parallel") or 0)
        self.wait = params.get("wait", True) is not False
        self.timeout = float(params.get("timeout") or 60)

    def operations(self) -> list[tuple[str, str]]:
        """(operation, snapshot name) in order: restore first, then the state, then save."""
        ops = []
        if self.restore:
            ops.append(("snapshot restore", self.restore))
        ops.append((STATES[self.state], ""))
        if self.save:
            ops.append(("snapshot save", self.save))
        return ops


def applied(request: Request, driver: Any, check_mode: bool, again: Callable[[], Any] | None = None) -> Json:
    """``apply`` through ``driver``, closed after.  VirtualBox's service refused this process
    (``ServiceRefused``: it was shutting down as the process connected, and the process's
    connection stays broken): ``again()``, a driver that runs hosted in a new process (its
    command), is used once instead, if there is one."""
    try:
        return _closed(request, driver, check_mode)
    except HostedFailure as failure:
        other = again() if again is not None and failure.error_type == "ServiceRefused" else None
        if other is None:
            raise
    return _closed(request, other, check_mode)


def _closed(request: Request, driver: Any, check_mode: bool) -> Json:
    try:
        return apply(request, driver, check_mode)
    finally:
        driver.close()


def apply(request: Request, driver: Any, check_mode: bool) -> Json:
    """Run (or, in check mode, plan) what the task asks for; the module's result."""
    with driver.errors():
        known = driver.profile_machines()
        unknown = [n for n in request.machines if n not in known]
        if unknown:
            raise HostedFailure(f"no machine named {', '.join(unknown)} in {request.source}",
                                "machines: " + ", ".join(known), EXIT_INVALID, "UnknownMachine")
        out: Json = {"changed": False, "environment": driver.environment(), "plans": [],
                     "interface": driver.name, "hosted_version": driver.version}
        bundle = driver.bundle_info()
    if bundle is not None:
        out["bundle"] = bundle
    steps: dict[str, list[str]] = {}
    try:
        with driver.errors():
            if bundle is not None and request.state == "up":
                driver.require_trust()
            for operation, snapshot in request.operations():
                _operation(request, driver, check_mode, operation, snapshot, out, steps)
    except HostedFailure as failure:
        failure.extra.update(changed=out["changed"], environment=out["environment"],
                             machines=_machines(request, driver, steps, quiet=True))
        if bundle is not None:
            failure.extra["bundle"] = bundle
        failure.hint = MODULE_HINTS.get(failure.error_type, failure.hint)
        raise
    out["machines"] = _machines(request, driver, steps)
    out["host_steps"] = steps.get("host", [])
    if not check_mode:
        del out["plans"]
    out["warnings_from_hosted"] = list(driver.warnings)
    return out


def _operation(request: Request, driver: Any, check_mode: bool, operation: str, snapshot: str, out: Json,
               steps: dict[str, list[str]]) -> None:
    """One hosted operation run (or planned), its outcome added to ``out`` and ``steps``."""
    names = _targets(request, driver, operation, snapshot)
    if names is None:  # the named machines do not exist (or already have the snapshot)
        out["plans"].append(empty_plan(out["environment"], operation))
        return
    if check_mode:
        plan = driver.preview(operation, names, snapshot)
        out["plans"].append(plan)
        out["changed"] = out["changed"] or plan["actions"] > 0
        _add_steps(steps, planned_steps(plan))
        return
    run = driver.run(operation, names, snapshot)
    out["changed"] = out["changed"] or bool(run.get("changed"))
    _add_steps(steps, done_steps(run))
    if not run.get("ok", True):
        raise run_failure(run)


def _targets(request: Request, driver: Any, operation: str, snapshot: str) -> tuple[str, ...] | None:
    """The machine names to give hosted: () for all of them, None for "nothing to do"."""
    if operation not in ON_EXISTING:
        return tuple(request.machines)
    rows = driver.status()
    existing = [r["machine"] for r in rows if r.get("exists")]
    names = [n for n in request.machines if n in existing] if request.machines else []
    if request.machines and not names:
        return None
    if operation == "snapshot save":
        have = driver.snapshot_names()
        chosen = names or [r["machine"] for r in rows if r.get("exists") and r.get("in_profile", True)]
        lacking = [n for n in chosen if snapshot not in have.get(n, ())]
        return tuple(lacking) if lacking else None
    return tuple(names)


def _add_steps(steps: dict[str, list[str]], found: dict[str, list[str]]) -> None:
    for machine, descriptions in found.items():
        steps.setdefault(machine, []).extend(descriptions)


def _machines(request: Request, driver: Any, steps: dict[str, list[str]], quiet: bool = False) -> list[Json]:
    """Each machine's state and SSH endpoint now, with what was done to it (or would be)."""
    try:
        with driver.errors():
            rows = driver.status()
    except HostedFailure:
        if not quiet:
            raise
        rows = []
    chosen = [r for r in rows if not request.machines or r["machine"] in request.machines]
    return [{"machine": r["machine"], "vm_name": r.get("vm_name"), "uuid": r.get("uuid"),
             "state": r.get("power"), "desired": r.get("desired"), "in_profile": r.get("in_profile", True),
             "drift": list(r.get("drift") or []), "ssh": r.get("ssh"),
             "steps": steps.get(r["machine"], [])} for r in chosen]


def slim_plan(plan: Json) -> Json:
    """hosted's Plan.to_json(), each step cut to what a reader of a task's result needs."""
    def step(s: Json) -> Json:
        return {"kind": s.get("kind"), "description": s.get("description"), "noop": bool(s.get("noop")),
                "needs_confirmation": bool(s.get("needs_confirmation"))}

    return {"environment": plan.get("environment"), "operation": plan.get("operation"),
            "actions": plan.get("actions", 0), "warnings": list(plan.get("warnings") or []),
            "images": [step(s) for s in plan.get("images") or []],
            "machines": [{"machine": m.get("machine"), "vm_name": m.get("vm_name"),
                          "steps": [step(s) for s in m.get("steps") or []]}
                         for m in plan.get("machines") or []]}


def empty_plan(environment: str, operation: str) -> Json:
    return {"environment": environment, "operation": operation.replace(" ", "-"), "actions": 0,
            "warnings": [], "images": [], "machines": []}


def planned_steps(plan: Json) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for s in plan["images"]:
        if not s["noop"]:
            found.setdefault("host", []).append(s["description"])
    for m in plan["machines"]:
        found[m["machine"]] = [s["description"] for s in m["steps"] if not s["noop"]]
    return found


def done_steps(run: Json) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for m in run.get("images") or []:
        found.setdefault("host", []).extend(m.get("changed") or [])
    for m in run.get("machines") or []:
        found.setdefault(m["machine"], []).extend(m.get("changed") or [])
    return {k: v for k, v in found.items() if v}


def run_failure(run: Json) -> HostedFailure:
    """A run in which machines failed, as hosted's CLI reports it (``error`` of its envelope)."""
    failed = [m for m in list(run.get("images") or []) + list(run.get("machines") or []) if m.get("error")]
    if not failed:
        error = run.get("error") or {}
        return HostedFailure(error.get("message", f"hosted {run.get('operation')} failed"),
                             error.get("hint", ""), error.get("exit_code", EXIT_FAILED),
                             error.get("type", "OperationFailed"))
    first = failed[0]["error"]
    if len(failed) == 1:
        return HostedFailure(f"{failed[0]['machine']}: {first['message']}", first.get("hint", ""),
                             EXIT_FAILED, first.get("type", "OperationFailed"))
    return HostedFailure(f"{len(failed)} failed: {', '.join(m['machine'] for m in failed)}",
                         "each one's error is in its entry of `machines`", EXIT_FAILED, "OperationFailed")


def diff(result: Json, check_mode: bool) -> Json:
    """``--diff``: the plan's steps (check mode) or the steps done, one line each."""
    lines = []
    if check_mode:
        for plan in result.get("plans", []):
            lines.append(f"hosted {plan['operation']}, environment {plan['environment']}: "
                         f"{plan['actions']} step(s)")
            lines += ["+ host: " + s["description"] for s in plan["images"] if not s["noop"]]
            lines += [f"+ {m['machine']}: {s['description']}"
                      for m in plan["machines"] for s in m["steps"] if not s["noop"]]
    else:
        lines.append(f"hosted, environment {result['environment']}:")
        lines += [f"+ host: {s}" for s in result.get("host_steps", [])]
        lines += [f"+ {m['machine']}: {s}" for m in result.get("machines", []) for s in m["steps"]]
    return {"prepared": "\n".join(lines) + "\n"}
