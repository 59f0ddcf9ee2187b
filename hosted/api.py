"""The public library API: what the CLI does, as functions (``import hosted``).

Every function takes the loaded environment (``hosted.load``), never prints and
never prompts: progress goes to ``on_event`` (a callable taking an ``Event``),
and a step that needs confirmation (destroying a machine, restarting a running
one, discarding its state) runs only with ``yes=True`` or when ``confirm``
(called once with every such step) returns True; otherwise the call raises
ConfirmationRequired and nothing changes.  Expected failures are HostedErrors
with a message and a hint; a machine that fails is reported in the result while
the others go on.  ``backend`` reuses an open connection (``hosted.connect()``);
without it each call connects to VirtualBox and disconnects.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hosted import facts as facts_
from hosted.backend.base import Backend
from hosted.errors import HostedError, MachineNotFound, SshError, UnknownSnapshot, UsageError
from hosted.events import Emit, Event, discard
from hosted.model import Environment

if TYPE_CHECKING:
    from hosted.host_status import EnvironmentSummary
    from hosted.machine_status import MachineStatus
    from hosted.planner import Plan
    from hosted.remote import CommandFailed as CommandFailed
    from hosted.remote import CommandResult as CommandResult
    from hosted.remote import Remote as Remote
    from hosted.run import Confirm, RunOptions, RunResult
    from hosted.snapshots import MachineSnapshots
    from hosted.ssh import SshTarget

# What a command needs is imported when it runs: `snapshot list` never loads the planner, `status`
# never loads the runner (each is tens of dataclasses built at import; bench/startup.py).
_REEXPORTED = {"CommandFailed": "hosted.remote", "CommandResult": "hosted.remote", "Remote": "hosted.remote"}


def __getattr__(name: str) -> Any:
    if name in _REEXPORTED:
        return getattr(importlib.import_module(_REEXPORTED[name]), name)
    raise AttributeError(f"module 'hosted.api' has no attribute {name!r}")

OnEvent = Callable[[Event], None]


def load(path: str | Path | None = None) -> Environment:
    """Load and validate a profile; ProfileError names file, line, key.  Without ``path``:
    ``$HOSTED_FILE``, else ``hosted.yaml`` here or in the nearest parent directory that has one."""
    from hosted.profile import find_profile, load_profile

    return load_profile(find_profile(None if path is None else str(path)))


def connect(on_event: OnEvent | None = None) -> Backend:
    """An open connection to VirtualBox, to pass as ``backend=`` to several calls; ``close()`` it."""
    from hosted.compose import open_backend

    return open_backend(on_event or discard)


@contextlib.contextmanager
def _connected(backend: Backend | None, emit: Emit) -> Iterator[Backend]:
    if backend is not None:
        yield backend
        return
    opened = connect(emit)
    try:
        yield opened
    finally:
        opened.close()


@contextlib.contextmanager
def _changing(env: Environment, command: str, backend: Backend | None, emit: Emit,
              wait_lock: bool) -> Iterator[Backend]:
    """The environment held for ``command`` (one run at a time), and a connection."""
    from hosted.run.lock import environment_lock

    with environment_lock(env.name, command, emit, wait=wait_lock), _connected(backend, emit) as b:
        yield b


def _options(yes: bool, confirm: Confirm | None, parallel: int) -> RunOptions:
    from hosted.run import RunOptions

    return RunOptions(yes=yes, confirm=confirm, parallel=parallel)


def plan(env: Environment, machines: Sequence[str] = (), *, wait: bool = True, provision: bool = True,
         backend: Backend | None = None, on_event: OnEvent | None = None) -> Plan:
    """Every step ``up`` would take (fetch, import, clone, configure, start, wait, provision,
    baseline, destroy of machines gone from the profile), changing nothing."""
    from hosted import planner as plans
    from hosted.planner import UpOptions

    emit = on_event or discard
    with _connected(backend, emit) as b:
        known = facts_.for_up(env, b, machines, provision=provision and wait)
    return plans.plan(env, known, only=machines, options=UpOptions(wait=wait, provision=provision))


PREVIEWS = ("up", "halt", "destroy", "reset", "snapshot save", "snapshot restore")
# Their planners compare no setting: the machines are read in brief (power, tags).  Only
# destroy's reads the NICs too, when hosted has a network on the host (it goes with its last
# machine); the others touch no NIC or network, and reading NICs costs about 5-15 ms a machine
# (bench/README.md).
BRIEF = frozenset({"halt", "suspend", "resume", "destroy", "snapshot save", "snapshot restore",
                   "snapshot delete", "snapshot push", "snapshot pop"})
# How each reads its machines' NICs (facts.for_machines' ``nics``; any other command: True).
NICS: dict[str, bool | None] = {**dict.fromkeys(BRIEF, False), "destroy": None}


def preview(env: Environment, operation: str, machines: Sequence[str] = (), *, snapshot: str = "",
            force: bool = False, timeout: float = 60.0, wait: bool = True, provision: bool = True,
            backend: Backend | None = None, on_event: OnEvent | None = None) -> Plan:
    """The plan that ``operation`` (one of ``PREVIEWS``; ``snapshot`` names the snapshot to save or
    restore) would run with these arguments, changing nothing: ``plan`` for any command, as
    the Ansible module's check mode needs.  Refusals the command would make before changing
    anything (an unknown snapshot, a name taken) are raised the same way."""
    from hosted import planner as plans
    from hosted.planner import UpOptions

    if operation == "up":
        return plan(env, machines, wait=wait, provision=provision, backend=backend, on_event=on_event)
    planners: dict[str, tuple[Callable[[facts_.Facts], Plan], dict[str, bool]]] = {
        "halt": (lambda f: plans.plan_halt(env, f, machines, force=force, timeout=timeout), {}),
        "destroy": (lambda f: plans.plan_destroy(env, f, machines), {}),
        "reset": (lambda f: plans.plan_reset(env, f, machines, UpOptions(wait=wait)),
                  {"snapshots": True, "provisioning": wait}),
        "snapshot save": (lambda f: plans.plan_save(env, f, snapshot, machines, force=force),
                          {"snapshots": True}),
        "snapshot restore": (_known_snapshot(env, snapshot, machines,
                                             lambda f: plans.plan_restore(env, f, snapshot, machines)),
                             {"snapshots": True}),
    }
    if operation not in planners:
        raise UsageError(f"no preview of {operation!r}", f"one of: {', '.join(PREVIEWS)}")
    planner, reads = planners[operation]
    with _connected(backend, on_event or discard) as b:
        return planner(facts_.for_machines(env, b, brief=operation in BRIEF,
                                           nics=NICS.get(operation, True), **reads))


def up(env: Environment, machines: Sequence[str] = (), *, yes: bool = False, confirm: Confirm | None = None,
       on_event: OnEvent | None = None, parallel: int = 0, wait: bool = True, provision: bool = True,
       backend: Backend | None = None, wait_lock: bool = True) -> RunResult:
    """Make VirtualBox match the profile: create, configure, start, wait for SSH, provision."""
    from hosted import planner as plans
    from hosted.planner import UpOptions
    from hosted.run import run

    emit = on_event or discard
    with _changing(env, "up", backend, emit, wait_lock) as b:
        known = facts_.for_up(env, b, machines, provision=provision and wait)
        the_plan = plans.plan(env, known, only=machines, options=UpOptions(wait=wait, provision=provision))
        return _with_forwards(run(the_plan, env, b, emit, _options(yes, confirm, parallel)), known)


def _with_forwards(result: RunResult, known: facts_.Facts) -> RunResult:
    """Machines whose forwards the run did not read have them as read before it (nothing changed
    them), so that showing where to reach them reads nothing again."""
    before = {m.uuid: m for m in known.machines}
    for m in result.machines:
        if m.forwards is None and m.uuid in before:
            m.forwards = before[m.uuid].forwards()
    return result


def reload(env: Environment, machines: Sequence[str] = (), *, yes: bool = False,
           confirm: Confirm | None = None, on_event: OnEvent | None = None, parallel: int = 0,
           wait: bool = True, provision: bool = True, timeout: float = 60.0,
           backend: Backend | None = None, wait_lock: bool = True) -> RunResult:
    """Shut the machines down, apply what needs them off, and bring them up again."""
    from hosted import planner as plans
    from hosted.planner import UpOptions
    from hosted.run import run

    emit = on_event or discard
    with _changing(env, "reload", backend, emit, wait_lock) as b:
        known = facts_.for_up(env, b, machines, provision=provision and wait)
        the_plan = plans.plan_reload(env, known, only=machines, timeout=timeout,
                                     options=UpOptions(wait=wait, provision=provision))
        return run(the_plan, env, b, emit, _options(yes, confirm, parallel))


def provision(env: Environment, machines: Sequence[str] = (), *, on_event: OnEvent | None = None,
              parallel: int = 0, backend: Backend | None = None, wait_lock: bool = True) -> RunResult:
    """Run every provisioning step again ("once" steps too) on the running machines."""
    from hosted import planner as plans
    from hosted.run import run

    emit = on_event or discard
    with _changing(env, "provision", backend, emit, wait_lock) as b:
        known = facts_.for_machines(env, b, snapshots=True, provisioning=True)
        return run(plans.plan_provision(env, known, machines), env, b, emit, _options(False, None, parallel))


def status(env: Environment, machines: Sequence[str] = (), *, backend: Backend | None = None,
           ) -> list[MachineStatus]:
    """Each machine: power state, drift from the profile, forwards, SSH endpoint.  Reads the
    environment's machines, and another machine only when it has a name the profile wants."""
    from hosted.machine_status import machine_status

    specs = [s for s in env.machines if not machines or s.name in machines]
    with _connected(backend, discard) as b:
        return machine_status(env, facts_.observed_for(env, b, specs), machines)


