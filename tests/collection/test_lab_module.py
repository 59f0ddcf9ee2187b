"""The hosted_environment module's logic, against the in-memory double (HOSTED_BACKEND), both
ways in: hosted's API in process, and the CLI's --json (the real entry point, run in process by a
stand-in for AnsibleModule.run_command).  What Ansible itself adds (argument checking, check
mode, the run of many hosts) is tested on real VirtualBox in test_lab_playbook_vbox.py."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cli_support
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # ansible_collections/ is imported from the checkout, as Ansible does
    sys.path.insert(0, str(ROOT))

from ansible_collections.hosted.lab.plugins.module_utils import api_driver, cli_driver  # noqa: E402
from ansible_collections.hosted.lab.plugins.module_utils.environment import (  # noqa: E402
    HostedFailure,
    Request,
    applied,
    apply,
    diff,
)

PROFILE = """\
version: 1
name: unitlab
machines:
  web: {memory: 64M}
  db: {memory: 64M, state: poweroff}
"""
INTERFACES = ("api", "cli")


def params(**given: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"profile": None, "bundle": None, "state": "up", "machines": [],
                            "snapshot": None, "trust": None, "allow_unsigned": False, "confirm": False,
                            "parallel": 0, "wait": True, "timeout": 60.0, "executable": None}
    return {**base, **given}


def run_in_process(argv: list[str]) -> tuple[int, str, str]:
    """AnsibleModule.run_command, for `hosted ...`: the CLI's main() in this process (so on the
    shared double), its stdout and stderr captured."""
    from hosted.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv[1:])
    return code, out.getvalue(), err.getvalue()


def task(interface: str, check_mode: bool = False, **given: Any) -> dict[str, Any]:
    """One task: the module's result, or its failure's (with ``failed``)."""
    request = Request(params(**given))
    try:
        driver = (api_driver.ApiDriver(request) if interface == "api"
                  else cli_driver.CliDriver(request, run_in_process, "hosted"))
        try:
            with driver.errors():
                return apply(request, driver, check_mode)
        finally:
            driver.close()
    except HostedFailure as failure:
        return {"failed": True, **failure.result()}


@pytest.fixture
def profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    cli_support.reset()
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:shared")
    monkeypatch.setenv("NO_COLOR", "1")
    (tmp_path / "hosted.yaml").write_text(PROFILE)
    yield str(tmp_path / "hosted.yaml")
    cli_support.reset()


def states(result: dict[str, Any]) -> dict[str, str]:
    return {m["machine"]: m["state"] for m in result["machines"]}


def test_the_api_is_used_when_importable() -> None:
    assert api_driver.importable()


@pytest.mark.parametrize("interface", INTERFACES)
def test_check_mode_plans_then_up_converges_and_a_rerun_is_no_change(interface: str, profile: str) -> None:
    planned = task(interface, check_mode=True, profile=profile)
    assert planned["changed"] is True and planned["interface"] == interface
    [plan] = planned["plans"]
    assert plan["operation"] == "up" and plan["actions"] > 0
    assert any(s.startswith("create unitlab-web") for s in planned["machines"][0]["steps"]), planned
    assert states(planned) == {"web": "not created", "db": "not created"}
    assert cli_support.shared().list_machines() == []
    assert "+ web: create unitlab-web" in diff(planned, True)["prepared"]

    first = task(interface, profile=profile)
    assert first["changed"] is True and "plans" not in first
    assert states(first) == {"web": "running", "db": "poweroff"}
    assert first["machines"][0]["steps"] and "+ db: create unitlab-db" in diff(first, False)["prepared"]

    second = task(interface, profile=profile)
    assert second["changed"] is False
    assert [m["steps"] for m in second["machines"]] == [[], []]
    assert task(interface, check_mode=True, profile=profile)["changed"] is False


@pytest.mark.parametrize("interface", INTERFACES)
def test_halted_snapshots_and_absent_are_idempotent(interface: str, profile: str) -> None:
    assert task(interface, profile=profile)["changed"]
    assert task(interface, profile=profile, state="halted")["changed"] is True
    assert task(interface, profile=profile, state="halted")["changed"] is False

    saved = task(interface, profile=profile, state="halted", snapshot={"save": "clean"})
    assert saved["changed"] is True
    assert task(interface, profile=profile, state="halted", snapshot={"save": "clean"})["changed"] is False
    planned = task(interface, check_mode=True, profile=profile, snapshot={"restore": "clean"})
    assert [p["operation"] for p in planned["plans"]] == ["snapshot-restore", "up"]
    restored = task(interface, profile=profile, state="halted", snapshot={"restore": "clean"})
    assert restored["changed"] is True
    missing = task(interface, profile=profile, snapshot={"restore": "nope"})
    assert missing["failed"] and missing["exit_code"] == 2 and missing["error_type"] == "UnknownSnapshot"

    planned = task(interface, check_mode=True, profile=profile, state="absent")
    assert planned["changed"] is True and len(cli_support.shared().list_machines()) == 2
    assert sorted(m["machine"] for m in planned["plans"][0]["machines"]) == ["db", "web"]
    assert task(interface, profile=profile, state="absent", machines=["db"])["changed"] is True
    assert states(task(interface, profile=profile, state="absent", machines=["db"])) == {"db": "not created"}
    assert task(interface, profile=profile, state="absent")["changed"] is True
    assert cli_support.shared().list_machines() == []
    assert task(interface, profile=profile, state="absent")["changed"] is False
    assert task(interface, profile=profile, state="halted", machines=["web"])["changed"] is False


@pytest.mark.parametrize("interface", INTERFACES)
def test_errors_are_hosteds_message_hint_and_exit_code(interface: str, profile: str, tmp_path: Path) -> None:
    unknown = task(interface, profile=profile, machines=["nope"])
    assert unknown["failed"] and unknown["exit_code"] == 2 and unknown["error_type"] == "UnknownMachine"
    assert unknown["hint"] == "machines: web, db"

    (tmp_path / "bad.yaml").write_text("version: 1\nname: bad\nmachines:\n  web: {memory: lots}\n")
    invalid = task(interface, profile=str(tmp_path / "bad.yaml"))
    assert invalid["failed"] and invalid["exit_code"] == 2 and invalid["error_type"] == "ProfileError"
    assert "memory" in invalid["msg"] and invalid["problems"][0]["line"] == 4

    assert task(interface, profile=profile)["changed"]
    Path(profile).write_text(PROFILE.replace("web: {memory: 64M}", "web: {memory: 128M}"), encoding="utf-8")
    refused = task(interface, profile=profile)
    assert refused["failed"] and refused["error_type"] == "ConfirmationRequired" and refused["exit_code"] == 1
    assert "confirm: true" in refused["hint"] and refused["changed"] is False
    done = task(interface, profile=profile, confirm=True)
    assert done["changed"] is True and done["machines"][0]["drift"] == []


def keypair(directory: Path) -> tuple[Path, Path]:
    key = directory / "lab_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "lab", "-f", str(key)], check=True)
    allowed = directory / "allowed_signers"
    blob = (directory / "lab_key.pub").read_text().split()[1]
    allowed.write_text(f"teachers@lab.example ssh-ed25519 {blob}\n")
    return key, allowed


def bundle_of(profile: str, output: Path, key: Path | None = None) -> Path:
    from hosted.images.bundle import write_bundle
    from hosted.profile import load_profile

    return write_bundle(load_profile(profile), output, sign_key=key).path


@pytest.mark.parametrize("interface", INTERFACES)
def test_bundles_need_a_trusted_signature_or_allow_unsigned(interface: str, profile: str,
                                                            tmp_path: Path) -> None:
    key, allowed = keypair(tmp_path)
    unsigned = str(bundle_of(profile, tmp_path / "unsigned.bundle"))
    refused = task(interface, bundle=unsigned)
    assert refused["failed"] and refused["error_type"] == "UnconfirmedBundle", refused
    assert "allow_unsigned" in refused["hint"] and cli_support.shared().list_machines() == []
    if interface == "api":
        assert refused["bundle"]["signed"] is False and refused["bundle"]["summary"] == []
    assert task(interface, bundle=unsigned, allow_unsigned=True)["changed"] is True

    signed = str(bundle_of(profile, tmp_path / "signed.bundle", key))
    used = task(interface, bundle=signed, trust=str(allowed))
    assert used["changed"] is False and used["bundle"]["path"] == signed
    if interface == "api":
        assert used["bundle"]["signer"] == "teachers@lab.example"
    (tmp_path / "other").mkdir()
    other, _ = keypair(tmp_path / "other")
    stranger = str(bundle_of(profile, tmp_path / "stranger.bundle", other))
    bad = task(interface, bundle=stranger, trust=str(allowed))
    assert bad["failed"] and bad["error_type"] == "BadSignature" and bad["exit_code"] == 2


@pytest.mark.parametrize("interface", INTERFACES)
def test_a_corrupt_bundle_fails_with_hosteds_message(interface: str, profile: str, tmp_path: Path) -> None:
    # A bundle of its own: one whose manifest was extracted before is used from its verified copy.
    Path(profile).write_text(PROFILE + f"# {interface}-{tmp_path.name}\n", encoding="utf-8")
    good = bundle_of(profile, tmp_path / "lab.bundle")
    data = bytearray(good.read_bytes())
    with tarfile.open(good) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("hosted.yaml"))
    data[member.offset_data + 5] ^= 0x01
    corrupt = tmp_path / "corrupt.bundle"
    corrupt.write_bytes(bytes(data))
    failed = task(interface, bundle=str(corrupt), allow_unsigned=True)
    assert failed["failed"] and failed["error_type"] == "BundleError" and failed["exit_code"] == 2, failed
    assert "sha256" in failed["msg"] and failed["hint"]
    assert cli_support.shared().list_machines() == []


def test_a_refused_api_runs_hosted_as_a_command_once(profile: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """VBoxSVC refused the module's own process (it was shutting down, and that process's
    connection stays broken): the task runs the `hosted` command instead, a new process."""
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:refused")
    monkeypatch.setenv("HOSTED_TEST_CONNECTS", str(tmp_path / "connects"))
    request = Request(params(profile=profile))
    commands: list[list[str]] = []

    def new_process(argv: list[str]) -> tuple[int, str, str]:  # one that reaches the new VBoxSVC
        commands.append(argv)
        monkeypatch.setenv("HOSTED_BACKEND", "cli_support:shared")
        return run_in_process(argv)

    result = applied(request, api_driver.ApiDriver(request), False,
                     lambda: cli_driver.CliDriver(request, new_process, "hosted"))
    assert result["interface"] == "cli" and result["changed"] is True
    assert states(result) == {"web": "running", "db": "poweroff"} and commands
    assert (tmp_path / "connects").read_text(encoding="utf-8")  # the API was refused first


@pytest.mark.parametrize("backend,error", [("refused", "ServiceRefused"),
                                           ("unavailable", "BackendUnavailable")])
def test_the_command_is_tried_once_and_only_after_a_refusal(
        profile: str, tmp_path: Path, backend: str, error: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOSTED_BACKEND", f"cli_support:{backend}")
    monkeypatch.setenv("HOSTED_TEST_CONNECTS", str(tmp_path / "connects"))
    request = Request(params(profile=profile))
    tried: list[str] = []

    def again() -> Any:
        tried.append("cli")
        return cli_driver.CliDriver(request, run_in_process, "hosted")  # refused as well

    with pytest.raises(HostedFailure) as failed:
        applied(request, api_driver.ApiDriver(request), False, again)
    assert failed.value.error_type == error and failed.value.exit_code == 3
    assert tried == (["cli"] if backend == "refused" else [])


def test_the_cli_driver_reports_a_command_without_json(tmp_path: Path) -> None:
    def crashed(argv: list[str]) -> tuple[int, str, str]:
        return 1, "", "Traceback ...\nRuntimeError: boom"

    with pytest.raises(HostedFailure) as info:
        cli_driver.CliDriver(Request(params(profile=str(tmp_path))), crashed, "hosted")
    assert info.value.exit_code == 1 and "RuntimeError: boom" in info.value.hint


def test_the_module_documents_every_parameter() -> None:
    import yaml

    module = ROOT / "ansible_collections/hosted/lab/plugins/modules/hosted_environment.py"
    namespace: dict[str, Any] = {}
    source = module.read_text()
    exec(compile(source.split("\nimport os\n")[0], str(module), "exec"), namespace)
    documented = yaml.safe_load(namespace["DOCUMENTATION"])["options"]
    spec = json.loads(json.dumps(_argument_spec(source)))
    assert set(documented) == set(spec)
    for name, option in spec.items():
        assert documented[name]["type"] == option["type"], name
        assert documented[name].get("default", None) == option.get("default", None), name
    yaml.safe_load(namespace["EXAMPLES"])
    yaml.safe_load(namespace["RETURN"])


def _argument_spec(source: str) -> dict[str, Any]:
    import ast

    tree = ast.parse(source)
    [node] = [n for n in tree.body
              if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "ARGUMENT_SPEC"]
    return dict(ast.literal_eval(node.value))
