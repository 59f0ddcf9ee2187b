"""Profiles from other people: text that would inject, names with a trailing newline, deep
nesting, huge files, sensitive host paths, risky forwards, secrets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from profile_types import Load, Reject, Write

from hosted.errors import ProfileError
from hosted.profile import load_profile
from hosted.profile.loader import MAX_PROFILE_BYTES
from hosted.profile.source import MAX_DEPTH

HEAD = "version: 1\nname: t\nmachines:\n  web:\n"  # machine keys start on line 5


def web(body: str) -> str:
    return HEAD + "".join(f"    {line}\n" for line in body.strip("\n").splitlines())


# Defect 2: every text value that reaches an ssh_config, a command line, an answer file or a
# file name is checked at load time.  (profile, line, key path, words in the message)
INJECTIONS = [
    pytest.param(web('ssh: {user: "root\\nProxyCommand sh -c id"}'), 5, "machines.web.ssh.user",
                 "control character U+000A", id="ssh-user-newline"),
    pytest.param(web('ssh: {user: "-oProxyCommand=id"}'), 5, "machines.web.ssh.user", "not a user name",
                 id="ssh-user-option"),
    pytest.param(web('ssh: {user: "a b"}'), 5, "machines.web.ssh.user", "not a user name",
                 id="ssh-user-space"),
    pytest.param(web('os_type: "Debian_64\\nX"'), 5, "machines.web.os_type", "control character",
                 id="os-type-newline"),
    pytest.param(web('nics: [{bridged: {interface: "eth0\\u001b[2J"}}]'), 5,
                 "machines.web.nics[0].bridged.interface", "control character U+001B", id="interface-escape"),
    pytest.param(web('provision: [{file: {source: setup.sh, destination: "/etc/x\\nrm -rf /"}}]'), 5,
                 "machines.web.provision[0].file.destination", "control character", id="destination"),
    pytest.param(web('shared_folders: [{host: src, guest: "/srv\\u202e"}]'), 5,
                 "machines.web.shared_folders[0].guest", "U+202E", id="guest-path-bidi"),
    pytest.param('version: 1\nname: t\nimages:\n  i: {source: "http://x/a\\nb", sha256: "' + "0" * 64
                 + '"}\nmachines:\n  web: {image: i}\n', 4, "images.i.source", "control character",
                 id="url-newline"),
    pytest.param("version: 1\nname: t\nimages:\n  i: {source: 'http:///nohost', sha256: '" + "0" * 64
                 + "'}\nmachines:\n  web: {image: i}\n", 4, "images.i.source", "names no host",
                 id="url-no-host"),
]


@pytest.mark.parametrize(("text", "line", "key", "message"), INJECTIONS)
def test_injected_text_is_refused_at_load(reject: Reject, text: str, line: int, key: str,
                                          message: str) -> None:
    err = reject(text)
    assert (err.line, err.key) == (line, key), str(err)
    assert message in err.reason, str(err)
    assert err.exit_code == 2


@pytest.mark.parametrize("where", ["name", "machine", "vm_name", "forward"])
def test_names_with_a_trailing_newline_are_refused(reject: Reject, where: str) -> None:
    # Defect 9: NAME_PATTERN ends in `$`, which Python's re.match lets match before a final newline.
    text = {
        "name": 'version: 1\nname: "t\\n"\nmachines:\n  web: {}\n',
        "machine": 'version: 1\nname: t\nmachines:\n  "web\\n": {}\n',
        "vm_name": web('vm_name: "t-web\\n"'),
        "forward": web('nics: [{nat: {forwards: [{name: "ssh\\n", guest: 22}]}}]'),
    }[where]
    err = reject(text)
    assert "not a valid name" in err.reason


def test_install_values_that_reach_an_answer_file_are_one_line(profile_dir: Path, write: Write) -> None:
    (profile_dir / "d.iso").write_bytes(b"\0" * 16)
    path = write("version: 1\nname: t\nimages:\n  d: {source: d.iso, kind: iso}\nmachines:\n"
                 "  web:\n    image: d\n    disk: 2G\n"
                 '    install: {full_name: "A\\nd-i passwd/root-password string x", time_zone: "a b"}\n')
    with pytest.raises(ProfileError) as info:
        load_profile(path, {})
    keys = {p.key: p.reason for p in info.value.problems}
    assert "control character" in keys["machines.web.install.full_name"]
    assert "not a time zone" in keys["machines.web.install.time_zone"]


def test_a_deeply_nested_profile_is_a_profile_error(reject: Reject) -> None:
    err = reject("version: 1\nname: t\nmachines:\n  web:\n    cloud_init: " + "[" * 10_000 + "\n")
    assert f"nested more than {MAX_DEPTH} levels" in err.reason and err.line == 5


def test_deep_cloud_config_text_is_a_profile_error(reject: Reject) -> None:
    deep = "[" * 5000 + "]" * 5000
    err = reject(web(f'cloud_init: "#cloud-config\\na: {deep}"'))
    assert err.key.startswith("machines.web.cloud_init") and f"nested more than {MAX_DEPTH}" in err.reason


@pytest.mark.parametrize(("value", "words"), [
    ("2024-13-45", "month must be in 1..12"),
    ("2024-02-30", "cannot read this value: day"),
    ("2001-12-14t21:59:43.10-99:99", "offset"),
    ("!!int abc", "cannot read this value"),
    ("!!float x", "cannot read this value"),
])
def test_scalars_yaml_cannot_construct_are_profile_errors(reject: Reject, value: str, words: str) -> None:
    # Defect 9: PyYAML raises ValueError (not a YAMLError) for these; it was an internal error.
    err = reject(web(f"memory: {value}"))
    assert (err.line, err.key) == (5, "machines.web.memory") and words in err.reason


def test_a_character_yaml_does_not_allow_is_located(write: Write) -> None:
    path = write("version: 1\nname: t\x00x\nmachines:\n  web: {}\n")
    with pytest.raises(ProfileError) as info:
        load_profile(path, {})
    assert (info.value.line, info.value.column) == (2, 8) and "U+0000" in info.value.reason


def test_control_characters_in_keys_and_values_are_escaped_in_messages(reject: Reject) -> None:
    err = reject(web('"a\\nb\\e[2J": 1'))
    assert err.key == "machines.web.a\\nb\\x1b[2J" and "\n" not in str(err) and "\x1b" not in str(err)
    err = reject(web('nics: [{nat: {forwards: [{guest: 22, host_ip: "127.0.0.1\\n"}]}}]'))
    assert "'127.0.0.1\\n' is not an IP address" in err.reason


def test_a_profile_larger_than_the_limit_is_refused(write: Write) -> None:
    path = write("version: 1\nname: t\nmachines:\n  web: {}\n# " + "x" * MAX_PROFILE_BYTES + "\n")
    with pytest.raises(ProfileError) as info:
        load_profile(path, {})
    assert "larger than" in info.value.reason and info.value.file == str(path)


def test_a_fifo_is_not_read_as_a_profile(tmp_path: Path) -> None:
    fifo = tmp_path / "hosted.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ProfileError, match="not a regular file"):
        load_profile(fifo, {})  # would block forever if opened for reading plainly


def test_non_regular_files_are_refused_as_sources(reject: Reject) -> None:
    # Defect 5: /dev/zero passed validation (a path that exists) and was then read without end.
    err = reject(web("provision: [{file: {source: /dev/zero, destination: /tmp/z}}]"))
    assert err.key == "machines.web.provision[0].file.source" and "not a regular file" in err.reason
    err = reject(web("dvd: /dev/null"))
    assert err.key == "machines.web.dvd" and "not a regular file" in err.reason


# Defect 12: sharing the whole disk, the home directory or ~/.ssh needs `allow_sensitive: true`.
@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    (home / "work").mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.mark.parametrize(("body", "key", "why"), [
    ("shared_folders: [{host: /, guest: /host}]", "machines.web.shared_folders[0].host",
     "the root of the file system"),
    ("shared_folders: [{host: '~', guest: /home}]", "machines.web.shared_folders[0].host",
     "your home directory"),
    ("shared_folders: [{host: '~/.ssh', guest: /k}]", "machines.web.shared_folders[0].host", "~/.ssh"),
    ("provision: [{file: {source: '~/.ssh/id_ed25519', destination: /tmp/k}}]",
     "machines.web.provision[0].file.source", "~/.ssh"),
    ("provision: [{shell: {script: '~/.ssh/id_ed25519'}}]", "machines.web.provision[0].shell.script",
     "~/.ssh"),
])
def test_sensitive_host_paths_are_refused(home: Path, reject: Reject, body: str, key: str, why: str) -> None:
    err = reject(web(body))
    assert err.key == key and why in err.reason, str(err)
    assert "allow_sensitive: true" in err.hint


def test_a_symlink_to_the_home_directory_is_refused_too(home: Path, profile_dir: Path,
                                                        reject: Reject) -> None:
    (profile_dir / "innocent").symlink_to(home)
    err = reject(web("shared_folders: [{host: innocent, guest: /srv}]"))
    assert "your home directory" in err.reason


def test_allow_sensitive_shares_with_a_warning(home: Path, load: Load) -> None:
    env = load(web("shared_folders: [{host: '~', guest: /home/me, allow_sensitive: true}]"))
    (folder,) = env.machines[0].shared_folders or ()
    assert folder.host == str(home) and folder.readonly
    assert any("your home directory" in w and "allow_sensitive" in w for w in env.warnings)


def test_ordinary_directories_under_home_are_fine(home: Path, load: Load) -> None:
    env = load(web("shared_folders: [{host: '~/work', guest: /work}]"))
    assert env.machines[0].shared_folders and env.warnings == ()


def test_shared_folders_are_read_only_unless_declared_writable(load: Load) -> None:
    env = load(web("shared_folders:\n  - {host: src, guest: /a}\n"
                   "  - {host: src, guest: /b, readonly: false}"))
    a, b = env.machines[0].shared_folders or ()
    assert (a.readonly, b.readonly) == (True, False)


def test_risky_forwards_are_warned_about_with_file_and_line(load: Load) -> None:
    env = load(web("nics:\n  - nat:\n      forwards:\n"
                   "        - {guest: 22, host: 2222}\n"
                   "        - {guest: 80, host: 8080, host_ip: 0.0.0.0}\n"
                   "        - {guest: 443, host: 443}\n"
                   "        - {guest: 53, host_ip: '::', protocol: udp}\n"))
    lines = env.warnings
    assert len(lines) == 3, lines
    every, privileged, v6 = lines
    assert ":9: machines.web.nics[0].nat.forwards[1].host_ip:" in every and "every address" in every
    assert ":10: machines.web.nics[0].nat.forwards[2].host:" in privileged and "privileged" in privileged
    assert ":11:" in v6 and "(::)" in v6
    assert all(w.startswith(env.path) for w in lines)


# Secrets through ${VAR}: declared under `secrets:`, or named like one.
def test_secret_variables_are_collected_for_redaction(load: Load) -> None:
    text = ("version: 1\nname: t\nsecrets: [WEBHOOK]\nmachines:\n  web:\n"
            "    provision:\n      - shell: 'curl -H ${WEBHOOK} ${API_TOKEN} ${PLAIN}'\n")
    env = load(text, {"WEBHOOK": "hook-123", "API_TOKEN": "tok-456", "PLAIN": "not-secret"})
    assert set(env.secrets) == {"hook-123", "tok-456"}
    assert "secrets=" not in repr(env), "the list of secrets is kept out of the Environment's repr"


def test_secrets_must_name_variables(reject: Reject) -> None:
    err = reject("version: 1\nname: t\nsecrets: ['not a name']\nmachines:\n  web: {}\n")
    assert err.key == "secrets[0]"


@pytest.mark.parametrize(("text", "line", "key"), [
    ("version: 1\nname: t\nsecrets: [TOK]\nmachines:\n  web:\n    provision:\n"
     "      - {name: 'hook-${TOK}', shell: 'true'}\n", 7, "machines.web.provision[0].name"),
    ("version: 1\nname: t\nmachines:\n  web:\n    provision:\n"
     "      - {name: 'x${API_TOKEN}', shell: 'true', run: once}\n", 6, "machines.web.provision[0].name"),
    ("version: 1\nname: t\nsecrets: [TOK]\nmachines:\n  web: {}\nansible:\n"
     "  - {name: 'play-${TOK}', playbook: site.yml}\n", 7, "ansible[0].name"),
])
def test_a_secret_in_a_name_hosted_records_is_refused(reject: Reject, write: Write, text: str, line: int,
                                                      key: str) -> None:
    """A step's name is the key of its run-once record in the machine's VirtualBox settings:
    a secret there would be stored in clear (and shown by VBoxManage getextradata)."""
    (write("").parent / "site.yml").write_text("- hosts: all\n", encoding="utf-8")
    environ = {"TOK": "s3cr3t-value", "API_TOKEN": "s3cr3t-value"}
    err = reject(text, environ)
    assert (err.line, err.key) == (line, key), str(err)
    assert "secret" in err.reason and "s3cr3t-value" not in str(err)
    load_profile(write(text.replace("${TOK}", "fixed").replace("${API_TOKEN}", "fixed")), environ)
