"""The pytest plugin on real VirtualBox and hosted's tiny test guest, with pytester:
docs/pytest.md's sample suite as it is (five tests that each change the guest and
each start from the baseline), a failing test whose report shows the serial log,
--hosted-keep, a second session reusing the kept environment and destroying it, and
an xdist run whose two workers make two environments of their own."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from vbox_fixtures import VBOXMANAGE, make_virtualbox_backend

from plugin.docs_examples import write_doc_files

pytestmark = [pytest.mark.vbox, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
GUEST = Path(os.environ.get("HOSTED_TEST_GUEST", ROOT / ".cache" / "test-guest"))
TIMEOUT = 1200  # seconds for one inner session: boots of the interpreted guest take 25-60 s

FAILING = """\
def test_fails(hosted_machine):
    hosted_machine.run("echo about to fail", check=True)
    assert hosted_machine.run("false").ok, "the guest said no"
"""

# Each worker's tests say which environment and machine they ran on.
RECORDER = """\
import json, os
import pytest

@pytest.fixture(autouse=True)
def _record(request):
    yield
    if "hosted_env" in request.fixturenames:
        session = request.getfixturevalue("hosted_env")
        box = session.machines["box"]
        with open(os.environ["HOSTED_PLUGIN_RECORD"], "a") as fh:
            fh.write(json.dumps({"env": session.env.name, "vm": box.vm_name, "port": box.port(22),
                                 "worker": os.environ.get("PYTEST_XDIST_WORKER", "")}) + "\\n")
"""


def vms() -> list[str]:
    out = subprocess.run([VBOXMANAGE, "list", "vms"], capture_output=True, text=True, check=True).stdout
    return [line.split('"')[1] for line in out.splitlines() if line.startswith('"')]


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.Pytester]:
    if not (GUEST / "test-guest.iso").is_file():
        pytest.fail(f"no test guest at {GUEST}: run scripts/test-guest/stage.sh (scripts/test does)")
    backend = make_virtualbox_backend()  # the session's private VBoxSVC, which the inner runs inherit
    monkeypatch.setenv("HOSTED_TEST_GUEST", str(GUEST))
    write_doc_files(pytester.path)
    yield pytester
    assert (GUEST / "test-guest.iso").is_file(), "the test guest's ISO went with a machine"
    try:
        assert vms() == [], "the sample suite left machines behind"
    finally:
        remove_machines_keeping_the_iso(backend)
        backend.close()


def remove_machines_keeping_the_iso(backend: Any) -> None:
    """Delete the machines a failed test left, and their disks, but not the test guest's ISO
    (vbox_fixtures.remove_all_machines cleans up in full: removable media would go too)."""
    ctx = backend._ctx
    for machine in ctx.array(ctx.vbox, "machines"):
        with contextlib.suppress(Exception):
            if int(machine.sessionState) != int(ctx.const.SessionState_Unlocked):
                session = ctx.mgr.getSessionObject()
                machine.lockMachine(session, ctx.const.LockType_Shared)
                with contextlib.suppress(Exception):
                    session.console.powerDown().waitForCompletion(30000)
                session.unlockMachine()
        with contextlib.suppress(Exception):
            media = machine.unregister(ctx.const.CleanupMode_DetachAllReturnHardDisksOnly)
            machine.deleteConfig(media).waitForCompletion(60000)


def test_sample_suite_resets_reports_keeps_and_tears_down(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_zz_failing=FAILING)
    first = suite.runpytest_subprocess("-p", "no:cacheprovider", "--hosted-keep", "-v",
                                       "-o", "hosted_log_lines=400", timeout=TIMEOUT)
    out = first.stdout.str()
    first.assert_outcomes(passed=5, failed=1)
    # The failure's report: the machine's serial console, VBox.log, the provisioning output.
    assert "hosted: box" in out
    assert "test-guest: starting dropbear" in out  # from the boot, before the first reset
    assert "[hosted: restored to 'baseline' here" in out
    assert "VBox.log: /" in out and "/Logs/VBox.log" in out
    assert "last provisioning output:" in out and "step shell-1" in out
    assert "the guest said no" in out
    assert "hosted: kept environment guesttests (guesttests-box)" in out
    assert vms() == ["guesttests-box"]

    # A second session reuses the kept machine (no boot), resets it before its first test
    # (the first session used it), and destroys it at the end.
    second = suite.runpytest_subprocess("-p", "no:cacheprovider", "-k", "reset_within", "-o",
                                        "log_cli=true", "-o", "log_cli_level=INFO", timeout=TIMEOUT)
    second.assert_outcomes(passed=1)
    log = second.stdout.str()
    assert "restore snapshot 'baseline'" in log and "wait for SSH" not in log
    assert vms() == []


def test_xdist_workers_get_environments_of_their_own(suite: pytest.Pytester, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    record = tmp_path / "record.jsonl"
    monkeypatch.setenv("HOSTED_PLUGIN_RECORD", str(record))
    suite.makeconftest(RECORDER)
    result = suite.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", timeout=TIMEOUT)
    result.assert_outcomes(passed=5)
    seen = [json.loads(line) for line in record.read_text().splitlines()]
    by_worker = {s["worker"]: (s["env"], s["vm"], s["port"]) for s in seen}
    assert sorted(by_worker) == ["gw0", "gw1"], seen
    assert by_worker["gw0"][:2] == ("guesttests-gw0", "guesttests-gw0-box")
    assert by_worker["gw1"][:2] == ("guesttests-gw1", "guesttests-gw1-box")
    assert by_worker["gw0"][2] != by_worker["gw1"][2]  # each its own SSH port
    assert len(seen) == 5