def list_environments(*, backend: Backend | None = None) -> list[EnvironmentSummary]:
    """Every environment and machine hosted made on this host, read from VirtualBox's tags in
    one pass over its machines (no profile needed); ``.to_json()`` on each."""
    from hosted.host_status import host_environments

    with _connected(backend, discard) as b:
        return host_environments(b.list_machines(brief=True))


def _change(env: Environment, command: str, planner: Callable[[facts_.Facts], Plan],
            on_event: OnEvent | None, backend: Backend | None, *, yes: bool = False,
            confirm: Confirm | None = None, parallel: int = 0, wait_lock: bool = True,
            snapshots: bool = False, provisioning: bool = False) -> RunResult:
    """Hold the environment, read its machines (and snapshots, and what provisioning needs),
    plan, run."""
    from hosted.run import run

    emit = on_event or discard
    with _changing(env, command, backend, emit, wait_lock) as b:
        known = facts_.for_machines(env, b, snapshots=snapshots, provisioning=provisioning,
                                    brief=command in BRIEF, nics=NICS.get(command, True))
        return run(planner(known), env, b, emit, _options(yes, confirm, parallel))


def halt(env: Environment, machines: Sequence[str] = (), *, force: bool = False, timeout: float = 60.0,
         on_event: OnEvent | None = None, parallel: int = 0, backend: Backend | None = None,
         wait_lock: bool = True) -> RunResult:
    """Shut machines down (ACPI, then power off after ``timeout``); ``force``: power off at once."""
    from hosted import planner as plans

    return _change(env, "halt", lambda f: plans.plan_halt(env, f, machines, force=force, timeout=timeout),
                   on_event, backend, parallel=parallel, wait_lock=wait_lock)


