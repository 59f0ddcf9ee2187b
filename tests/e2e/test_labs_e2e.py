"""On the booted tiny test guest (real VirtualBox): `hostname:` is set over SSH, a `reboot: true`
step reboots the guest and the steps after it run in the new boot (its /tmp is empty again, the
host name set again), and shell `args` arrive intact: spaces, quotes, a dollar sign, an empty one."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from vbox_fixtures import make_virtualbox_backend

from hosted import api
from hosted.cli.main import main
from hosted.profile import load_profile

pytestmark = [pytest.mark.vbox, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
GUEST = Path(os.environ.get("HOSTED_TEST_GUEST", ROOT / ".cache" / "test-guest"))

PROFILE = """\
version: 1
name: {env}
machines:
  box:
    memory: 64M
    dvd: {iso}
    hostname: labbox.test
    nics: [{{nat: {{adapter: 82540EM, forwards: [{{name: ssh, guest: 22}}]}}}}]
    ssh: {{user: root, private_key: {key}}}
    ready: {{ssh: 240}}
    provision:
      - name: before
        shell: awk '/^btime/ {{print $2}}' /proc/stat > /tmp/first-boot
        reboot: true
      - name: args
        shell:
          inline: 'for a in "$@"; do printf "<%s>\\n" "$a"; done > /tmp/args; hostname > /tmp/name'
          args: ["two words", "it's \\"quoted\\"", "$HOME", "", 42]
"""


def test_hostname_reboot_and_args_on_the_test_guest(tmp_path: Path) -> None:
    if not (GUEST / "test-guest.iso").is_file():
        pytest.fail(f"no test guest at {GUEST}: run scripts/test-guest/stage.sh (scripts/test does)")
    make_virtualbox_backend()
    env_name = f"lab{uuid.uuid4().hex[:6]}"
    profile = tmp_path / "hosted.yaml"
    profile.write_text(PROFILE.format(env=env_name, iso=GUEST / "test-guest.iso",
                                      key=GUEST / "ssh" / "test_key"), encoding="utf-8")
    env = load_profile(profile)
    f = ["-f", str(profile)]
    try:
        plan = api.plan(env)
        kinds = [s.kind for s in plan.machines[0].steps]
        assert kinds[kinds.index("wait-ready"):] == ["wait-ready", "set-hostname", "provision", "reboot",
                                                     "set-hostname", "provision"]
        assert main(["up", *f, "--yes"]) == 0
        result = api.run_command(env, "box", "cat /tmp/args; cat /tmp/name; hostname; "
                                 "test -e /tmp/first-boot && echo SAME-BOOT || echo NEW-BOOT")
        assert result.ok, result.output
        assert result.output.splitlines() == [
            "<two words>", "<it's \"quoted\">", "<$HOME>", "<>", "<42>", "labbox.test", "labbox.test",
            "NEW-BOOT"]
        assert main(["plan", *f]) == 0  # recorded: nothing left to do while it runs
    finally:
        assert main(["destroy", *f, "--yes"]) == 0
