"""The pytest plugin's logic on the backend double (its NAT relays guest port 22 to
a real sshd standing in for the guest), through in-process pytester runs: which
machines are reset before which test, the failure report, teardown and --hosted-keep.
The same suite on real VirtualBox and the test guest: test_plugin_vbox.py."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import SharedBackend
from ssh.sshd import Sshd, client_key_fixture, sshd_fixture  # noqa: F401

from hosted.ports import PortAllocator
from plugin import double_support

_envs = itertools.count(1)


def _import_hosted() -> None:
    # An in-process pytester run forgets the modules it imported; the runner's dispatch
    # table would then hold one run's step classes and the planner make another's.
    import importlib
    import pkgutil

    import hosted

    for module in pkgutil.walk_packages(hosted.__path__, "hosted."):
        if not module.name.startswith(("hosted.backend.virtualbox", "hosted.cli", "hosted.__main__")):
            importlib.import_module(module.name)


_import_hosted()

PROFILE = """\
version: 1
name: {name}
defaults:
  memory: 64M
  baseline: true
  ssh: {{user: root, private_key: {key}}}
  ready: {{ssh: 30}}
machines:
  web:
    nics:
      - nat: {{forwards: [{{name: ssh, guest: 22, host: auto}}, {{name: http, guest: 8080, host: auto}}]}}
    provision:
      - shell: echo provisioned-web-{name}
  db:
    nics: [{{nat: {{forwards: [{{name: ssh, guest: 22, host: auto}}]}}}}]
"""

SUITE = """\
import pytest

@pytest.mark.hosted_reset
def test_a_web(machine):
    web = machine("web")
    got = web.run("echo out; echo err >&2; exit 3")
    assert (got.exit_status, got.stdout, got.stderr, got.ok) == (3, "out\\n", "err\\n", False)
    assert 2200 <= web.port(8080) <= 2999 and web.port(8080) != web.port(22)

@pytest.mark.hosted_reset
def test_b_db(machine):
    assert machine("db").run("true").ok

def test_c_web_without_reset(hosted_machine):
    assert hosted_machine.name == "web"
    hosted_machine.run("true", check=True)

@pytest.mark.hosted_reset
def test_d_uses_nothing():
    pass

@pytest.mark.hosted_reset
def test_e_fails(hosted_machine):
    serial = hosted_machine.logs()["serial"]  # the double writes no console: this test does
    with open(serial, "a") as fh:
        fh.write("console: the guest says goodbye\\n")
    hosted_machine.run("false", check=True)
"""


@pytest.fixture
def rig(sshd: Sshd, client_key: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        pytester: pytest.Pytester) -> Iterator[SharedBackend]:
    backend = SharedBackend(root=tmp_path / "vms", ports=PortAllocator(tmp_path / "ports"),
                            guests={22: ("127.0.0.1", sshd.port)})
    monkeypatch.setattr(double_support, "BACKEND", backend)
    monkeypatch.setenv("HOSTED_BACKEND", "plugin.double_support:backend")
    name = f"plug{next(_envs)}"
    (pytester.path / "hosted.yaml").write_text(PROFILE.format(name=name, key=client_key))
    pytester.makepyfile(test_suite=SUITE)
    yield backend
    backend.nat.close()


def _uuid(backend: SharedBackend, machine: str) -> str:
    return next(m.uuid for m in backend.list_machines() if m.label == machine)


pytestmark = pytest.mark.sshd


def test_used_machines_are_reset_before_marked_tests_and_failures_show_the_logs(
        rig: SharedBackend, pytester: pytest.Pytester) -> None:
    uuids: dict[str, str] = {}
    destroy = rig.destroy

    def remember(uuid: str, emit: object) -> None:
        uuids.setdefault(next(m.label for m in rig.list_machines() if m.uuid == uuid), uuid)
        destroy(uuid, emit)  # type: ignore[arg-type]

    rig.destroy = remember  # type: ignore[method-assign]
    result = pytester.runpytest_inprocess("--hosted-profile", "hosted.yaml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4, failed=1)
    # a: nothing used yet; b: web (a used it); d: db and web, together; e: nothing dirty.
    assert rig.count("restore_snapshot", uuids["web"]) == 2
    assert rig.count("restore_snapshot", uuids["db"]) == 1
    out = result.stdout.str()
    assert "hosted: web" in out and "hosted: db" not in out  # only the machine the test used
    assert "console: the guest says goodbye" in out
    assert "last provisioning output:" in out and "provisioned-web-plug" in out
    assert "VBox.log: " in out
    assert "'false' exited with status 1" in out
    assert rig.list_machines() == []  # destroyed at the end


def test_keep_leaves_the_environment(rig: SharedBackend, pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("--hosted-profile", "hosted.yaml", "--hosted-keep",
                                          "-k", "test_a_web or test_b_db")
    result.assert_outcomes(passed=2)
    assert sorted(m.label for m in rig.list_machines()) == ["db", "web"]
    result.stdout.fnmatch_lines(["hosted: kept environment plug*-web*--hosted-keep*"])

    # A second session finds them: web and db were used before, so the first marked test resets
    # both; then the environment is destroyed.
    web = _uuid(rig, "web")
    again = pytester.runpytest_inprocess("--hosted-profile", "hosted.yaml", "-k", "test_b_db")
    again.assert_outcomes(passed=1)
    assert rig.count("restore_snapshot", web) == 2  # test_b reset it in each session
    assert rig.list_machines() == []


def test_every_test_resets_with_the_option(rig: SharedBackend, pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nhosted_profile = hosted.yaml\nhosted_reset = true\n")
    pytester.makepyfile(test_plain="def test_1(hosted_machine):\n    hosted_machine.run('true')\n"
                                   "def test_2(hosted_machine):\n    hosted_machine.run('true')\n")
    result = pytester.runpytest_inprocess("test_plain.py")
    result.assert_outcomes(passed=2)
    assert rig.count("restore_snapshot") == 1  # before test_2