def suspend(env: Environment, machines: Sequence[str] = (), *, on_event: OnEvent | None = None,
            parallel: int = 0, backend: Backend | None = None, wait_lock: bool = True) -> RunResult:
    from hosted import planner as plans

    return _change(env, "suspend", lambda f: plans.plan_suspend(env, f, machines), on_event, backend,
                   parallel=parallel, wait_lock=wait_lock)


def resume(env: Environment, machines: Sequence[str] = (), *, on_event: OnEvent | None = None,
           parallel: int = 0, backend: Backend | None = None, wait_lock: bool = True) -> RunResult:
    from hosted import planner as plans

    return _change(env, "resume", lambda f: plans.plan_resume(env, f, machines), on_event, backend,
                   parallel=parallel, wait_lock=wait_lock)


def destroy(env: Environment, machines: Sequence[str] = (), *, yes: bool = False,
            confirm: Confirm | None = None, on_event: OnEvent | None = None, parallel: int = 0,
            backend: Backend | None = None, wait_lock: bool = True) -> RunResult:
    """Power off and delete the environment's machines (only those hosted made; asked first)."""
    from hosted import planner as plans

    return _change(env, "destroy", lambda f: plans.plan_destroy(env, f, machines), on_event, backend,
                   yes=yes, confirm=confirm, parallel=parallel, wait_lock=wait_lock)


