"""`images:` and the machine keys `image`, `linked` and `cloud_init`: loading and every rejection."""

from __future__ import annotations

from pathlib import Path

import pytest
from profile_types import Load, Reject

from hosted.errors import EXIT_INVALID

DIGEST = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
URL = "https://example.invalid/debian12.box"


def profile(images: str, machine: str = "image: deb", defaults: str = "") -> str:
    """images: on line 3, entries from 4; then defaults (one line), and machine `web` on one line."""
    text = "version: 1\nname: t\nimages:\n" + "".join(f"  {line}\n" for line in images.splitlines())
    if defaults:
        text += f"defaults: {defaults}\n"
    return text + f"machines:\n  web: {{{machine}}}\n"


def test_images_map_onto_the_model(load: Load, profile_dir: Path) -> None:
    (profile_dir / "boxes").mkdir()
    (profile_dir / "boxes" / "a.box").write_bytes(b"box")
    env = load(profile(f"deb: {{source: {URL}, sha256: {DIGEST.upper()}, kind: box, arch: arm64}}\n"
                       "local: {source: boxes/a.box, cloud_init: true}", machine="image: local"))
    deb, local = env.images
    assert (deb.name, deb.source, deb.sha256, deb.kind, deb.arch, deb.cloud_init) == \
        ("deb", URL, DIGEST, "box", "arm64", False)
    assert local.source == str(profile_dir / "boxes" / "a.box")
    assert (local.sha256, local.kind, local.arch, local.cloud_init) == (None, "auto", None, True)
    assert env.image("local") is local
    web = env.machines[0]
    assert (web.image, web.linked, web.cloud_init) == ("local", True, None)


def test_a_directory_source_is_accepted(load: Load, profile_dir: Path) -> None:
    env = load(profile("deb: {source: src}"))
    assert env.images[0].source == str(profile_dir / "src")


def test_machine_keys_from_defaults_and_own(load: Load) -> None:
    env = load("version: 1\nname: t\n"
               f"images: {{deb: {{source: '{URL}', sha256: '{DIGEST}'}}}}\n"
               "defaults: {image: deb, linked: false, cloud_init: {packages: [git]}}\n"
               "machines:\n  web: {}\n  db: {linked: true, cloud_init: \"#!/bin/sh\\necho ${WHO}\\n\"}\n",
               {"WHO": "db"})
    web, db = env.machines
    assert (web.image, web.linked) == ("deb", False)
    assert web.cloud_init == "#cloud-config\npackages:\n- git\n"
    assert (db.image, db.linked) == ("deb", True)
    assert db.cloud_init == "#!/bin/sh\necho db\n"


def test_cloud_config_text_is_kept_as_written(load: Load) -> None:
    text = "#cloud-config\\nruncmd: [[touch, /x]]\\n"
    env = load(profile("deb: {source: src}", machine=f'image: deb, cloud_init: "{text}"'))
    assert env.machines[0].cloud_init == "#cloud-config\nruncmd: [[touch, /x]]\n"


def test_a_profile_without_images_has_none(load: Load) -> None:
    env = load("version: 1\nname: t\nmachines: {web: {}}\n")
    assert env.images == () and env.machines[0].image is None and env.machines[0].linked is True


