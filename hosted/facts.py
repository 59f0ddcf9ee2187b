"""What the planner needs to know, read up front so that planning itself is pure.

``for_up`` reads: the environment's machines, the others only where planning
needs them (a name a new machine wants; every machine's forwards for a fixed host
port or a link), what the image cache and VirtualBox know about each image a
new machine needs (digest, size, whether it is cached, its template), the
run-once records of machines that provision, the snapshots of machines that
keep a baseline, and the fingerprint of every provisioning step now.
``for_machines`` reads only the environment's machines (and their snapshots),
for commands that touch nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hosted.backend.base import Backend, MachineRecords, NetworkState
from hosted.errors import HostedError, MachineNotFound
from hosted.model import (
    AnsibleRun,
    Environment,
    ImageSpec,
    MachineSpec,
    ObservedMachine,
    SnapshotInfo,
    is_url,
)
from hosted.networks import DEFAULT_HOSTONLY_RANGES, NETWORKS_CONF


@dataclass(frozen=True)
class ImageFacts:
    """An image as the host knows it now, read without downloading or hashing it."""

    name: str
    digest: str | None = None  # a download's declared sha256, or a local file hashed before, unchanged
    cached: bool = False  # no download needed: in the cache, or a local file
    size: int | None = None  # bytes, when known
    template: str | None = None  # uuid of a healthy template of the digest
    template_problem: str = ""  # why the template of the digest is broken ("" when none is)
    iso: bool = False  # an installer ISO: machines install from it, no template
    local: bool = False  # a file on this host, not a download


@dataclass(frozen=True)
class Facts:
    """What the planner knows of the world: the machines, images, records and snapshots as read."""
    machines: tuple[ObservedMachine, ...] = ()  # every machine read (observed_for says which)
    images: Mapping[str, ImageFacts] = field(default_factory=dict)  # by the profile's image name
    records: Mapping[str, MachineRecords] = field(default_factory=dict)  # by machine uuid
    snapshots: Mapping[str, tuple[SnapshotInfo, ...]] = field(default_factory=dict)  # by machine uuid
    # (machine, provisioning step) -> its fingerprint now; None: its files cannot be read
    fingerprints: Mapping[tuple[str, str], str | None] = field(default_factory=dict)
    networks: NetworkState = field(default_factory=NetworkState)  # DHCP servers, NAT Networks, attachments
    driverless: bool = False  # VirtualBox runs without its kernel driver
    hostonly_ranges: tuple[str, ...] = DEFAULT_HOSTONLY_RANGES  # what host-only interfaces may use

    def owned(self, environment: str) -> list[ObservedMachine]:
        return [m for m in self.machines if m.tags is not None and m.tags.environment == environment]

    def find(self, environment: str, machine: str) -> ObservedMachine | None:
        """The machine of ``environment`` tagged ``machine`` (the first, if copies carry its tags)."""
        return next((m for m in self.owned(environment) if m.tags and m.tags.machine == machine), None)


def select(env: Environment, facts: Facts, names: Sequence[str] = ()) -> list[ObservedMachine]:
    """The environment's machines that exist, in profile order; a name with no machine is an error."""
    order = {m.name: i for i, m in enumerate(env.machines)}
    owned = [m for m in facts.owned(env.name)]
    owned.sort(key=lambda m: order.get(m.label, len(order)))
    if not names:
        return owned
    found = [m for m in owned if m.label in names]
    missing = sorted(set(names) - {m.label for m in found})
    if missing:
        raise MachineNotFound(
            f"no machine named {', '.join(missing)} exists in environment {env.name!r}",
            "`hosted status` lists the environment's machines; `hosted up` creates them",
        )
    return found