def snapshot_save(env: Environment, name: str, machines: Sequence[str] = (), *, force: bool = False,
                  on_event: OnEvent | None = None, parallel: int = 0, backend: Backend | None = None,
                  wait_lock: bool = True) -> RunResult:
    """Take snapshot ``name`` of each machine (live when it runs); ``force`` replaces one of that name."""
    from hosted import planner as plans

    return _change(env, "snapshot save", lambda f: plans.plan_save(env, f, name, machines, force=force),
                   on_event, backend, parallel=parallel, wait_lock=wait_lock, snapshots=True)


def snapshot_restore(env: Environment, name: str, machines: Sequence[str] = (), *, yes: bool = False,
                     confirm: Confirm | None = None, on_event: OnEvent | None = None, parallel: int = 0,
                     backend: Backend | None = None, wait_lock: bool = True) -> RunResult:
    """Back to snapshot ``name`` and to its power state (discarding a running state is confirmed)."""
    from hosted import planner as plans

    planner = _known_snapshot(env, name, machines, lambda f: plans.plan_restore(env, f, name, machines))
    return _change(env, "snapshot restore", planner, on_event, backend, yes=yes, confirm=confirm,
                   parallel=parallel, wait_lock=wait_lock, snapshots=True)


def snapshot_delete(env: Environment, name: str, machines: Sequence[str] = (), *,
                    on_event: OnEvent | None = None, parallel: int = 0, backend: Backend | None = None,
                    wait_lock: bool = True) -> RunResult:
    from hosted import planner as plans

    planner = _known_snapshot(env, name, machines, lambda f: plans.plan_delete(env, f, name, machines))
    return _change(env, "snapshot delete", planner, on_event, backend, parallel=parallel, wait_lock=wait_lock,
                   snapshots=True)


def _known_snapshot(env: Environment, name: str, machines: Sequence[str],
                    planner: Callable[[facts_.Facts], Plan]) -> Callable[[facts_.Facts], Plan]:
    """``planner``, after checking that the name is one the machines have: named machines must
    all have it, otherwise at least one must (UnknownSnapshot, exit 2, before any change)."""
    def checked(known: facts_.Facts) -> Plan:
        chosen = facts_.select(env, known, machines)
        lacking = [m.label for m in chosen if all(s.name != name for s in known.snapshots.get(m.uuid, ()))]
        if chosen and (len(lacking) == len(chosen) or (machines and lacking)):
            raise UnknownSnapshot(f"{', '.join(lacking)}: no snapshot named {name!r}; nothing was changed",
                                  "`hosted snapshot list` shows each machine's snapshots")
        return planner(known)

    return checked


def snapshot_push(env: Environment, machines: Sequence[str] = (), *, on_event: OnEvent | None = None,
                  parallel: int = 0, backend: Backend | None = None, wait_lock: bool = True) -> RunResult:
    from hosted import planner as plans

    return _change(env, "snapshot push", lambda f: plans.plan_push(env, f, machines), on_event, backend,
                   parallel=parallel, wait_lock=wait_lock, snapshots=True)