# (images lines, machine keys, defaults, line, key path, words in the message, words in the hint)
CASES = [
    pytest.param(f"deb: {{source: {URL}}}", "image: deb", "", 4, "images.deb.source",
                 "needs its sha256", "sha256sum", id="url-without-sha256"),
    pytest.param(f"deb: {{source: {URL}, sha256: abc}}", "image: deb", "", 4, "images.deb.sha256",
                 "'abc' is not a sha256 digest", "64 hexadecimal", id="sha256-malformed"),
    pytest.param("deb: {source: boxes/none.box}", "image: deb", "", 4, "images.deb.source",
                 "none.box does not exist", "relative to the profile", id="path-missing"),
    pytest.param("deb: {source: 'ftp://x/y.box'}", "image: deb", "", 4, "images.deb.source",
                 "'ftp://' sources are not supported", "https://", id="url-scheme"),
    pytest.param("deb: {source: ''}", "image: deb", "", 4, "images.deb.source", "the path is empty",
                 "", id="source-empty"),
    pytest.param("deb: {sha256: " + DIGEST + "}", "image: deb", "", 4, "images.deb",
                 "an image needs exactly one of source, box, box_url", "source", id="source-missing"),
    pytest.param("deb: {source: src, kind: qcow2}", "image: deb", "", 4, "images.deb.kind",
                 "'qcow2' is not allowed", "'box'", id="kind"),
    pytest.param("deb: {source: src, arch: i386}", "image: deb", "", 4, "images.deb.arch",
                 "'i386' is not allowed", "'arm64'", id="arch"),
    pytest.param("deb: {source: src, sha: " + DIGEST + "}", "image: deb", "", 4, "images.deb.sha",
                 "unknown key 'sha'", "Did you mean 'sha256'?", id="unknown-image-key"),
    pytest.param("deb: {source: src, cloud_init: maybe}", "image: deb", "", 4, "images.deb.cloud_init",
                 "expected true or false", "", id="image-cloud-init-flag"),
    pytest.param("deb:", "image: deb", "", 4, "images.deb", "expected a mapping", "", id="image-empty"),
    pytest.param("'deb 12': {source: src}", "image: deb", "", 4, "images.deb 12",
                 "not a valid name", "letters", id="image-name"),
    pytest.param("deb: {source: src}", "image: debain", "", 6, "machines.web.image",
                 "no image named 'debain' under `images:`", "Did you mean 'deb'?", id="image-unknown"),
    pytest.param("deb: {source: src}", "", "{image: ubuntu}", 5, "defaults.image",
                 "no image named 'ubuntu'", "Images in this profile: deb.", id="image-unknown-in-defaults"),
    pytest.param("deb: {source: src}", "image: deb, linked: 'no'", "", 6, "machines.web.linked",
                 "expected true or false", "without quotes", id="linked-string"),
    pytest.param("deb: {source: src}", "image: deb, cloud_init: 5", "", 6, "machines.web.cloud_init",
                 "expected a mapping, got 5", "", id="cloud-init-number"),
    pytest.param("deb: {source: src}", "image: deb, cloud_init: 'packages: [git]'", "", 6,
                 "machines.web.cloud_init", "must start with #cloud-config", "give a mapping",
                 id="cloud-init-no-header"),
    pytest.param("deb: {source: src}", "image: deb, cloud_init: \"#cloud-config\\nruncmd: [\"", "", 6,
                 "machines.web.cloud_init", "not valid YAML", "as a mapping", id="cloud-init-bad-yaml"),
    pytest.param("deb: {source: src}", "image: deb, cloud_init: \"#cloud-config\\n- a\\n\"", "", 6,
                 "machines.web.cloud_init", "not a mapping", "", id="cloud-init-a-list"),
    pytest.param("deb: {source: src}", "cloud_init: {packages: [git]}", "", 6, "machines.web.cloud_init",
                 "`cloud_init` needs an `image`", "image:", id="cloud-init-without-image"),
]


@pytest.mark.parametrize(("images", "machine", "defaults", "line", "key", "message", "hint"), CASES)
def test_rejected(reject: Reject, images: str, machine: str, defaults: str, line: int, key: str,
                  message: str, hint: str) -> None:
    err = reject(profile(images, machine, defaults))
    assert (err.line, err.key) == (line, key), str(err)
    assert err.column is not None and err.column >= 1
    assert message in err.reason, str(err)
    assert hint in err.hint, err.hint
    assert f":{line}:{err.column}: {key}: " in str(err)
    assert err.exit_code == EXIT_INVALID


def test_images_must_be_a_mapping(reject: Reject) -> None:
    err = reject("version: 1\nname: t\nimages: [deb]\nmachines: {web: {}}\n")
    assert (err.line, err.key) == (3, "images") and "expected a mapping" in err.reason


def test_unknown_image_with_no_images_section(reject: Reject) -> None:
    err = reject("version: 1\nname: t\nmachines:\n  web: {image: deb}\n")
    assert err.key == "machines.web.image" and "top-level `images:`" in err.hint
