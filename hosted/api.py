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
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from hosted import facts as facts_
from hosted import planner as plans
from hosted.backend.base import Backend
from hosted.errors import HostedError, MachineNotFound, SshError, UsageError
from hosted.events import Emit, Event, discard
from hosted.machine_status import MachineStatus, machine_status
from hosted.model import Environment
from hosted.planner import Plan, UpOptions
from hosted.remote import CommandFailed as CommandFailed
from hosted.remote import CommandResult as CommandResult
from hosted.remote import Remote as Remote
from hosted.run import Confirm, RunOptions, RunResult, run
from hosted.snapshots import MachineSnapshots, tree

if TYPE_CHECKING:
    from hosted.ssh import SshTarget

OnEvent = Callable[[Event], None]


def load(path: str | Path | None = None) -> Environment:
    """Load and validate a profile (default: ``hosted.yaml`` here); ProfileError names file, line, key."""
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


def _options(yes: bool, confirm: Confirm | None, parallel: int) -> RunOptions:
    return RunOptions(yes=yes, confirm=confirm, parallel=parallel)


def plan(env: Environment, machines: Sequence[str] = (), *, wait: bool = True, provision: bool = True,
         backend: Backend | None = None, on_event: OnEvent | None = None) -> Plan:
    """Every step ``up`` would take (fetch, import, clone, configure, start, wait, provision,
    baseline, destroy of machines gone from the profile), changing nothing."""
    emit = on_event or discard
    with _connected(backend, emit) as b:
        known = facts_.for_up(env, b, machines, provision=provision and wait)
    return plans.plan(env, known, only=machines, options=UpOptions(wait=wait, provision=provision))


def up(env: Environment, machines: Sequence[str] = (), *, yes: bool = False, confirm: Confirm | None = None,
       on_event: OnEvent | None = None, parallel: int = 0, wait: bool = True, provision: bool = True,
       backend: Backend | None = None) -> RunResult:
    """Make VirtualBox match the profile: create, configure, start, wait for SSH, provision."""
    emit = on_event or discard
    with _connected(backend, emit) as b:
        known = facts_.for_up(env, b, machines, provision=provision and wait)
        the_plan = plans.plan(env, known, only=machines, options=UpOptions(wait=wait, provision=provision))
        return run(the_plan, env, b, emit, _options(yes, confirm, parallel))


def reload(env: Environment, machines: Sequence[str] = (), *, yes: bool = False,
           confirm: Confirm | None = None, on_event: OnEvent | None = None, parallel: int = 0,
           wait: bool = True, provision: bool = True, timeout: float = 60.0,
           backend: Backend | None = None) -> RunResult:
    """Shut the machines down, apply what needs them off, and bring them up again."""
    emit = on_event or discard
    with _connected(backend, emit) as b:
        known = facts_.for_up(env, b, machines, provision=provision and wait)
        the_plan = plans.plan_reload(env, known, only=machines, timeout=timeout,
                                     options=UpOptions(wait=wait, provision=provision))
        return run(the_plan, env, b, emit, _options(yes, confirm, parallel))


def provision(env: Environment, machines: Sequence[str] = (), *, on_event: OnEvent | None = None,
              parallel: int = 0, backend: Backend | None = None) -> RunResult:
    """Run every provisioning step again ("once" steps too) on the running machines."""
    emit = on_event or discard
    with _connected(backend, emit) as b:
        known = facts_.for_machines(env, b, snapshots=True, provisioning=True)
        return run(plans.plan_provision(env, known, machines), env, b, emit, _options(False, None, parallel))


def status(env: Environment, machines: Sequence[str] = (), *, backend: Backend | None = None,
           ) -> list[MachineStatus]:
    """Each machine: power state, drift from the profile, forwards, SSH endpoint."""
    with _connected(backend, discard) as b:
        return machine_status(env, b.list_machines(), machines)


def _power(planner: Callable[[Environment, facts_.Facts], Plan], env: Environment, emit: Emit,
           backend: Backend | None, options: RunOptions, *, snapshots: bool = False,
           provisioning: bool = False) -> RunResult:
    with _connected(backend, emit) as b:
        known = facts_.for_machines(env, b, snapshots=snapshots, provisioning=provisioning)
        return run(planner(env, known), env, b, emit, options)


def halt(env: Environment, machines: Sequence[str] = (), *, force: bool = False, timeout: float = 60.0,
         on_event: OnEvent | None = None, parallel: int = 0, backend: Backend | None = None) -> RunResult:
    """Shut machines down (ACPI, then power off after ``timeout``); ``force``: power off at once."""
    return _power(lambda e, f: plans.plan_halt(e, f, machines, force=force, timeout=timeout), env,
                  on_event or discard, backend, _options(False, None, parallel))


def suspend(env: Environment, machines: Sequence[str] = (), *, on_event: OnEvent | None = None,
            parallel: int = 0, backend: Backend | None = None) -> RunResult:
    return _power(lambda e, f: plans.plan_suspend(e, f, machines), env, on_event or discard, backend,
                  _options(False, None, parallel))


def resume(env: Environment, machines: Sequence[str] = (), *, on_event: OnEvent | None = None,
           parallel: int = 0, backend: Backend | None = None) -> RunResult:
    return _power(lambda e, f: plans.plan_resume(e, f, machines), env, on_event or discard, backend,
                  _options(False, None, parallel))