def snapshot_pop(env: Environment, machines: Sequence[str] = (), *, yes: bool = False,
                 confirm: Confirm | None = None, on_event: OnEvent | None = None, parallel: int = 0,
                 backend: Backend | None = None, wait_lock: bool = True) -> RunResult:
    from hosted import planner as plans

    return _change(env, "snapshot pop", lambda f: plans.plan_pop(env, f, machines), on_event, backend,
                   yes=yes, confirm=confirm, parallel=parallel, wait_lock=wait_lock, snapshots=True)


def snapshot_list(env: Environment, machines: Sequence[str] = (), *,
                  backend: Backend | None = None) -> list[MachineSnapshots]:
    """Each machine's snapshot tree."""
    from hosted.snapshots import MachineSnapshots, tree

    with _connected(backend, discard) as b:
        known = facts_.for_machines(env, b, snapshots=True, brief=True, nics=False)
        return [MachineSnapshots(m.label, m.vm_name, m.uuid, m.power, tuple(tree(known.snapshots[m.uuid])))
                for m in facts_.select(env, known, machines)]


def reset(env: Environment, machines: Sequence[str] = (), *, yes: bool = False,
          confirm: Confirm | None = None, on_event: OnEvent | None = None, parallel: int = 0,
          wait: bool = True, backend: Backend | None = None, wait_lock: bool = True) -> RunResult:
    """Back to the 'baseline' snapshot, then to the desired state: ready, and "always" steps run
    (``wait=False``: started, without waiting for SSH or provisioning)."""
    from hosted import planner as plans
    from hosted.planner import UpOptions

    options = UpOptions(wait=wait)
    return _change(env, "reset", lambda f: plans.plan_reset(env, f, machines, options), on_event, backend,
                   yes=yes, confirm=confirm, parallel=parallel, wait_lock=wait_lock, snapshots=True,
                   provisioning=wait)


def log_paths(env: Environment, machine: str, *, backend: Backend | None = None) -> dict[str, str]:
    """A machine's diagnostic files: ``{"serial": ..., "vbox": ...}`` (they may not exist yet)."""
    with _connected(backend, discard) as b:
        known = facts_.for_machines(env, b, brief=True, nics=False)
        return b.log_paths(facts_.select(env, known, [machine])[0].uuid)


def run_command(env: Environment, machine: str, command: str, *, timeout: float | None = 600.0,
                check: bool = False, on_output: Callable[[str], None] | None = None,
                backend: Backend | None = None, separate: bool = False) -> CommandResult:
    """Run ``command`` in a running machine over SSH (its pinned host key); ``check``: a
    non-zero exit status raises CommandFailed (an SshError).  ``separate``: stdout and
    stderr are kept apart (``.stdout``, ``.stderr``); otherwise ``.output`` has them merged."""
    from hosted.remote import CommandFailed, CommandResult

    if separate:
        with open_remote(env, machine, timeout=timeout or 60.0, backend=backend) as remote:
            return remote.run(command, timeout=timeout, check=check, on_output=on_output)
    lines: list[str] = []

    def collect(line: str) -> None:
        lines.append(line)
        if on_output is not None:
            on_output(line)

    with open_remote(env, machine, timeout=timeout or 60.0, backend=backend) as remote:
        status, _ = remote.session.run(command, on_output=collect, timeout=timeout)
    result = CommandResult(status, "\n".join(lines), command=command)
    if check and not result.ok:
        raise CommandFailed(machine, result)
    return result


def open_remote(env: Environment, machine: str, *, timeout: float = 60.0,
                backend: Backend | None = None) -> Remote:
    """One SSH login to a running machine (its pinned host key), for several commands and
    copies (``.run``, ``.upload``, ``.download``); ``close()`` it when done."""
    from hosted.remote import Remote
    from hosted.ssh import connect as ssh_connect

    return Remote(ssh_connect(_target(env, machine, backend), timeout), machine)


