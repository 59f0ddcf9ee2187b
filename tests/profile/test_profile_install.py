"""Machines installed from an installer ISO image: the `install:` key, its defaults, and every rejection."""

from __future__ import annotations

import pytest
from profile_types import Load, Reject

from hosted.errors import EXIT_INVALID
from hosted.model import InstallSpec
from hosted.profile.build import INSTALL_SSH_TIMEOUT

URL = "https://example.invalid/debian-12.5.0-amd64-netinst.iso"
DIGEST = "ab" * 32


def profile(machine: str, image: str = "{source: disk.iso}", defaults: str = "") -> str:
    """images: line 3; defaults (if any) line 4; machine `web` on the line after `machines:`."""
    text = f"version: 1\nname: t\nimages:\n  deb: {image}\n"
    if defaults:
        text += f"defaults: {defaults}\n"
    return text + f"machines:\n  web: {{{machine}}}\n"


def test_an_iso_image_makes_an_installed_machine_with_defaults(load: Load) -> None:
    web = load(profile("image: deb, disk: 20G")).machines[0]
    assert web.install == InstallSpec()
    assert (web.install.user, web.install.password, web.install.hostname) == ("hosted", None, None)
    assert web.ssh.user == "hosted", "the installer's user logs in"
    assert web.ready.ssh == INSTALL_SSH_TIMEOUT and web.disk_mb == 20 * 1024


def test_install_keys_map_onto_the_model(load: Load) -> None:
    web = load(profile("image: deb, disk: 8G, ssh: {user: root}, ready: {ssh: 600}, install: {user: dev, "
                       "password: '${PW}', full_name: Dev Eloper, hostname: web.lab.test, "
                       "guest_additions: true, locale: de_DE, time_zone: Europe/Berlin}"),
               {"PW": "s3cret"}).machines[0]
    assert web.install == InstallSpec(user="dev", password="s3cret", full_name="Dev Eloper",
                                      hostname="web.lab.test", guest_additions=True, locale="de_DE",
                                      time_zone="Europe/Berlin")
    assert (web.ssh.user, web.ready.ssh) == ("root", 600), "declared values win"


def test_install_merges_with_defaults_key_by_key(load: Load) -> None:
    web = load(profile("image: deb, disk: 8G, install: {hostname: web}",
                       defaults="{install: {user: dev, locale: fr_FR}}")).machines[0]
    assert web.install is not None
    assert (web.install.user, web.install.locale, web.install.hostname) == ("dev", "fr_FR", "web")


def test_a_url_declared_kind_iso_is_an_installer(load: Load) -> None:
    source = URL.replace(".iso", "")  # no .iso suffix: only the declared kind says it
    web = load(profile("image: deb, disk: 8G",
                       image=f"{{source: '{source}', sha256: '{DIGEST}', kind: iso}}")).machines[0]
    assert web.install == InstallSpec()


def test_other_images_have_no_install(load: Load, profile_dir: object) -> None:
    web = load(profile("image: deb", image="{source: src}")).machines[0]
    assert web.install is None and web.ssh.user == "root" and web.ready.ssh == 300


@pytest.mark.parametrize(("machine", "image", "defaults", "line", "key", "message", "hint"), [
    ("image: deb", "{source: disk.iso}", "", 6, "machines.web.image",
     "image 'deb' is an installer ISO: the machine needs a `disk`", "disk: 20G"),
    ("cpus: 1", "{source: disk.iso}", "{image: deb}", 5, "defaults.image",
     "needs a `disk`", "disk:"),
    ("image: deb, disk: 8G, dvd: disk.iso", "{source: disk.iso}", "", 6, "machines.web.dvd",
     "`dvd` cannot go with the installer ISO image 'deb'", "remove `dvd`"),
    ("image: deb, disk: 8G, linked: false", "{source: disk.iso}", "", 6, "machines.web.linked",
     "`linked` does not apply to the installer ISO image 'deb'", "remove `linked`"),
    ("image: deb, disk: 8G, cloud_init: {packages: [git]}", "{source: disk.iso}", "", 6,
     "machines.web.cloud_init", "`cloud_init` does not apply to the installer ISO image", "cloud-init"),
    ("image: deb, install: {user: dev}", "{source: src}", "", 6, "machines.web.install",
     "`install` needs an `image` that is an installer ISO", "kind: iso"),
    ("install: {user: dev}", "{source: disk.iso}", "", 6, "machines.web.install",
     "`install` needs an `image`", "installer .iso"),
    ("image: deb, disk: 8G, install: {user: Dev}", "{source: disk.iso}", "", 6, "machines.web.install.user",
     "'Dev' is not a user name", ""),
    ("image: deb, disk: 8G, install: {hostname: 'web_1'}", "{source: disk.iso}", "", 6,
     "machines.web.install.hostname", "'web_1' is not a host name", ""),
    ("image: deb, disk: 8G, install: {locale: english}", "{source: disk.iso}", "", 6,
     "machines.web.install.locale", "'english' is not a locale such as en_US", ""),
    ("image: deb, disk: 8G, install: {passwd: x}", "{source: disk.iso}", "", 6,
     "machines.web.install.passwd", "unknown key 'passwd'", "password"),
])
def test_rejected(reject: Reject, machine: str, image: str, defaults: str, line: int, key: str,
                  message: str, hint: str) -> None:
    err = reject(profile(machine, image, defaults))
    assert (err.line, err.key) == (line, key), str(err)
    assert message in err.reason, str(err)
    assert hint in err.hint, err.hint
    assert err.exit_code == EXIT_INVALID