def destroy(env: Environment, machines: Sequence[str] = (), *, yes: bool = False,
            confirm: Confirm | None = None, on_event: OnEvent | None = None, parallel: int = 0,
            backend: Backend | None = None) -> RunResult:
    """Power off and delete the environment's machines (only those hosted made; asked first)."""
    return _power(lambda e, f: plans.plan_destroy(e, f, machines), env, on_event or discard, backend,
                  _options(yes, confirm, parallel))


def snapshot_save(env: Environment, name: str, machines: Sequence[str] = (), *, force: bool = False,
                  on_event: OnEvent | None = None, parallel: int = 0,
                  backend: Backend | None = None) -> RunResult:
    """Take snapshot ``name`` of each machine (live when it runs); ``force`` replaces one of that name."""
    return _power(lambda e, f: plans.plan_save(e, f, name, machines, force=force), env, on_event or discard,
                  backend, _options(False, None, parallel), snapshots=True)


def snapshot_restore(env: Environment, name: str, machines: Sequence[str] = (), *, yes: bool = False,
                     confirm: Confirm | None = None, on_event: OnEvent | None = None, parallel: int = 0,
                     backend: Backend | None = None) -> RunResult:
    """Back to snapshot ``name`` and to its power state (discarding a running state is confirmed)."""
    return _power(lambda e, f: plans.plan_restore(e, f, name, machines), env, on_event or discard, backend,
                  _options(yes, confirm, parallel), snapshots=True)


def snapshot_delete(env: Environment, name: str, machines: Sequence[str] = (), *,
                    on_event: OnEvent | None = None, parallel: int = 0,
                    backend: Backend | None = None) -> RunResult:
    return _power(lambda e, f: plans.plan_delete(e, f, name, machines), env, on_event or discard, backend,
                  _options(False, None, parallel), snapshots=True)


def snapshot_push(env: Environment, machines: Sequence[str] = (), *, on_event: OnEvent | None = None,
                  parallel: int = 0, backend: Backend | None = None) -> RunResult:
    return _power(lambda e, f: plans.plan_push(e, f, machines), env, on_event or discard, backend,
                  _options(False, None, parallel), snapshots=True)


def snapshot_pop(env: Environment, machines: Sequence[str] = (), *, yes: bool = False,
                 confirm: Confirm | None = None, on_event: OnEvent | None = None, parallel: int = 0,
                 backend: Backend | None = None) -> RunResult:
    return _power(lambda e, f: plans.plan_pop(e, f, machines), env, on_event or discard, backend,
                  _options(yes, confirm, parallel), snapshots=True)


def snapshot_list(env: Environment, machines: Sequence[str] = (), *,
                  backend: Backend | None = None) -> list[MachineSnapshots]:
    """Each machine's snapshot tree."""
    with _connected(backend, discard) as b:
        known = facts_.for_machines(env, b, snapshots=True)
        return [MachineSnapshots(m.label, m.vm_name, m.uuid, m.power, tuple(tree(known.snapshots[m.uuid])))
                for m in plans.select(env, known, machines)]


def reset(env: Environment, machines: Sequence[str] = (), *, yes: bool = False,
          confirm: Confirm | None = None, on_event: OnEvent | None = None, parallel: int = 0,
          wait: bool = True, backend: Backend | None = None) -> RunResult:
    """Back to the 'baseline' snapshot, then to the desired state: ready, and "always" steps run
    (``wait=False``: started, without waiting for SSH or provisioning)."""
    options = UpOptions(wait=wait)
    return _power(lambda e, f: plans.plan_reset(e, f, machines, options), env, on_event or discard, backend,
                  _options(yes, confirm, parallel), snapshots=True, provisioning=wait)


def log_paths(env: Environment, machine: str, *, backend: Backend | None = None) -> dict[str, str]:
    """A machine's diagnostic files: ``{"serial": ..., "vbox": ...}`` (they may not exist yet)."""
    with _connected(backend, discard) as b:
        known = facts_.for_machines(env, b)
        return b.log_paths(plans.select(env, known, [machine])[0].uuid)


def run_command(env: Environment, machine: str, command: str, *, timeout: float | None = 600.0,
                check: bool = False, on_output: Callable[[str], None] | None = None,
                backend: Backend | None = None, separate: bool = False) -> CommandResult:
    """Run ``command`` in a running machine over SSH (its pinned host key); ``check``: a
    non-zero exit status raises CommandFailed (an SshError).  ``separate``: stdout and
    stderr are kept apart (``.stdout``, ``.stderr``); otherwise ``.output`` has them merged."""
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
    from hosted.ssh import connect as ssh_connect

    target = ssh_targets(env, [machine], backend)[0]
    if isinstance(target, HostedError):
        raise target
    return Remote(ssh_connect(target, timeout), machine)


def forwarded_port(env: Environment, machine: str, guest_port: int, *, protocol: str = "tcp",
                   backend: Backend | None = None) -> int:
    """The host port of the machine's NAT forward to ``guest_port`` (``host: auto`` ones as chosen)."""
    with _connected(backend, discard) as b:
        found = next((m for m in b.list_machines(env.name) if m.label == machine), None)
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


def ssh_targets(env: Environment, names: Sequence[str], backend: Backend | None = None,
                ) -> list[SshTarget | HostedError]:
    """Each named machine's SshTarget, or the HostedError saying why it has none (one look at VirtualBox)."""
    from hosted.ssh import ssh_target

    with _connected(backend, discard) as b:
        owned = {m.label: m for m in b.list_machines(env.name)}
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
