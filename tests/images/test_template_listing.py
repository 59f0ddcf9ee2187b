"""Listing templates reads each machine's tags once, however many templates there are
(every clone from an image lists the templates).  VirtualBox objects are stood in for by
plain objects that count extradata reads; the contract suite covers the real thing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hosted.backend.virtualbox import template_store as ts


@dataclass
class Machine:
    id: str
    extradata: dict[str, str] = field(default_factory=dict)
    reads: list[str] = field(default_factory=list)
    accessible: bool = True
    snapshotCount: int = 0  # VirtualBox's attribute names
    settingsFilePath: str = "/vms/m.vbox"

    @property
    def name(self) -> str:
        return self.id

    def getExtraData(self, key: str) -> str:
        self.reads.append(key)
        return self.extradata.get(key, "")


@dataclass
class Vbox:
    machines: list[Machine]


class FakeCtx:
    def __init__(self, machines: list[Machine]) -> None:
        self.vbox = Vbox(machines)
        self.xcpt = RuntimeError

    def array(self, obj: Any, attr: str) -> list[Any]:
        return list(getattr(obj, attr))


def host(templates: int, clones_each: int) -> list[Machine]:
    machines = []
    for t in range(templates):
        uuid = f"t{t}"
        machines.append(Machine(uuid, {ts.TEMPLATE: f"{t:064d}", ts.TEMPLATE_ID: uuid, ts.IMAGE_NAME: "img"}))
        for c in range(clones_each):  # a clone starts with a copy of the template's tags
            machines.append(Machine(f"c{t}-{c}", {ts.TEMPLATE: f"{t:064d}", ts.TEMPLATE_ID: uuid,
                                                  ts.TEMPLATE_OF: uuid}))
    machines += [Machine(f"other{n}") for n in range(20)]
    return machines


def test_listing_reads_each_machines_tags_once() -> None:
    machines = host(templates=8, clones_each=5)
    found = ts.list_templates(FakeCtx(machines))  # type: ignore[arg-type]
    assert {t.uuid: t.users for t in found} == {
        f"t{t}": tuple(f"c{t}-{c}" for c in range(5)) for t in range(8)}
    reads = sum(len(m.reads) for m in machines)
    assert reads <= 3 * len(machines) + 2 * len(found), reads  # was a read per machine per template


def test_a_host_without_templates_reads_no_user_tags() -> None:
    machines = host(templates=0, clones_each=0)
    assert ts.list_templates(FakeCtx(machines)) == []  # type: ignore[arg-type]
    assert all(ts.TEMPLATE_OF not in m.reads for m in machines)
