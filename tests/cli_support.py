"""Backends for CLI tests, chosen through HOSTED_BACKEND=cli_support:NAME."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from double import MemoryBackend

from hosted.backend.base import TemplateInfo, TemplateSource
from hosted.errors import BackendUnavailable, ServiceRefused
from hosted.events import Event
from hosted.model import MachineSpec, ObservedMachine, Tags


class SharedBackend(MemoryBackend):
    """Outlives one command: the CLI closes its backend after every command."""

    def close(self) -> None:
        pass


SHARED: SharedBackend | None = None


def shared() -> SharedBackend:
    global SHARED
    if SHARED is None:
        SHARED = SharedBackend()
    return SHARED


def reset() -> None:
    global SHARED
    SHARED = None


def unavailable() -> MemoryBackend:
    raise BackendUnavailable(
        "VirtualBox is not installed (no VBoxSVC found)",
        "install VirtualBox 7.0 or newer, then run `hosted doctor`",
    )


def _connects() -> None:
    """Each connect of this process (its pid) to the file HOSTED_TEST_CONNECTS names."""
    with open(os.environ["HOSTED_TEST_CONNECTS"], "a", encoding="utf-8") as out:
        out.write(f"{os.getpid()} {os.environ.get('HOSTED_RECONNECTED', '')}\n")


def refused_once() -> MemoryBackend:
    """As a VBoxSVC that was shutting down refuses a process: the command's second run gets through."""
    _connects()
    if not os.environ.get("HOSTED_RECONNECTED"):
        raise ServiceRefused("cannot reach VirtualBox's service (VBoxSVC): NS_ERROR_FAILURE", "run it again")
    return shared()


def refused() -> MemoryBackend:
    _connects()
    raise ServiceRefused("cannot reach VirtualBox's service (VBoxSVC): NS_ERROR_FAILURE", "run it again")


def broken() -> MemoryBackend:
    raise RuntimeError("a bug in a backend")


class SlowBackend(SharedBackend):
    """Long operations that report progress in steps, as VirtualBox's do (for the live view)."""

    STEP = 0.15  # seconds between progress reports

    def _slowly(self, what: str, machine: str, emit: Any, steps: int = 8) -> None:
        for i in range(steps):
            emit(Event("progress", what, machine=machine, percent=100.0 * i / steps))
            time.sleep(self.STEP)

    def import_template(self, source: TemplateSource, emit: Any) -> TemplateInfo:
        self._slowly(f"importing {Path(source.path).name}", f"hosted-template-{source.image_name}", emit)
        return super().import_template(source, emit)

    def clone_from_template(self, template_uuid: str, spec: MachineSpec, tags: Tags, linked: bool,
                            emit: Any) -> ObservedMachine:
        self._slowly(f"cloning {spec.vm_name}", spec.vm_name, emit)
        return super().clone_from_template(template_uuid, spec, tags, linked, emit)

    def start(self, uuid: str, mode: Any, emit: Any) -> None:
        m = self.get_machine(uuid)
        self._slowly(f"starting {m.vm_name if m else uuid}", m.vm_name if m else uuid, emit, 4)
        super().start(uuid, mode, emit)


def slow() -> SlowBackend:
    global SHARED
    if not isinstance(SHARED, SlowBackend):
        SHARED = SlowBackend()
    return SHARED
