"""Contract: listing one environment's machines reads only those."""

from __future__ import annotations

from dataclasses import replace

from contract.conftest import Ctx
from hosted.model import Forward, Nic, ObservedMachine, VirtualBoxSettings


def test_list_machines_of_one_environment(ctx: Ctx) -> None:
    mine = ctx.create(ctx.spec("m1", disk_mb=None))
    other_spec = ctx.spec("m2", disk_mb=None)
    other = ctx.backend.create_machine(other_spec, replace(ctx.tags(other_spec), environment=ctx.env + "-x"),
                                       ctx.emit)
    foreign = ctx.harness.make_foreign(ctx.vm_name("foreign"))
    everything = {m.uuid for m in ctx.backend.list_machines()}
    assert {mine.uuid, other.uuid, foreign} <= everything
    listed = ctx.backend.list_machines(ctx.env)
    assert [m.uuid for m in listed] == [mine.uuid]
    assert listed[0] == ctx.observe(mine.uuid)
    # Without the virtualbox: settings (a profile that declares none): the rest as a full read.
    [bare] = ctx.backend.list_machines(ctx.env, settings=False)
    assert not bare.settings_read and bare.virtualbox == VirtualBoxSettings() and listed[0].settings_read
    assert replace(bare, virtualbox=listed[0].virtualbox, settings_read=True) == listed[0]
    assert ctx.backend.list_machines(ctx.env + "-none") == []
    ctx.backend.destroy(other.uuid, ctx.emit)


def test_other_machines_are_listed_in_brief(ctx: Ctx) -> None:
    """``others``: the environment's machines in full, every other one in brief, with what
    host-port and link checks need (name, tags, power, NICs and their forwards) as a full read has it."""
    mine = ctx.create(ctx.spec("m1", disk_mb=None))
    other_spec = ctx.spec("m2", disk_mb=None, cpus=2, nics=(
        Nic("nat", forwards=(Forward("ssh", 22, None), Forward("web", 80, ctx.explicit_port()))),
        Nic("link", link_port=41000, peer_port=41001),
    ))
    other = ctx.backend.create_machine(other_spec, replace(ctx.tags(other_spec), environment=ctx.env + "-x"),
                                       ctx.emit)
    foreign = ctx.harness.make_foreign(ctx.vm_name("foreign"))
    listed = {m.uuid: m for m in ctx.backend.list_machines(ctx.env, others=True)}
    assert {mine.uuid, other.uuid, foreign} <= set(listed)
    assert listed[mine.uuid] == ctx.observe(mine.uuid)  # its own: in full
    full = ctx.observe(other.uuid)
    brief = listed[other.uuid]
    assert brief.brief and not full.brief
    def seen(m: ObservedMachine) -> tuple[object, ...]:
        return m.vm_name, m.tags, m.power, m.nics

    assert seen(brief) == seen(full)
    assert brief.forwards() == full.forwards() and len(brief.forwards()) == 2
    assert brief.cpus == 0  # not read
    assert listed[foreign].brief and listed[foreign].tags is None
    assert listed[foreign].vm_name == ctx.vm_name("foreign")
    [own] = ctx.backend.list_machines(ctx.env, brief=True)  # its own in brief too: SSH, inventory
    assert own.brief and own.nics_read and seen(own) == seen(ctx.observe(mine.uuid))
    # Power and snapshot commands: not even the NICs.
    [bare] = ctx.backend.list_machines(ctx.env, brief=True, nics=False)
    assert bare.brief and not bare.nics_read and bare.nics == () and own.nics != ()
    assert (bare.uuid, bare.vm_name, bare.tags, bare.power, bare.settings_file) == (
        own.uuid, own.vm_name, own.tags, own.power, own.settings_file)
    ctx.backend.destroy(other.uuid, ctx.emit)
