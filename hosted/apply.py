"""Run a Plan on a Backend.

Steps of one machine run in order; independent machines may run in parallel
(``ApplyOptions.parallel``).  A machine whose step fails is reported with its
error and the others go on.  Consecutive configuration changes of a
machine are applied in one backend call (one lock, one save).  Steps that
destroy something or restart a running machine are confirmed before anything
is done at all; unconfirmed, the run refuses and changes nothing.
"""

from __future__ import annotations

import functools
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from hosted import __version__, paths
from hosted.backend.base import Backend, StartMode
from hosted.errors import ConfirmationRequired, HostedError, ImageError, MachineNotFound, PortConflict
from hosted.events import Emit, Event
from hosted.images import installer
from hosted.images.seed import needs_seed, write_seed
from hosted.images.templates import ResolveImage, TemplateImage, ensure_template
from hosted.model import Environment, ImageSpec, MachineSpec, ObservedMachine, Tags
from hosted.plan import MachinePlan, Plan
from hosted.ports import port_is_listening
from hosted.steps import Step

# Called after a machine was started (or found running), for readiness and
# provisioning; returns phase timings to add to the result.
AfterStart = Callable[[MachineSpec, str, Emit], dict[str, float]]
Confirm = Callable[[Sequence[str]], bool]


@dataclass(frozen=True)
class ApplyOptions:
    yes: bool = False
    confirm: Confirm | None = None  # None: no way to ask (no terminal)
    halt_timeout: float = 60.0
    start_mode: StartMode = "headless"
    after_start: AfterStart | None = None
    parallel: int = 1  # machines worked on at once; steps of one machine always run in order
    # Fetches, verifies and unpacks a machine's base image (the CLI passes the image cache);
    # None: machines with `image:` fail with ImageError, the others go on.
    images: ResolveImage | None = None


@dataclass
class MachineResult:
    machine: str
    vm_name: str
    uuid: str | None
    changed: list[str] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)
    error: HostedError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class ApplyResult:
    machines: list[MachineResult]

    @property
    def ok(self) -> bool:
        return all(m.ok for m in self.machines)

    @property
    def failed(self) -> list[MachineResult]:
        return [m for m in self.machines if not m.ok]


def tags_for(environment: Environment, spec: MachineSpec) -> Tags:
    return Tags(environment.name, spec.name, spec.config_hash(), __version__)


def require_confirmation(pending: Sequence[str], yes: bool, confirm: Confirm | None) -> None:
    """Ask once for everything in ``pending``; refuse (changing nothing) unless it is given."""
    if not pending or yes:
        return
    if confirm is None:
        raise ConfirmationRequired(
            "these steps need confirmation and there is no terminal to ask: " + "; ".join(pending),
            "run again with --yes to allow them; nothing was changed",
        )
    if not confirm(pending):
        raise ConfirmationRequired(
            "not confirmed; nothing was changed", "run again and answer yes, or use --yes"
        )


def confirm_plan(plan: Plan, options: ApplyOptions) -> None:
    """Ask once for every step that needs it; raise ConfirmationRequired if not given."""
    pending = [f"{m.machine} ({m.vm_name}): {s.describe()}" for m, s in plan.needing_confirmation()]
    require_confirmation(pending, options.yes, options.confirm)


def apply(
    plan: Plan,
    environment: Environment,
    backend: Backend,
    emit: Emit,
    options: ApplyOptions | None = None,
) -> ApplyResult:
    options = options or ApplyOptions()
    confirm_plan(plan, options)
    def run(mp: MachinePlan) -> MachineResult:
        return _MachineRun(mp, environment, backend, emit, options).run()

    if options.parallel <= 1 or len(plan.machines) <= 1:
        return ApplyResult([run(mp) for mp in plan.machines])
    with ThreadPoolExecutor(max_workers=options.parallel, thread_name_prefix="hosted-apply") as pool:
        return ApplyResult(list(pool.map(run, plan.machines)))


