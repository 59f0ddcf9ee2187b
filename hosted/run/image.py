"""Handlers of the image steps: the host's (fetch, import) and a machine's (seed, clone, install)."""

from __future__ import annotations

from dataclasses import replace

from hosted.errors import HostedError, ImageError
from hosted.model import ImageSpec
from hosted.run.context import StepContext
from hosted.run.machine import remove_created
from hosted.steps import Clone, FetchImage, ImportTemplate, InstallFromIso, WriteSeed


def _image(ctx: StepContext, name: str) -> ImageSpec:
    image = ctx.env.image(name)
    if image is None:
        raise ImageError(f"no image named {name!r} in the profile",
                         "add it under `images:` or fix the machine's `image:`")
    return image


def fetch_image(step: FetchImage, ctx: StepContext) -> None:
    from hosted.images.resolve import from_cache

    prepared = from_cache(_image(ctx, step.image), ctx.emit)
    ctx.shared.put(ctx.shared.prepared, step.image, prepared)  # type: ignore[arg-type]


def import_template(step: ImportTemplate, ctx: StepContext) -> None:
    from hosted.images.templates import ensure_template

    prepared = ctx.shared.prepared.get(step.image)
    if prepared is None:
        raise ImageError(f"image {step.image!r} was not fetched", "run `hosted up` again")
    uuid = ensure_template(ctx.backend, _image(ctx, step.image), prepared, ctx.emit)
    ctx.shared.put(ctx.shared.templates, step.image, uuid)  # type: ignore[arg-type]


def write_seed(step: WriteSeed, ctx: StepContext) -> None:
    from hosted.images.seed import write_seed as write

    ctx.seed = write(ctx.env, ctx.need_spec(), hosts=step.hosts)


def clone(step: Clone, ctx: StepContext) -> None:
    ctx.shared.check(step.image)
    template = ctx.shared.templates.get(step.image) or step.template
    if not template:
        raise ImageError(f"image {step.image!r} has no template to clone", "run `hosted up` again")
    spec = ctx.need_spec()
    ctx.shared.check_disks(spec)
    if ctx.seed is not None:  # a cloud image: its seed in the DVD drive (dvd stays undeclared: no drift)
        spec = replace(spec, dvd=str(ctx.seed))
    made = ctx.backend.clone_from_template(template, spec, ctx.tags(), step.linked, ctx.emit)
    ctx.uuid, ctx.created, ctx.forwards = made.uuid, True, made.forwards()


def install_from_iso(step: InstallFromIso, ctx: StepContext) -> None:
    from hosted.images.unattended import prepare

    ctx.shared.check(step.image)
    prepared = ctx.shared.prepared.get(step.image)
    if prepared is None:
        raise ImageError(f"image {step.image!r} was not fetched", "run `hosted up` again")
    if prepared.kind != "iso":
        raise ImageError(f"image {step.image!r} is not an installer ISO ({prepared.kind})",
                         "remove the machine's `install:`, or point the image at an installer ISO")
    try:
        prepare(ctx.backend, ctx.env, ctx.need_spec(), ctx.need_uuid(), prepared.path, ctx.emit)
    except HostedError:
        remove_created(ctx)  # a machine this run made empty for the install: nothing of the user's
        raise
