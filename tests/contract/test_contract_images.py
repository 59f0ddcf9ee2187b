"""Contract: templates (an image imported once) and machines cloned from them.

Run on the in-memory double and on real VirtualBox.  Image files are made in
the test (a disk image by VirtualBox itself, an OVA by VirtualBox's export).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from contract.conftest import Ctx
from contract.images_support import ImageTools, sha256
from hosted.backend.base import TemplateInfo
from hosted.errors import HostedError, ImageError, NameConflict
from hosted.images.prepared import PreparedImage
from hosted.images.templates import ensure_template, prune_templates
from hosted.model import Forward, ImageSpec, MachineSpec, Nic


@pytest.fixture
def tools(ctx: Ctx) -> Iterator[ImageTools]:
    t = ImageTools(ctx.backend, ctx.files)
    yield t
    # Clones first (the ctx fixture would, but only after this), then the templates.
    for m in ctx.backend.list_machines():
        if m.tags is not None and m.tags.environment == ctx.env:
            ctx.backend.destroy(m.uuid, ctx.emit)
    t.cleanup(ctx.env)


def clone_spec(ctx: Ctx, machine: str, **changes: Any) -> MachineSpec:
    return replace(ctx.spec(machine, disk_mb=None, memory_mb=48, cpus=2,
                            nics=(Nic("nat", forwards=(Forward("ssh", 22, None),)),)), **changes)


def template(ctx: Ctx, tools: ImageTools, name: str = "img", kind: str = "disk") -> TemplateInfo:
    image = f"{ctx.env}-{name}"
    path = tools.disk_image(image) if kind == "disk" else tools.ova(image, f"{ctx.env}-src")
    return ctx.backend.import_template(tools.source(image, path, kind), ctx.emit)


def clone(ctx: Ctx, tpl: TemplateInfo, spec: MachineSpec, linked: bool = True):  # type: ignore[no-untyped-def]
    return ctx.backend.clone_from_template(tpl.uuid, spec, ctx.tags(spec), linked, ctx.emit)


def by_uuid(ctx: Ctx, uuid: str) -> TemplateInfo:
    return next(t for t in ctx.backend.list_templates() if t.uuid == uuid)


def test_import_then_linked_clone_then_inspect(ctx: Ctx, tools: ImageTools) -> None:
    image = f"{ctx.env}-img"
    path = tools.disk_image(image)
    digest = sha256(path)
    tpl = ctx.backend.import_template(tools.source(image, path), ctx.emit)
    assert tpl.healthy and tpl.digest == digest and tpl.image_name == image and tpl.users == ()
    assert sha256(path) == digest, "the user's image file was changed"
    assert ctx.emit.messages("progress"), "import reported no progress"
    # Hidden from environments: no hosted tags; its base snapshot is never listed as a snapshot.
    assert ctx.observe(tpl.uuid).tags is None
    assert tpl.snapshot_id and ctx.backend.list_snapshots(tpl.uuid) == []

    spec = clone_spec(ctx, "web")
    made = clone(ctx, tpl, spec)
    seen = ctx.observe(made.uuid)
    assert seen.vm_name == spec.vm_name and seen.tags == ctx.tags(spec)
    assert (seen.memory_mb, seen.cpus) == (48, 2)
    assert seen.forwards()[0].host is not None and seen.forwards()[0].guest == 22
    chain = tools.disk_chain(made.uuid)
    template_disk = tools.disk_chain(tpl.uuid)[-1]
    assert len(chain) >= 2 and chain[-1] == template_disk, chain
    assert by_uuid(ctx, tpl.uuid).users == (made.uuid,)
    assert tpl.uuid not in {t.uuid for t in ctx.backend.list_templates() if t.uuid == made.uuid}
    assert made.uuid not in {t.uuid for t in ctx.backend.list_templates()}


def test_undeclared_keys_keep_the_images_values(ctx: Ctx, tools: ImageTools) -> None:
    tpl = template(ctx, tools)
    before = ctx.observe(tpl.uuid)
    spec = MachineSpec(name="bare", vm_name=ctx.vm_name("bare"), state="poweroff")
    made = ctx.observe(clone(ctx, tpl, spec).uuid)
    assert (made.memory_mb, made.cpus, made.os_type) == (before.memory_mb, before.cpus, before.os_type)


def test_several_linked_clones_share_the_templates_disk(ctx: Ctx, tools: ImageTools) -> None:
    tpl = template(ctx, tools)
    template_disk = tools.disk_chain(tpl.uuid)[-1]
    made = [clone(ctx, tpl, clone_spec(ctx, f"m{i}")) for i in range(3)]
    chains = [tools.disk_chain(m.uuid) for m in made]
    assert all(c[-1] == template_disk and len(c) >= 2 for c in chains), chains
    assert len({c[0] for c in chains}) == 3, "clones share a writable disk"
    ports = [ctx.observe(m.uuid).forwards()[0].host for m in made]
    assert len(set(ports)) == 3, f"auto forwards clash: {ports}"
    assert set(by_uuid(ctx, tpl.uuid).users) == {m.uuid for m in made}


def test_destroying_a_clone_keeps_the_template(ctx: Ctx, tools: ImageTools) -> None:
    tpl = template(ctx, tools)
    template_disk = tools.disk_chain(tpl.uuid)[-1]
    first, second = (clone(ctx, tpl, clone_spec(ctx, n)) for n in ("a", "b"))
    own = tools.disk_chain(first.uuid)[0]
    ctx.backend.destroy(first.uuid, ctx.emit)
    assert not Path(own).exists(), "the clone's own differencing disk was left behind"
    assert not Path(first.settings_file).parent.exists()
    assert Path(template_disk).is_file()
    after = by_uuid(ctx, tpl.uuid)
    assert after.healthy and after.users == (second.uuid,)
    assert ctx.observe(second.uuid).vm_name == ctx.vm_name("b")


def test_full_clone_owns_a_copy(ctx: Ctx, tools: ImageTools) -> None:
    tpl = template(ctx, tools)
    template_disk = tools.disk_chain(tpl.uuid)[-1]
    made = clone(ctx, tpl, clone_spec(ctx, "full"), linked=False)
    chain = tools.disk_chain(made.uuid)
    assert len(chain) == 1 and chain[0] != template_disk
    ctx.backend.destroy(made.uuid, ctx.emit)
    assert not Path(chain[0]).exists() and Path(template_disk).is_file()
    assert by_uuid(ctx, tpl.uuid).users == ()


def test_ova_import_and_clone(ctx: Ctx, tools: ImageTools) -> None:
    tpl = template(ctx, tools, "ova", kind="ovf")
    assert tpl.healthy
    made = clone(ctx, tpl, clone_spec(ctx, "fromova"))
    assert ctx.observe(made.uuid).memory_mb == 48
    # The image's own NAT forward (ssh 2222) is dropped: clones would clash on it.
    assert [f.name for f in ctx.observe(made.uuid).forwards()] == ["ssh"]
    assert ctx.observe(made.uuid).forwards()[0].host != 2222


def test_a_taken_name_fails_and_leaves_nothing(ctx: Ctx, tools: ImageTools) -> None:
    tpl = template(ctx, tools)
    spec = clone_spec(ctx, "dup")
    foreign = ctx.harness.make_foreign(spec.vm_name)
    count = len(ctx.backend.list_machines())
    with pytest.raises(NameConflict):
        clone(ctx, tpl, spec)
    assert len(ctx.backend.list_machines()) == count
    assert by_uuid(ctx, tpl.uuid).users == () and ctx.observe(foreign).tags is None


def test_delete_template_refuses_while_used(ctx: Ctx, tools: ImageTools) -> None:
    tpl = template(ctx, tools)
    made = clone(ctx, tpl, clone_spec(ctx, "user"))
    with pytest.raises(ImageError):
        ctx.backend.delete_template(tpl.uuid, ctx.emit)
    assert by_uuid(ctx, tpl.uuid).healthy
    ctx.backend.destroy(made.uuid, ctx.emit)
    ctx.backend.delete_template(tpl.uuid, ctx.emit)
    assert tpl.uuid not in {t.uuid for t in ctx.backend.list_templates()}
    assert ctx.backend.get_machine(tpl.uuid) is None


def test_prune_keeps_used_templates_and_removes_unused(ctx: Ctx, tools: ImageTools) -> None:
    used, unused = template(ctx, tools, "used"), template(ctx, tools, "unused")
    unused_disk = tools.disk_chain(unused.uuid)[-1]
    clone(ctx, used, clone_spec(ctx, "keeper"))
    removed = prune_templates(ctx.backend, ctx.emit)
    assert unused.uuid in {t.uuid for t in removed} and used.uuid not in {t.uuid for t in removed}
    left = {t.uuid for t in ctx.backend.list_templates()}
    assert used.uuid in left and unused.uuid not in left
    assert not Path(unused_disk).exists()


def _ensure(ctx: Ctx, tools: ImageTools, path: Path, arch: str = "x86_64", host: str = "x86_64") -> str:
    image = ImageSpec(name=f"{ctx.env}-img", source=str(path))
    local = PreparedImage("disk", str(path), sha256(path), arch)
    return ensure_template(ctx.backend, image, local, ctx.emit, host_machine=host)


@pytest.mark.parametrize("how", ["disk", "unregister"])
def test_a_broken_template_is_imported_again(ctx: Ctx, tools: ImageTools, how: str) -> None:
    path = tools.disk_image(f"{ctx.env}-img")
    first = _ensure(ctx, tools, path)
    assert _ensure(ctx, tools, path) == first, "a healthy template was not reused"
    tools.break_template(first, how)
    if how == "disk":
        assert not by_uuid(ctx, first).healthy
    second = _ensure(ctx, tools, path)
    assert second != first and by_uuid(ctx, second).healthy
    assert first not in {t.uuid for t in ctx.backend.list_templates()}, "the unused broken one stays"
    made = clone(ctx, by_uuid(ctx, second), clone_spec(ctx, "again"))
    assert ctx.observe(made.uuid).memory_mb == 48


def test_a_broken_template_in_use_is_kept(ctx: Ctx, tools: ImageTools) -> None:
    path = tools.disk_image(f"{ctx.env}-img")
    first = _ensure(ctx, tools, path)
    user = clone(ctx, by_uuid(ctx, first), clone_spec(ctx, "user"))
    tools.break_template(first, "disk")
    second = _ensure(ctx, tools, path)
    assert second != first
    assert {first, second} <= {t.uuid for t in ctx.backend.list_templates()}
    assert ctx.backend.get_machine(user.uuid) is not None
    with pytest.raises(ImageError):
        clone(ctx, by_uuid(ctx, first), clone_spec(ctx, "onbroken"))
    ctx.backend.destroy(user.uuid, ctx.emit)
    assert {t.uuid for t in prune_templates(ctx.backend, ctx.emit)} >= {first, second}


def test_find_template_by_digest(ctx: Ctx, tools: ImageTools) -> None:
    path = tools.disk_image(f"{ctx.env}-img")
    digest = sha256(path)
    assert ctx.backend.find_template(digest) is None
    first = _ensure(ctx, tools, path)
    user = clone(ctx, by_uuid(ctx, first), clone_spec(ctx, "user"))
    found = ctx.backend.find_template(digest)
    assert found == replace(by_uuid(ctx, first), users=()), "a healthy template's users are not read"
    tools.break_template(first, "disk")
    broken = ctx.backend.find_template(digest)
    assert broken is not None and broken.uuid == first and not broken.healthy and broken.problem
    assert broken.users == (user.uuid,), "a broken template's users decide whether it may go"
    second = _ensure(ctx, tools, path)  # the broken one stays: it is used
    found = ctx.backend.find_template(digest)
    assert found is not None and found.uuid == second and found.healthy, "a healthy one comes first"
    assert ctx.backend.find_template("0" * 64) is None
    ctx.backend.destroy(user.uuid, ctx.emit)


@pytest.mark.parametrize(("arch", "host"), [("x86_64", "arm64"), ("amd64", "aarch64"), ("arm64", "x86_64")])
def test_an_image_for_another_cpu_is_refused_before_import(
    ctx: Ctx, tools: ImageTools, arch: str, host: str
) -> None:
    path = tools.disk_image(f"{ctx.env}-img")
    before = ctx.backend.list_templates()
    with pytest.raises(ImageError) as err:
        _ensure(ctx, tools, path, arch=arch, host=host)
    assert arch in err.value.message and host in err.value.message and err.value.hint
    assert ctx.backend.list_templates() == before


def test_a_missing_image_file_is_an_image_error(ctx: Ctx, tools: ImageTools) -> None:
    path = tools.disk_image(f"{ctx.env}-img")
    source = tools.source(f"{ctx.env}-img", path)
    path.unlink()
    with pytest.raises(HostedError):
        ctx.backend.import_template(source, ctx.emit)
    assert not [t for t in ctx.backend.list_templates() if t.image_name == source.image_name]