class _MachineRun:
    def __init__(
        self, mp: MachinePlan, environment: Environment, backend: Backend, emit: Emit, options: ApplyOptions
    ) -> None:
        self.mp = mp
        self.environment = environment
        self.backend = backend
        self.emit = emit
        self.options = options
        self.result = MachineResult(mp.machine, mp.vm_name, mp.uuid)
        self.running = False

    def run(self) -> MachineResult:
        try:
            self._run_steps()
            self._after_start()
        except HostedError as exc:
            self.result.error = exc
            self.emit(Event("warning", f"failed: {exc.message}", machine=self.mp.machine))
        return self.result

    def _run_steps(self) -> None:
        # Every change of the machine goes in one configure call (one lock, one
        # save), at the place of the first one: the plan puts them all between
        # a stop and a start, with no-ops in between.
        changes = [s for s in self.mp.steps if s.action == "change"]
        for step in self.mp.steps:
            if step.action == "noop":
                self.emit(Event("step-noop", step.describe(), machine=step.machine))
            elif step.action != "change":
                self._timed([step], functools.partial(self._do, step))
            elif step is changes[0]:
                self._timed(changes, functools.partial(self._configure, changes))

    def _timed(self, steps: list[Step], fn: Callable[[], None]) -> None:
        for s in steps:
            self.emit(Event("step-started", s.describe(), machine=s.machine))
        t0 = time.monotonic()
        fn()
        took = time.monotonic() - t0
        for s in steps:
            self.emit(Event("step-finished", s.describe(), machine=s.machine, seconds=took))
            self.result.changed.append(s.describe())
        phase = "configure" if steps[0].action in ("create", "change") else steps[0].action
        self.result.phases[phase] = self.result.phases.get(phase, 0.0) + took

    def _uuid(self) -> str:
        if self.result.uuid is None:
            raise MachineNotFound(f"{self.mp.machine}: the machine does not exist", "run `hosted up` again")
        return self.result.uuid

    def _configure(self, batch: list[Step]) -> None:
        spec = self._spec()
        keys = [s.key for s in batch if s.key]
        self.backend.configure(self._uuid(), spec, keys, tags_for(self.environment, spec), self.emit)

    def _spec(self) -> MachineSpec:
        if self.mp.spec is None:
            raise MachineNotFound(f"{self.mp.machine}: not in the profile", "")
        return self.mp.spec

    def _do(self, step: Step) -> None:
        b, emit = self.backend, self.emit
        if step.action == "create":
            spec = self._spec()
            tags = tags_for(self.environment, spec)
            observed = self._from_image(spec, tags) if spec.image else b.create_machine(spec, tags, emit)
            self.result.uuid = observed.uuid
        elif step.action == "start":
            self._check_listeners()
            self._finish_install()
            b.start(self._uuid(), self.options.start_mode, emit)
            self.running = True
        elif step.action == "resume":
            b.resume(self._uuid(), emit)
            self.running = True
        elif step.action == "stop":
            b.stop(self._uuid(), "acpi", self.options.halt_timeout, emit)
            self.running = False
        elif step.action == "destroy":
            b.destroy(self._uuid(), emit)
            # The machine's pinned host keys and logs go with it: a machine
            # made again under the same name is a new host.
            shutil.rmtree(paths.machine_dir(self.environment.name, step.machine), ignore_errors=True)

    def _local_image(self, spec: MachineSpec) -> tuple[ImageSpec, TemplateImage]:
        image = self.environment.image(spec.image or "")
        if image is None:
            raise ImageError(f"{spec.name}: no image named {spec.image!r} in the profile",
                             "add it under `images:` or fix the machine's `image:`")
        if self.options.images is None:
            raise ImageError(f"{spec.name}: cannot get image {image.name!r} here",
                             "run through `hosted up`, which fetches images")
        return image, self.options.images(image, self.emit)

    def _from_image(self, spec: MachineSpec, tags: Tags) -> ObservedMachine:
        """A clone of the image's template (imported first when there is no healthy one),
        or, for an installer ISO, an empty machine prepared to install its OS unattended."""
        image, local = self._local_image(spec)
        if local.kind == "iso":
            env, emit = self.environment, self.emit
            return installer.install_machine(self.backend, env, spec, tags, local.path, emit)
        template = ensure_template(self.backend, image, local, self.emit)
        return self.backend.clone_from_template(template, self._with_seed(spec), tags, spec.linked, self.emit)

    def _finish_install(self) -> None:
        """A machine made for an unattended install whose preparation never ran (a crash)."""
        spec = self.mp.spec
        if spec is None or spec.image is None or not installer.is_pending(self.backend, self._uuid()):
            return
        _image, local = self._local_image(spec)
        installer.prepare(self.backend, self.environment, spec, self._uuid(), local.path, self.emit)

    def _with_seed(self, spec: MachineSpec) -> MachineSpec:
        """A cloud image gets its NoCloud seed in the DVD drive (dvd stays undeclared: no drift)."""
        if not needs_seed(self.environment, spec):
            return spec
        if spec.dvd is not None:
            self.emit(Event("warning", "dvd is declared, so the cloud-init seed is not attached",
                            machine=spec.name))
            return spec
        return replace(spec, dvd=str(write_seed(self.environment, spec)))

    def _check_listeners(self) -> None:
        """A fixed forward whose host port another program holds would fail silently
        inside VirtualBox's NAT: refuse to start instead, naming the port."""
        for f in self.mp.spec.forwards() if self.mp.spec is not None else ():
            if f.host is not None and port_is_listening(f.host_ip, f.host, f.protocol):
                raise PortConflict(
                    f"{self.mp.machine}: host port {f.host_ip}:{f.host} (forward {f.name!r}) is "
                    "already in use by another program",
                    "stop that program, or change the forward's host port (or `host: auto`) in the profile",
                )

    def _after_start(self) -> None:
        spec = self.mp.spec
        if spec is None or spec.state != "running" or self.options.after_start is None:
            return
        if not self.running:
            already = any(s.action == "noop" and s.key == "state" for s in self.mp.steps)
            if not already:
                return
        phases = self.options.after_start(spec, self._uuid(), self.emit)
        self.result.phases.update(phases)
