"""What a step's handler works with: the environment, the backend, the machine it is
for (its uuid once it exists), the SSH session once the guest is ready, and what the
host's image steps prepared for every machine."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from hosted import __version__
from hosted.backend.base import Backend, StartMode
from hosted.clock import REAL_CLOCK, Clock
from hosted.errors import HostedError, ImageError, MachineNotFound, OperationFailed
from hosted.events import Emit
from hosted.model import Environment, Forward, MachineSpec, Tags

if TYPE_CHECKING:
    from hosted.images.prepared import PreparedImage
    from hosted.ssh import SshSession

Confirm = Callable[[Sequence[str]], bool]


@dataclass(frozen=True)
class RunOptions:
    """How the runner runs a plan: confirmations, parallelism, retries."""
    yes: bool = False  # every confirmation is given
    confirm: Confirm | None = None  # asks once for the steps that need it; None: no way to ask
    parallel: int = 0  # machines worked on at once; 0: all of them (at most MAX_PARALLEL)
    start_mode: StartMode = "headless"
    clock: Clock = REAL_CLOCK
    retries: int = 2  # extra attempts of a repeatable step after a temporary error (a held lock)
    retry_pause: float = 0.5  # seconds before the first retry; doubled for each next one


class Shared:
    """What the host's image steps made, for the machines' steps (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.prepared: dict[str, PreparedImage] = {}  # image name -> fetched, verified, unpacked
        self.templates: dict[str, str] = {}  # image name -> its template's uuid
        self.failed: dict[str, HostedError] = {}  # image name -> why it could not be had
        self.links: dict[str, dict[str, tuple[int, int]]] = {}  # link -> machine -> (its port, peer's)
        self.stopping = threading.Event()  # Ctrl-C: no lane starts another step
        self.machine_errors: dict[str, HostedError] = {}  # machine -> why its steps failed (for ansible)

    def put(self, table: dict[str, object], key: str, value: object) -> None:
        with self._lock:
            table[key] = value

    def put_link(self, link: str, ports: dict[str, tuple[int, int]]) -> None:
        with self._lock:
            self.links[link] = ports

    def with_links(self, spec: MachineSpec) -> MachineSpec:
        """``spec`` with the UDP ports of its links chosen this run (ReserveLinkPorts) filled in."""
        if not any(n.kind == "link" and n.link_port is None for n in spec.nics or ()):
            return spec
        from hosted.networks import link_name

        nics = []
        for nic in spec.nics or ():
            link = link_name(spec.name, nic.peer or "")
            ports = self.links.get(link, {}).get(spec.name) if nic.kind == "link" and nic.link_port is None \
                else None
            error = self.failed.get(f"link {link}")
            if ports is None and error is not None:
                raise OperationFailed(f"link {link} could not be prepared: {error.message}", error.hint)
            nics.append(replace(nic, link_port=ports[0], peer_port=ports[1]) if ports else nic)
        return replace(spec, nics=tuple(nics))

    def check_disks(self, spec: MachineSpec) -> None:
        """Raise when the host could not make a shareable disk the machine attaches."""
        for disk in spec.disks or ():
            error = self.failed.get(f"disk {disk.name}") if disk.shareable else None
            if error is not None:
                raise OperationFailed(f"shareable disk {disk.name} could not be made: {error.message}",
                                      error.hint)

    def check(self, image: str) -> None:
        """Raise when the host could not prepare ``image`` (the machine fails, the others go on)."""
        error = self.failed.get(image)
        if error is not None:
            raise ImageError(f"image {image!r} could not be prepared: {error.message}", error.hint)


@dataclass
class StepContext:
    """What one step runs with: the environment, the backend, the options and its machine."""
    env: Environment
    backend: Backend
    emit: Emit
    options: RunOptions
    shared: Shared
    machine: str  # the profile's machine name ("" for the host's steps)
    spec: MachineSpec | None = None
    uuid: str | None = None  # the machine, once it exists
    created: bool = False  # this run created it (a failure right after may remove it)
    session: SshSession | None = None  # logged in, once the guest is ready
    seed: Path | None = None  # the cloud-init seed written for it
    timings: dict[str, float] = field(default_factory=dict)  # readiness stages
    forwards: tuple[Forward, ...] | None = None  # as this run last read them (create, clone, configure)

    def need_uuid(self) -> str:
        if self.uuid is None:
            raise MachineNotFound(f"{self.machine}: the machine does not exist", "run `hosted up` again")
        return self.uuid

    def need_spec(self) -> MachineSpec:
        if self.spec is None:
            raise MachineNotFound(f"{self.machine}: not in the profile", "")
        return self.shared.with_links(self.spec)

    def tags(self) -> Tags:
        spec = self.need_spec()
        return Tags(self.env.name, spec.name, spec.config_hash(), __version__)

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None
