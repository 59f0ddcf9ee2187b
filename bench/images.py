"""Machines from one image: a linked clone of a template versus a full import per machine.

    scripts/sandbox run python bench/images.py [--image-mb 256] [--counts 1,3,10]

Builds a private VirtualBox home (own VBOX_USER_HOME and VBOX_IPC_SOCKETID, so
a VBoxSVC of its own) and an image the way users get them: an .ova exported
by VirtualBox from a machine whose disk holds ``--image-mb`` MB of random data
(written raw, converted with ``VBoxManage convertfromraw``).  Then, for each
N in ``--counts``, makes N machines from it and destroys them again, by:

* linked clone (hosted's default): the image imported once as a template
  (timed apart, as "template import, once"), then per machine
  ``clone_from_template(linked=True)``;
* full clone (``linked: false``): per machine a full copy of the template;
* full import per machine (what a tool without templates does): per machine
  an appliance import of the .ova.

Per machine: median seconds and the disk the machine added (blocks actually
allocated under its folder).  Target: linked clones take constant time
whatever N, and add at most 5 MB each.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchhome import isolate, vboxmanage

TARGET_MB = 5.0
MB = 1024 * 1024


def allocated(path: Path) -> int:
    """Bytes actually allocated on disk under ``path`` (sparse files count what they use)."""
    if path.is_file():
        return path.stat().st_blocks * 512
    return sum(p.stat().st_blocks * 512 for p in path.rglob("*") if p.is_file())


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(MB), b""):
            h.update(chunk)
    return h.hexdigest()


def make_image(backend: Any, home: Path, image_mb: int) -> Path:
    """An .ova of a machine whose disk holds ``image_mb`` MB of data, exported by VirtualBox."""
    raw, vdi, ova = home / "data.img", home / "data.vdi", home / "image.ova"
    with raw.open("wb") as f:
        for _ in range(image_mb):
            f.write(os.urandom(MB))
    vboxmanage("convertfromraw", str(raw), str(vdi), "--format", "VDI")
    raw.unlink()
    ctx = backend._ctx
    c, vbox = ctx.const, ctx.vbox
    m = vbox.createMachine("", "bench-source", c.PlatformArchitecture_x86, [], "Linux_64", "", "", "", "")
    m.memorySize = 64
    m.saveSettings()
    vbox.registerMachine(m)
    session = ctx.mgr.getSessionObject()
    m.lockMachine(session, c.LockType_Write)
    disk = vbox.openMedium(str(vdi), c.DeviceType_HardDisk, c.AccessMode_ReadWrite, False)
    session.machine.addStorageController("SATA", c.StorageBus_SATA)
    session.machine.attachDevice("SATA", 0, 0, c.DeviceType_HardDisk, disk)
    session.machine.saveSettings()
    session.unlockMachine()
    appliance = vbox.createAppliance()
    m.exportTo(appliance, str(ova))
    progress = appliance.write("ovf-2.0", [], str(ova))
    progress.waitForCompletion(-1)
    m.deleteConfig(m.unregister(c.CleanupMode_Full)).waitForCompletion(-1)
    return ova


def spec(i: int) -> Any:
    from hosted.model import Forward, MachineSpec, Nic

    return MachineSpec(name=f"m{i}", vm_name=f"bench-m{i}", state="poweroff", memory_mb=64,
                       nics=(Nic("nat", forwards=(Forward("ssh", 22, None),)),))


Make = Callable[[int], tuple[str, Path]]


def run(n: int, make: Make, destroy: Callable[[str], None]) -> tuple[list[float], list[int]]:
    """Make ``n`` machines (timed each, disk each), then destroy them."""
    times, sizes, made = [], [], []
    for i in range(n):
        t0 = time.perf_counter()
        uuid, folder = make(i)
        times.append(time.perf_counter() - t0)
        sizes.append(allocated(folder))
        made.append(uuid)
    for uuid in made:
        destroy(uuid)
    return times, sizes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-mb", type=int, default=256)
    parser.add_argument("--counts", default="1,3,10")
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    home = isolate("hosted-bench-images-")

    from hosted.backend.base import TemplateSource
    from hosted.backend.virtualbox import connect
    from hosted.events import discard
    from hosted.model import Tags

    backend = connect(discard)
    ova = make_image(backend, home, args.image_mb)
    source = TemplateSource("bench", "ovf", str(ova), sha256(ova), "x86_64")
    print(f"image: {ova.name}, {allocated(ova) / MB:.0f} MB (disk with {args.image_mb} MB of data)")

    t0 = time.perf_counter()
    template = backend.import_template(source, discard)
    once = time.perf_counter() - t0
    template_mb = allocated(Path(backend.get_machine(template.uuid).settings_file).parent) / MB

    def clone(linked: bool) -> Make:
        def make(i: int) -> tuple[str, Path]:
            s = spec(i)
            m = backend.clone_from_template(template.uuid, s, Tags("bench", s.name, s.config_hash()), linked,
                                            discard)
            return m.uuid, Path(m.settings_file).parent
        return make

    def full_import(i: int) -> tuple[str, Path]:
        t = backend.import_template(TemplateSource(f"bench{i}", "ovf", str(ova), source.digest, "x86_64"),
                                    discard)
        return t.uuid, Path(backend.get_machine(t.uuid).settings_file).parent

    methods: list[tuple[str, Make, Callable[[str], None]]] = [
        ("linked clone", clone(True), lambda u: backend.destroy(u, discard)),
        ("full clone", clone(False), lambda u: backend.destroy(u, discard)),
        ("full import per machine", full_import, lambda u: backend.delete_template(u, discard)),
    ]
    print(f"template import, once: {once:.2f} s, {template_mb:.1f} MB\n")
    print("| N | method | total s | per machine s (median) | max s | disk per machine MB (median) |")
    print("|---:|---|---:|---:|---:|---:|")
    worst_linked = 0.0
    for n in counts:
        for name, make, destroy in methods:
            times, sizes = run(n, make, destroy)
            per_mb = statistics.median(sizes) / MB
            if name == "linked clone":
                worst_linked = max(worst_linked, max(sizes) / MB)
            print(f"| {n} | {name} | {sum(times):.2f} | {statistics.median(times):.3f} | {max(times):.3f} "
                  f"| {per_mb:.2f} |")
    backend.delete_template(template.uuid, discard)
    verdict = "met" if worst_linked <= TARGET_MB else "MISSED"
    print(f"\nlinked clone disk, worst machine: {worst_linked:.2f} MB "
          f"(target <= {TARGET_MB:.0f} MB: {verdict})")
    return 0 if worst_linked <= TARGET_MB else 1


if __name__ == "__main__":
    raise SystemExit(main())