def for_up(env: Environment, backend: Backend, only: Sequence[str] = (), *,
           provision: bool = True, snapshots: bool = False) -> Facts:
    """Facts for ``up``/``reload``/``plan``; ``snapshots``: every owned machine's, not just baselines'."""
    specs = [s for s in env.machines if not only or s.name in only]
    machines = observed_for(env, backend, specs, every=needs_every_machine(specs))
    base = Facts(machines=machines)
    existing = {s.name: base.find(env.name, s.name) for s in specs}
    new = [s for s in specs if existing[s.name] is None]
    pending = [s for s in specs if s.image and (m := existing[s.name]) is not None]
    records = {m.uuid: backend.records(m.uuid) for s in specs if (m := existing[s.name]) is not None
               and ((provision and (s.provision or env.ansible)) or s in pending or sets_guest_network(s))}
    installing = [s for s in pending if records[existing[s.name].uuid].install == "pending"]  # type: ignore[union-attr]
    snaps = {m.uuid: tuple(backend.list_snapshots(m.uuid)) for s in specs
             if (m := existing[s.name]) is not None and (snapshots or s.baseline)}
    return Facts(
        machines=machines,
        images=images_for(env, [*new, *installing], backend),
        records=records,
        snapshots=snaps,
        fingerprints=fingerprints(specs, env.ansible) if provision else {},
        **network_facts(env, backend, machines),
    )


def observed_for(env: Environment, backend: Backend, specs: Sequence[MachineSpec], *,
                 every: bool = False) -> tuple[ObservedMachine, ...]:
    """The environment's machines, and, of the others, those with a VirtualBox name that a
    machine to create wants (NameConflict), looked up by that name alone: the host's other
    machines are not read.  ``every``: every other machine too, read in brief (its ports and links)."""
    settings = declares_settings(specs)
    if every:
        return tuple(backend.list_machines(env.name, others=True, settings=settings))
    owned = backend.list_machines(env.name, settings=settings)
    mine = {m.tags.machine for m in owned if m.tags is not None}
    seen = {m.uuid for m in owned}
    taken = [m for s in specs if s.name not in mine
             and (m := backend.get_machine(s.vm_name)) is not None and m.uuid not in seen]
    return (*owned, *taken)


def declares_settings(specs: Sequence[MachineSpec]) -> bool:
    """Does any of these machines declare a ``virtualbox:`` key?  Without one, no machine's
    settings are compared, and reading them is a third of a full read's calls."""
    return any(s.virtualbox.declared() for s in specs)


def needs_every_machine(specs: Sequence[MachineSpec]) -> bool:
    """Planning these checks their fixed host ports against every machine's forwards
    (PortConflict), or picks a link's UDP ports among every machine's links."""
    nics = [n for s in specs for n in s.nics or ()]
    return any(n.kind == "link" or any(f.host is not None for f in n.forwards) for n in nics)


def sets_guest_network(spec: MachineSpec) -> bool:
    """Addresses or names may be set inside the guest (its records say what was set last)."""
    return spec.hosts or any(n.ip for n in spec.nics or ())


def uses_networks(env: Environment, machines: Sequence[ObservedMachine]) -> bool:
    named = ("internal", "hostonly", "natnetwork", "link")
    return any(n.kind in named for s in env.machines for n in s.nics or ()) or any(
        n.kind in named for m in machines if m.tags and m.tags.environment == env.name for n in m.nics)


def network_facts(env: Environment, backend: Backend, machines: Sequence[ObservedMachine]) -> dict[str, Any]:
    """What the network planner needs: read only when the environment has networks."""
    if not uses_networks(env, machines):
        return {}
    details = dict(backend.info().details)
    return {"networks": backend.list_networks(), "driverless": details.get("kernel_driver") == "no",
            "hostonly_ranges": hostonly_ranges()}


def owns_networks(backend: Backend) -> bool:
    """Has hosted a NAT Network or a DHCP server on this host?  (Without reading any machine.)"""
    state = backend.list_networks(attachments=False)
    return any(n.owned for n in state.natnetworks) or any(d.owned for d in state.dhcp)


def hostonly_ranges(conf: str = NETWORKS_CONF) -> tuple[str, ...]:
    """The ranges VirtualBox allows host-only interfaces here (/etc/vbox/networks.conf)."""
    import platform

    from hosted.networks import hostonly_ranges as parse

    if platform.system() not in ("Linux", "Darwin"):
        return ("0.0.0.0/0",)  # Windows: no such restriction
    try:
        text: str | None = Path(conf).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        text = None
    except OSError:
        text = ""
    return tuple(str(n) for n in parse(text))