def forwarded_port(env: Environment, machine: str, guest_port: int, *, protocol: str = "tcp",
                   backend: Backend | None = None) -> int:
    """The host port of the machine's NAT forward to ``guest_port`` (``host: auto`` ones as chosen)."""
    with _connected(backend, discard) as b:
        found = next((m for m in b.list_machines(env.name, brief=True) if m.label == machine), None)
    if found is None:
        raise MachineNotFound(f"no machine named {machine} exists in environment {env.name!r}",
                              "`hosted up` creates it")
    port = next((f.host for f in found.forwards() if f.guest == guest_port and f.protocol == protocol
                 and f.host is not None), None)
    if port is None:
        raise UsageError(f"{machine} forwards no host port to guest port {guest_port}/{protocol}",
                         f"add {{guest: {guest_port}, host: auto}} to the forwards of its nat NIC")
    return port


def provision_log(env: Environment, machine: str) -> Path:
    """The file that keeps the output of the machine's provisioning steps (it may not exist yet)."""
    from hosted import paths

    return paths.machine_dir(env.name, machine) / "provision.log"
def inventory(env: Environment, fmt: str = "ini", *, backend: Backend | None = None,
              ) -> tuple[str, list[str]]:
    """An Ansible inventory (``fmt``: "ini" or "yaml") of the environment's running machines, and
    the machines left out (not running, or no SSH forward)."""
    from hosted.provisioning.inventory import inventory as build
    from hosted.provisioning.inventory import render

    with _connected(backend, discard) as b:
        data = build(env, b.list_machines(env.name, brief=True))
    hosts = data["all"]["hosts"]
    return render(data, fmt), [m.name for m in env.machines if m.name not in hosts]


def ssh_targets(env: Environment, names: Sequence[str], backend: Backend | None = None,
                ) -> list[SshTarget | HostedError]:
    """Each named machine's SshTarget, or the HostedError saying why it has none (one look at VirtualBox)."""
    from hosted.ssh import ssh_target

    with _connected(backend, discard) as b:
        owned = {m.label: m for m in b.list_machines(env.name, brief=True)}
    found: list[SshTarget | HostedError] = []
    for name in names:
        machine, spec = owned.get(name), env.machine(name)
        if machine is None or spec is None:
            found.append(MachineNotFound(f"no machine named {name} exists in environment {env.name!r}",
                                         "`hosted status` lists the environment's machines; "
                                         "`hosted up` creates them"))
        elif not machine.power.is_on:
            found.append(SshError(f"{name} is not running ({machine.power.value})", "`hosted up` starts it"))
        else:
            target = ssh_target(env.name, machine, spec)
            found.append(target if target is not None else SshError(
                f"{name} has no NAT forward to its SSH port",
                "add {name: ssh, guest: 22, host: auto} to the machine's nat NIC"))
    return found


def upload(env: Environment, machine: str, local: str | Path, remote: str, *,
           backend: Backend | None = None, timeout: float = 60.0) -> str:
    """Copy a local file or directory into a running machine over SSH (no SFTP needed); ``remote``
    ending in ``/`` (or an existing directory, for a file) means into it.  A directory's contents
    go into ``remote``.  Returns the remote path."""
    from hosted.ssh import connect as ssh_connect

    source = Path(local)
    if remote.endswith("/"):
        remote = remote + source.name
    with ssh_connect(_target(env, machine, backend), timeout) as session:
        session.upload(source, remote)
    return remote


def download(env: Environment, machine: str, remote: str, local: str | Path, *,
             backend: Backend | None = None, timeout: float = 60.0) -> Path:
    """Copy a file or directory from a running machine to ``local`` over SSH; ``local`` ending in a
    separator, or an existing directory, means into it.  Returns the local path written."""
    from hosted.ssh import connect as ssh_connect

    destination = Path(local)
    parent = destination if str(local).endswith(("/", os.sep)) else destination.parent
    if not parent.absolute().is_dir():
        raise UsageError(f"{parent}: no such directory", "create it first, or copy somewhere else")
    with ssh_connect(_target(env, machine, backend), timeout) as session:
        return session.download(remote, local)


def _target(env: Environment, machine: str, backend: Backend | None) -> SshTarget:
    target = ssh_targets(env, [machine], backend)[0]
    if isinstance(target, HostedError):
        raise target
    return target
