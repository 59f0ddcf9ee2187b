"""End to end on real VirtualBox: two tiny test guests joined by a link (VirtualBox's UDPTunnel
driver, which runs without the kernel driver) with declared addresses.  `hosted up` boots
both, sets the link's addresses and each guest's names for the other over SSH; guest a then
reaches a TCP service on guest b by b's address and by b's name."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_guest import ISO, KEY, require_guest
from vbox_fixtures import make_virtualbox_backend, vboxmanage_info

from hosted.cli.main import main

pytestmark = [pytest.mark.vbox, pytest.mark.e2e]


PROFILE = """\
version: 1
name: {env}
defaults:
  memory: 64M
  cpus: 1
  dvd: {iso}
  ssh: {{user: root, private_key: {key}}}
  ready: {{ssh: 900}}
machines:
  a:
    nics:
      - nat: {{adapter: 82540EM, forwards: [{{name: ssh, guest: 22, host: auto}}]}}
      - link: {{peer: b, adapter: 82540EM, ip: 10.99.0.1/24}}
  b:
    nics:
      - nat: {{adapter: 82540EM, forwards: [{{name: ssh, guest: 22, host: auto}}]}}
      - link: {{peer: a, adapter: 82540EM, ip: auto}}
    provision:
      - name: web
        shell: |
          mkdir -p /srv/www && echo "hello from b" > /srv/www/index.html
          httpd -p 8080 -h /srv/www
"""


@pytest.fixture
def profile(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    require_guest()
    make_virtualbox_backend()  # skips without VirtualBox; points the machine folder at the test's home
    env = f"link{uuid.uuid4().hex[:6]}"
    path = tmp_path / "hosted.yaml"
    path.write_text(PROFILE.format(env=env, iso=ISO, key=KEY))
    f = ["-f", str(path)]
    yield env, f
    assert main(["destroy", *f, "--yes"]) == 0


def test_two_guests_on_a_link_reach_each_other_by_address_and_by_name(
        profile: tuple[str, list[str]], capfd: pytest.CaptureFixture[str]) -> None:
    env, f = profile
    assert main(["up", *f, "--yes"]) == 0, capfd.readouterr().out
    out = capfd.readouterr().out
    assert "set addresses in the guest: 10.99.0.1/24 (link to b)" in out
    assert "write /etc/hosts: b 10.99.0.2" in out and "provision web: done" in out
    a, b = vboxmanage_info(f"{env}-a"), vboxmanage_info(f"{env}-b")
    assert a["nic2"].lower() == b["nic2"].lower() == "generic" and a["generic2"] == "UDPTunnel"

    # busybox's nc (its wget crashes in this static build); one login: each takes seconds here
    get = 'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 60 {} 8080 | sed "s/^/{}: /"'
    assert main(["ssh", *f, "a", "--", get.format("10.99.0.2", "by-address") + "; "
                 + get.format("b", "by-name")]) == 0
    out = capfd.readouterr().out
    assert "by-address: hello from b" in out and "by-name: hello from b" in out

    assert main(["plan", *f]) == 0  # all recorded: nothing more to do in the guests
    out = capfd.readouterr().out
    assert "addresses: already set in the guest (recorded)" in out and "Nothing to do" in out