def for_machines(env: Environment, backend: Backend, *, snapshots: bool = False,
                 provisioning: bool = False, brief: bool = False, nics: bool | None = True) -> Facts:
    """The environment's machines only, and their snapshots; ``provisioning``: also what
    the guest steps need (the machines' records, the steps' fingerprints).  ``brief``: the
    machines read in brief (power, NICs, tags), for planners that compare no setting;
    with ``nics=False`` too: without their NICs, and no network read, for planners that touch
    no NIC or network (power and snapshot commands); ``nics=None``: with them only when hosted
    has a network on this host (destroy's, whose planner removes such a network with its last
    machine).  ``nics`` means nothing without ``brief``: a full read has the NICs, and the
    networks are read."""
    if nics is None:
        nics = not brief or owns_networks(backend)
    machines = tuple(backend.list_machines(env.name, brief=brief, nics=nics,
                                           settings=declares_settings(env.machines)))
    snaps = {m.uuid: tuple(backend.list_snapshots(m.uuid)) for m in machines} if snapshots else {}
    networks = {} if brief and not nics else network_facts(env, backend, machines)
    if not provisioning:
        return Facts(machines=machines, snapshots=snaps, **networks)
    specs = [s for s in env.machines if s.provision]
    with_steps = {s.name for s in specs}
    records = {m.uuid: backend.records(m.uuid) for m in machines if m.label in with_steps}
    return Facts(machines=machines, snapshots=snaps, records=records, fingerprints=fingerprints(specs),
                 **networks)


def images_for(env: Environment, specs: Sequence[MachineSpec], backend: Backend) -> dict[str, ImageFacts]:
    names = {s.image for s in specs if s.image}
    return {i.name: image_facts(i, backend) for i in env.images if i.name in names}


def image_facts(image: ImageSpec, backend: Backend) -> ImageFacts:
    from hosted.images import boxes, cache, checksums, digest

    image = boxes.known(image)  # a box by name: its file as last resolved here
    if image.box is not None and not image.source:
        return ImageFacts(image.name)  # resolved (and downloaded) when fetched
    iso = image.kind == "iso" or image.source.lower().endswith(".iso")
    if is_url(image.source):
        if image.sha256 is None and image.sha256_file is not None:  # the digest the checksum file gave
            known = checksums.remembered(image)
            image = replace(image, sha256=known) if known else image
        entry = cache.cached(image)
        known, cached = image.sha256, entry is not None
        size = entry.size if entry is not None else None
    else:
        path = Path(image.source)
        known, cached = digest.known(path), path.exists()
        size = _size(path)
    template, problem = None, ""
    if known and not iso:
        found = backend.find_template(known)
        if found is not None and found.healthy:
            template = found.uuid
        elif found is not None:
            problem = found.problem or "broken"
    return ImageFacts(image.name, known, cached, size, template, problem, iso, not is_url(image.source))


def fingerprints(specs: Sequence[MachineSpec], ansible: Sequence[AnsibleRun] = (),
                 ) -> dict[tuple[str, str], str | None]:
    """(machine, step) -> the step's fingerprint now; ("", "ansible:NAME") for an ansible run."""
    from hosted.provisioning.record import ansible_fingerprint, step_fingerprint

    out: dict[tuple[str, str], str | None] = {}
    for run in ansible:
        try:
            out[("", "ansible:" + run.name)] = ansible_fingerprint(run)
        except HostedError:
            out[("", "ansible:" + run.name)] = None
    for spec in specs:
        for step in spec.provision:
            try:
                out[(spec.name, step.name)] = step_fingerprint(step)
            except HostedError:  # the step fails when it runs, with the reason
                out[(spec.name, step.name)] = None
    return out


def _size(path: Path) -> int | None:
    try:
        if path.is_dir():
            return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        return path.stat().st_size
    except OSError:
        return None
