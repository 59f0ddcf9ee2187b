"""Steps that bring base images to new machines.

For each image a new machine needs: fetch it (a no-op when its template is
already in VirtualBox), import it as a template, and clone the machine from
it; an installer ISO is fetched and the machine is created empty and prepared
to install itself.  The host's steps are planned once per image, whatever
the number of machines made from it.
"""

from __future__ import annotations

from collections.abc import Sequence

from hosted import render
from hosted.facts import Facts, ImageFacts
from hosted.model import Environment, MachineSpec
from hosted.planner.config import what
from hosted.steps import Clone, Create, FetchImage, ImportTemplate, InstallFromIso, Noop, Step, WriteSeed


def is_install(spec: MachineSpec, facts: Facts) -> bool:
    image = facts.images.get(spec.image or "")
    return spec.install is not None or (image is not None and image.iso)


def creation_steps(env: Environment, spec: MachineSpec, facts: Facts) -> list[Step]:
    """How a machine that does not exist yet comes to be."""
    if spec.image is None:
        return [Create(machine=spec.name, vm_name=spec.vm_name, what=what(spec) or "Linux_64")]
    if is_install(spec, facts):
        return [Create(machine=spec.name, vm_name=spec.vm_name, what=what(spec) or "empty, with its disk",
                       install=True, reason=f"for an install from {spec.image}"),
                InstallFromIso(machine=spec.name, image=spec.image)]
    found = facts.images.get(spec.image)
    seed = [WriteSeed(machine=spec.name, image=spec.image, reason="a cloud image")] \
        if _needs_seed(env, spec) else []
    return [*seed, Clone(machine=spec.name, image=spec.image, vm_name=spec.vm_name, linked=spec.linked,
                         template=found.template or "" if found else "", what=what(spec))]


def _needs_seed(env: Environment, spec: MachineSpec) -> bool:
    image = env.image(spec.image or "")
    return image is not None and (image.cloud_init or spec.cloud_init is not None) and spec.dvd is None


def host_steps(facts: Facts, machine_steps: Sequence[Step]) -> list[Step]:
    """Once per image the machines' steps need: fetch it, import its template (or say why not)."""
    steps: list[Step] = []
    seen: set[str] = set()
    for step in machine_steps:
        if not isinstance(step, Clone | InstallFromIso) or step.image in seen:
            continue
        seen.add(step.image)
        image = facts.images.get(step.image, ImageFacts(step.image))
        if isinstance(step, Clone) and image.template:
            steps.append(Noop(machine="", subject=f"image {image.name}",
                              reason=f"image {image.name}: its template is in VirtualBox"))
            continue
        steps.append(FetchImage(machine="", image=image.name, size=image.size, reason=fetch_reason(image)))
        if isinstance(step, Clone):
            why = (f"its template is broken ({image.template_problem}): importing it again"
                   if image.template_problem else "no template of this image yet")
            steps.append(ImportTemplate(machine="", image=image.name, reason=why))
    return steps


def fetch_reason(image: ImageFacts) -> str:
    size = render.size(image.size) if image.size is not None else ""
    if image.local:
        state = "local file, missing" if not image.cached else \
            "local file, hashed before" if image.digest else "local file, to hash and verify"
    else:
        state = "cached" if image.cached else "not cached"
    return ", ".join(p for p in (size, state) if p)
