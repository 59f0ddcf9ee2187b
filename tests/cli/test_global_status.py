"""`hosted list` (alias `global-status`): every environment and machine on this host, read from
VirtualBox's tags in one pass, with no profile; and `primary: true` in the profile."""

from __future__ import annotations

import json
from pathlib import Path

import cli_support
import jsonschema
import pytest
import yaml

from hosted import api
from hosted.cli.main import main
from hosted.profile import profile_json_schema


def profile(name: str, *machines: str) -> str:
    body = "".join(f"  {m}:\n    memory: 64M\n    state: poweroff\n" for m in machines)
    return f"version: 1\nname: {name}\nmachines:\n{body}"


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    """Two environments made from two directories, a machine hosted does not own, and a template."""
    cli_support.reset()
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:shared")
    monkeypatch.delenv("HOSTED_FILE", raising=False)
    for name, machines in (("shop", ("web", "db")), ("lab", ("node",))):
        (tmp_path / name).mkdir()
        (tmp_path / name / "hosted.yaml").write_text(profile(name, *machines))
        assert main(["up", "-f", str(tmp_path / name)]) == 0
    cli_support.shared().add_foreign_machine("my-own-vm")
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path / "empty")  # no profile here, nor above
    capsys.readouterr()
    return tmp_path


def test_list_shows_every_environment_without_a_profile(host: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    backend = cli_support.shared()
    before = len(backend.calls)
    assert main(["list"]) == 0
    assert [c.method for c in backend.calls[before:]] == ["list_machines"], "one pass over the machines"
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ENVIRONMENT", "MACHINE", "VM", "STATE", "FORWARDS"]
    assert [line.split()[:4] for line in lines[1:]] == [
        ["lab", "node", "lab-node", "poweroff"], ["shop", "db", "shop-db", "poweroff"],
        ["shop", "web", "shop-web", "poweroff"]]
    assert "my-own-vm" not in "\n".join(lines)


def test_list_json_and_the_alias(host: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["global-status", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["kind"], data["ok"]) == ("list", True)
    assert [(e["name"], [m["machine"] for m in e["machines"]]) for e in data["environments"]] == [
        ("lab", ["node"]), ("shop", ["db", "web"])]
    node = data["environments"][0]["machines"][0]
    assert (node["vm_name"], node["power"], node["forwards"]) == ("lab-node", "poweroff", [])
    assert node["uuid"] and node["hosted_version"]


def test_list_is_never_stale(host: Path, capsys: pytest.CaptureFixture[str]) -> None:
    backend = cli_support.shared()
    [db] = [m for m in backend.list_machines() if m.vm_name == "shop-db"]
    backend.destroy(db.uuid, lambda e: None)  # deleted in the VirtualBox GUI
    assert [(e.name, [m.machine for m in e.machines]) for e in api.list_environments()] == [
        ("lab", ["node"]), ("shop", ["web"])]


def test_list_with_nothing_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    cli_support.reset()
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:shared")
    assert main(["list"]) == 0
    assert "No machine made by hosted on this host" in capsys.readouterr().out


def test_primary_is_one_machine_at_most_and_never_in_defaults(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "hosted.yaml"
    two = "version: 1\nname: p\nmachines:\n  a: {primary: true}\n  b: {primary: true}\n"
    path.write_text(two)
    assert main(["validate", "-f", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:5:" in err and "machines 'a' and 'b' are both marked primary" in err
    path.write_text("version: 1\nname: p\ndefaults: {primary: true}\nmachines:\n  a: {}\n")
    assert main(["validate", "-f", str(path)]) == 2
    assert "defaults.primary: unknown key 'primary'" in capsys.readouterr().err
    path.write_text("version: 1\nname: p\nmachines:\n  a: {}\n  b: {primary: true}\n")
    assert main(["validate", "-f", str(path)]) == 0
    assert [m.primary for m in api.load(path).machines] == [False, True]
    # The JSON Schema agrees: `primary` on a machine, not in defaults.
    validator = jsonschema.Draft202012Validator(profile_json_schema())
    assert not list(validator.iter_errors(yaml.safe_load(path.read_text())))
    assert list(validator.iter_errors({"version": 1, "name": "p", "defaults": {"primary": True},
                                       "machines": {"a": {}}}))
