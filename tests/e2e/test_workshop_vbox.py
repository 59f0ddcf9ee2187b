"""`hosted up` on profiles/workshop.yaml against real VirtualBox, checked
independently with `VBoxManage showvminfo --machinereadable`; drift made with
VBoxManage is seen by `hosted status` and repaired by `hosted up`."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from showvminfo import disagreements, os_type_descriptions
from vbox_fixtures import VBOXMANAGE, make_virtualbox_backend, vboxmanage_info

from hosted.cli.main import main
from hosted.profile import load_profile

pytestmark = pytest.mark.vbox
WORKSHOP = str(Path(__file__).resolve().parents[2] / "profiles" / "workshop.yaml")


@pytest.fixture
def workshop() -> Iterator[None]:
    make_virtualbox_backend()
    yield
    main(["destroy", "-f", WORKSHOP, "--yes"])


def test_up_matches_showvminfo_and_drift_is_repaired(
    workshop: None, capsys: pytest.CaptureFixture[str]
) -> None:
    env = load_profile(WORKSHOP)
    os_types = os_type_descriptions(
        subprocess.run([VBOXMANAGE, "list", "ostypes"], capture_output=True, text=True, check=True).stdout)
    assert main(["up", "-f", WORKSHOP, "--yes"]) == 0
    for spec in env.machines:
        assert disagreements(spec, vboxmanage_info(spec.vm_name), os_types) == [], spec.name

    # Someone changes a machine behind hosted's back.
    subprocess.run([VBOXMANAGE, "modifyvm", "workshop-db", "--memory", "300"], check=True)
    db = env.machine("db")
    assert db is not None
    assert disagreements(db, vboxmanage_info("workshop-db"), os_types) == [
        "memory: profile 512, VirtualBox '300'"]
    capsys.readouterr()
    assert main(["status", "-f", WORKSHOP, "--json"]) == 0
    rows = {r["machine"]: r for r in json.loads(capsys.readouterr().out)["machines"]}
    assert rows["db"]["drift"] == ["memory: 300 MB -> 512 MB (needs power-off)"]
    assert rows["web"]["drift"] == []

    assert main(["up", "-f", WORKSHOP]) == 0
    assert disagreements(db, vboxmanage_info("workshop-db"), os_types) == []
    capsys.readouterr()
    assert main(["plan", "-f", WORKSHOP]) == 0
    assert "Nothing to do" in capsys.readouterr().out
