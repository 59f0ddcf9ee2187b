"""The one runner: every command's plan runs here.

It asks once for every step that needs confirmation (and refuses, changing
nothing, without it), runs the host's image steps (each image once, images in
parallel), then the machines in parallel, each machine's steps in order.  A
machine whose step fails is reported with its error and the others go on; a
repeatable step that meets a temporary error (a lock another session holds)
is tried again, with a growing pause.  Progress goes out as events.

Ctrl-C stops the run at once: no lane starts another step and lanes not yet
begun never begin.  The main thread waits for the workers in short slices,
because on Windows (before Python 3.14) a wait without a timeout cannot be
interrupted: Ctrl-C would be seen only when every machine was done.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TypeVar

from hosted.backend.base import Backend
from hosted.errors import ConfirmationRequired, HostedError
from hosted.events import Emit, Event
from hosted.model import Environment
from hosted.planner import MachinePlan, Plan
from hosted.run.context import Confirm, RunOptions, Shared, StepContext
from hosted.run.dispatch import execute
from hosted.run.result import MachineResult, RunResult
from hosted.steps import FetchImage, ImportTemplate, Step

MAX_PARALLEL = 32  # machines at once: their VirtualBox calls overlap, and each thread mostly waits
POLL = 0.2  # seconds: how often the main thread looks up from waiting for the workers (to see Ctrl-C)
T = TypeVar("T")
R = TypeVar("R")


class Interrupted(HostedError):
    """Ctrl-C: the lane stopped before its next step (the run ends with KeyboardInterrupt)."""


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
        raise ConfirmationRequired("not confirmed; nothing was changed",
                                   "run again and answer yes, or use --yes")


def run(plan: Plan, env: Environment, backend: Backend, emit: Emit, options: RunOptions | None = None,
        ) -> RunResult:
    """Run every step of ``plan``; one result per machine (and per image the host prepared)."""
    options = options or RunOptions()
    require_confirmation(plan.needing_confirmation(), options.yes, options.confirm)
    for warning in plan.warnings:
        emit(Event("warning", warning))
    if plan.has_actions:
        backend.recover(emit)  # what a killed run left: removed before this one makes anything
    shared = Shared()
    lanes = _image_lanes(plan.images)
    images = _each(list(lanes.items()), options.parallel,
                   lambda lane: _Lane(lane[0], lane[1], env, backend, emit, options, shared).run_image(),
                   shared.stopping)
    machines = _each(list(plan.machines), options.parallel,
                     lambda mp: _Lane(mp.machine, mp.steps, env, backend, emit, options, shared, mp).run(),
                     shared.stopping)
    for result in machines:
        if result.error is not None:
            shared.machine_errors[result.machine] = result.error
    # Steps of the environment (ansible runs) come last, one at a time: they need the machines ready.
    after = [_Lane(f"ansible {getattr(s, 'name', '')}", [s], env, backend, emit, options, shared).run()
             for s in plan.after if not shared.stopping.is_set()]
    return RunResult(env.name, plan.operation, machines, [*images, *after])


def _image_lanes(steps: Sequence[Step]) -> dict[str, list[Step]]:
    lanes: dict[str, list[Step]] = {}
    for step in steps:  # a lane per image ("image NAME") and per network (the step's ``lane``)
        name = f"image {step.image}" if isinstance(step, FetchImage | ImportTemplate) else \
            str(getattr(step, "lane", None) or getattr(step, "subject", step.describe()))
        lanes.setdefault(name, []).append(step)
    return lanes


def _each(items: list[T], parallel: int, work: Callable[[T], R], stopping: threading.Event | None = None,
          ) -> list[R]:
    """``work`` on each item, ``parallel`` at a time (0: all, at most MAX_PARALLEL); results in order.

    On Ctrl-C (any exception in this thread), ``stopping`` is set, items not begun are dropped and
    the exception goes on at once; the items under way end at their next step.
    """
    width = min(parallel or MAX_PARALLEL, len(items))
    if width <= 1:
        return [work(item) for item in items]
    pool = ThreadPoolExecutor(max_workers=width, thread_name_prefix="hosted-run")
    futures = [pool.submit(work, item) for item in items]
    try:
        while wait(futures, timeout=POLL).not_done:
            pass
    except BaseException:
        if stopping is not None:
            stopping.set()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return [future.result() for future in futures]


class _Lane:
    """The steps of one machine (or of one image, on the host), in order."""

    def __init__(self, name: str, steps: Sequence[Step], env: Environment, backend: Backend, emit: Emit,
                 options: RunOptions, shared: Shared, mp: MachinePlan | None = None) -> None:
        self.steps = steps
        self.emit = emit
        self.options = options
        self.ctx = StepContext(env, backend, emit, options, shared, name if mp else "",
                               spec=mp.spec if mp else None, uuid=mp.uuid if mp else None)
        self.result = MachineResult(name, mp.vm_name if mp else "", mp.uuid if mp else None)

    def run(self) -> MachineResult:
        try:
            for step in self.steps:
                if self.ctx.shared.stopping.is_set():
                    raise Interrupted(f"interrupted before: {step.describe()}", "run the command again")
                self._step(step)
        except HostedError as exc:
            self.result.error = exc
            self.emit(Event("warning", f"failed: {exc.message}", machine=self.result.machine))
        finally:
            self.ctx.close()
            self.result.uuid = self.ctx.uuid
            self.result.forwards = self.ctx.forwards
        return self.result

    def run_image(self) -> MachineResult:
        """An image's steps; when one fails, the machines that need the image fail with its error."""
        result = self.run()
        if result.error is not None:
            for step in self.steps:
                # an image, or a network's lane ("link a--b")
                key = step.image if isinstance(step, FetchImage | ImportTemplate) else \
                    getattr(step, "lane", "")
                if key:
                    self.ctx.shared.put(self.ctx.shared.failed, key, result.error)  # type: ignore[arg-type]
        return result

    def _step(self, step: Step) -> None:
        label = step.machine or None
        if step.is_noop:
            self.emit(Event("step-noop", step.describe(), machine=label))
            return
        self.emit(Event("step-started", step.describe(), machine=label))
        began = time.monotonic()
        self._attempt(step)
        took = time.monotonic() - began
        self.emit(Event("step-finished", step.describe(), machine=label, seconds=took))
        self.result.changed.append(step.describe())
        phase = step.phase or step.kind
        self.result.phases[phase] = self.result.phases.get(phase, 0.0) + took

    def _attempt(self, step: Step) -> None:
        pause = self.options.retry_pause
        for attempt in range(self.options.retries + 1):
            try:
                execute(step, self.ctx)
                return
            except HostedError as exc:
                if not (exc.retryable and step.repeatable) or attempt == self.options.retries:
                    raise
                self.emit(Event("warning", f"{step.summary()}: {exc.message}; trying again in {pause:g} s",
                                machine=step.machine or None))
                self.options.clock.sleep(pause)
                pause *= 2
