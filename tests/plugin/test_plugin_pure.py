"""The pytest plugin without machines: inert without a profile, one environment per
xdist worker, and the failure report's reading of the logs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from factories import env, fwd, nat, spec

from hosted.model import Nic
from hosted.pytest_plugin.naming import for_worker
from hosted.pytest_plugin.report import log_tail, machine_section, provision_tail


def test_without_a_profile_the_plugin_is_inert(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="""
        def test_needs_a_machine(hosted_machine):
            pass

        def test_plain(request):
            assert request.config.pluginmanager.get_plugin("hosted-session") is None
        """)
    result = pytester.runpytest_inprocess("-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*no hosted profile: give --hosted-profile PATH*"])


def test_the_plugin_is_registered_through_its_entry_point(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*--hosted-profile=PATH*", "*--hosted-keep*", "*--hosted-reset*"])


def test_each_worker_gets_its_own_names_networks_and_ports() -> None:
    web = spec("web", nics=(nat(fwd(22, 2222, "ssh"), fwd(80, None, "http")), Nic("internal", "lab")))
    named = replace(spec("db"), vm_name="my-db")
    base = env(web, named)  # VM names: ENV-MACHINE unless the profile names it
    assert for_worker(base, "") is base
    worker = for_worker(base, "gw1")
    assert worker.name == f"{base.name}-gw1"
    w, d = worker.machines
    assert (w.vm_name, d.vm_name) == (f"{base.name}-gw1-web", "my-db-gw1")
    assert w.nics is not None
    assert [f.host for f in w.forwards()] == [None, None]  # every forward on an automatic port
    assert w.nics[1].network == "lab-gw1"
    assert base.machines[0].forwards()[0].host == 2222  # the profile's own is unchanged


def test_report_tails(tmp_path: Path) -> None:
    serial = tmp_path / "serial.log"
    serial.write_bytes(b"\x1b[0mboot 1\r\n\r\n" + b"".join(b"line %d\n" % i for i in range(100)))
    assert log_tail(serial, 3) == "line 97\nline 98\nline 99"
    provision = tmp_path / "provision.log"
    provision.write_text("=== 2024-01-01 10:00:00 e/web step one (shell, run once) ===\nold\n"
                         "=== exit status 0 after 1.0 s ===\n"
                         "=== 2024-01-01 10:00:05 e/web step two (shell, run once) ===\nnew\n"
                         "=== exit status 3 after 0.5 s ===\n")
    assert provision_tail(provision, 10).splitlines() == [
        "=== 2024-01-01 10:00:05 e/web step two (shell, run once) ===", "new",
        "=== exit status 3 after 0.5 s ==="]
    title, text = machine_section("web", {"vbox": "/v/VBox.log", "serial": str(serial),
                                          "provision": str(tmp_path / "none.log")}, 2)
    assert title == "hosted: web"
    assert text.splitlines() == ["VBox.log: /v/VBox.log", f"serial log: {serial} (last 2 lines)",
                                 "  | line 98", "  | line 99",
                                 f"last provisioning output: {tmp_path / 'none.log'} (none yet)"]


def test_the_docs_examples_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What docs/pytest.md shows is a valid profile, ini and test module (the sandbox runs them)."""
    import configparser

    import hosted
    from plugin.docs_examples import write_doc_files

    files = write_doc_files(tmp_path)
    assert sorted(files) == ["hosted.yaml", "pytest.ini", "test_guest.py"]
    guest = tmp_path / "guest"
    (guest / "ssh").mkdir(parents=True)
    (guest / "test-guest.iso").write_bytes(b"")
    (guest / "ssh" / "test_key").write_text("")
    monkeypatch.setenv("HOSTED_TEST_GUEST", str(guest))
    env = hosted.load(tmp_path / "hosted.yaml")
    assert [m.name for m in env.machines if m.baseline] == ["box"]
    ini = configparser.ConfigParser()
    ini.read(tmp_path / "pytest.ini")
    assert ini["pytest"]["hosted_profile"] == "hosted.yaml"
    code = compile(files["test_guest.py"], "test_guest.py", "exec")
    tests = [n for n in code.co_names if n.startswith("test_")]
    assert len(tests) == 5
