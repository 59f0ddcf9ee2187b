"""Contract: listing one environment's machines reads only those."""

from __future__ import annotations

from dataclasses import replace

from contract.conftest import Ctx


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
    assert ctx.backend.list_machines(ctx.env + "-none") == []
    ctx.backend.destroy(other.uuid, ctx.emit)
