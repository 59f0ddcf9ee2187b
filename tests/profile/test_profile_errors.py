"""Every way a profile is refused: the error names the file, line, column, key path, and hints."""

from __future__ import annotations

from pathlib import Path

import pytest
from profile_types import Reject, Write

from hosted.errors import EXIT_INVALID, ProfileError
from hosted.profile import load_profile

HEAD = "version: 1\nname: t\nmachines:\n  web:\n"  # machine keys start on line 5


def web(body: str) -> str:
    """A profile whose machine ``web`` has ``body`` (indented 4) from line 5 on."""
    return HEAD + "".join(f"    {line}\n" for line in body.strip("\n").splitlines())


NAT_8080 = "nics:\n  - nat:\n      forwards:\n        - {guest: 80, host: 8080}"

# (profile text, line, key path, words in the message, words in the hint)
CASES = [
    pytest.param(web("memroy: 512"), 5, "machines.web.memroy", "unknown key 'memroy'",
                 "Did you mean 'memory'?", id="unknown-machine-key"),
    pytest.param("version: 1\nname: t\nmachine:\n  web: {}\n", 3, "machine", "unknown key",
                 "Did you mean 'machines'?", id="unknown-top-key"),
    pytest.param(web("nics:\n  - nat:\n      forwards:\n        - {guest: 22, hots: 2222}"), 8,
                 "machines.web.nics[0].nat.forwards[0].hots", "unknown key 'hots'", "Did you mean 'host'?",
                 id="unknown-forward-key"),
    pytest.param(web("nics:\n  - natt"), 6, "machines.web.nics[0].natt", "unknown key",
                 "Did you mean 'nat'?", id="unknown-nic-kind"),
    pytest.param(web("cpus: '2'"), 5, "machines.web.cpus", "expected a whole number, got '2'",
                 "without quotes", id="cpus-quoted"),
    pytest.param(web("cpus: 2.5"), 5, "machines.web.cpus", "expected a whole number", "", id="cpus-float"),
    pytest.param(web("cpus: 0"), 5, "machines.web.cpus", "too small", "minimum is 1", id="cpus-zero"),
    pytest.param(web("cpus: 65"), 5, "machines.web.cpus", "too large", "maximum is 64", id="cpus-65"),
    pytest.param(web("cpus: true"), 5, "machines.web.cpus", "expected a whole number, got True", "",
                 id="cpus-bool"),
    pytest.param(web("memory: 2"), 5, "machines.web.memory", "2 MB is out of range", "between 4 and",
                 id="memory-too-small"),
    pytest.param(web("memory: 3T"), 5, "machines.web.memory", "out of range", "MB", id="memory-too-big"),
    pytest.param(web("memory: lots"), 5, "machines.web.memory", "'lots' is not a size", "512M, 2G",
                 id="memory-not-a-size"),
    pytest.param(web("disk: 1.3M"), 5, "machines.web.disk", "not a size", "2G", id="disk-fraction-of-mb"),
    pytest.param(web("firmware: uefi"), 5, "machines.web.firmware", "'uefi' is not allowed",
                 "'bios' or 'efi'", id="firmware"),
    pytest.param(web("state: off"), 5, "machines.web.state", "False is not allowed",
                 "quote the value", id="state-yaml-bool"),
    pytest.param(web("nics: nat"), 5, "machines.web.nics", "expected a list, got 'nat'", "",
                 id="nics-not-a-list"),
    pytest.param(web("ssh: {port: 70000}"), 5, "machines.web.ssh.port", "too large", "65535",
                 id="ssh-port"),
    pytest.param(web("ready: {tcp: -1}"), 5, "machines.web.ready.tcp", "too small", "minimum is 0",
                 id="ready-negative"),
    pytest.param(web("nics:\n  - nat:\n      forwards:\n        - {guest: 22, host: 2222}\n"
                     "        - {guest: 80, host: 70000}"), 9,
                 "machines.web.nics[0].nat.forwards[1].host", "'70000' is not a port", "'auto'",
                 id="host-port-range"),
    pytest.param(web("nics:\n  - nat:\n      forwards:\n        - {guest: 0}"), 8,
                 "machines.web.nics[0].nat.forwards[0].guest", "too small", "minimum is 1",
                 id="guest-port-0"),
    pytest.param(web("nics:\n  - nat:\n      forwards:\n        - {guest: 22, host: any}"), 8,
                 "machines.web.nics[0].nat.forwards[0].host", "'any' is not a port", "'auto'",
                 id="host-port-word"),
    pytest.param(web("nics:\n  - nat:\n      forwards:\n        - {guest: 22, host_ip: localhost}"), 8,
                 "machines.web.nics[0].nat.forwards[0].host_ip", "'localhost' is not an IP address",
                 "127.0.0.1", id="host-ip"),
    pytest.param(web("nics:\n  - nat:\n      forwards:\n        - {guest: 22, protocol: sctp}"), 8,
                 "machines.web.nics[0].nat.forwards[0].protocol", "'sctp' is not allowed", "'tcp' or 'udp'",
                 id="protocol"),
    pytest.param(web("nics:\n  - nat: {adapter: e1000}"), 6, "machines.web.nics[0].nat.adapter",
                 "'e1000' is not allowed", "virtio", id="adapter"),
    pytest.param(web("nics:\n  - internal"), 6, "machines.web.nics[0].internal.network",
                 "required key 'network' is missing", "network:", id="internal-without-network"),
    pytest.param(web("nics:\n  - nat: {}\n    internal: {network: lab}"), 6, "machines.web.nics[0]",
                 "exactly one of nat, internal, hostonly, bridged, natnetwork, link (got nat, internal)",
                 "exactly one",
                 id="nic-two-kinds"),
    pytest.param(web("nics: [nat, nat, nat, nat, nat, nat, nat, nat, nat]"), 5, "machines.web.nics",
                 "too many entries", "At most 8", id="nine-nics"),
    pytest.param("version: 1\nname: t\nmachines:\n  web server: {}\n", 4, "machines.web server",
                 "'web server' is not a valid name", "letters, digits", id="machine-name"),
    pytest.param("version: 1\nname: my env\nmachines:\n  web: {}\n", 2, "name",
                 "'my env' is not a valid name", "letters, digits", id="env-name"),
    pytest.param(web("vm_name: -web"), 5, "machines.web.vm_name", "not a valid name", "letters",
                 id="vm-name"),
    pytest.param("version: 1\nname: t\nmachines: {}\n", 3, "machines", "must not be empty", "at least 1",
                 id="no-machines"),
    pytest.param("version: 1\nname: t\n", 1, "machines", "required key 'machines' is missing",
                 "machines:", id="machines-missing"),
    pytest.param("version: 1\nname: t\nmachines:\n  web: 5\n", 4, "machines.web",
                 "expected a mapping, got 5", "", id="machine-not-a-mapping"),
    pytest.param(web("shared_folders:\n  - {host: ./nope, guest: /srv}"), 6,
                 "machines.web.shared_folders[0].host", "nope does not exist", "relative to the profile",
                 id="shared-folder-missing"),
    pytest.param(web("shared_folders:\n  - {host: setup.sh, guest: /srv}"), 6,
                 "machines.web.shared_folders[0].host", "setup.sh is not a directory", "wrong kind",
                 id="shared-folder-is-a-file"),
    pytest.param(web("dvd: missing.iso"), 5, "machines.web.dvd", "missing.iso does not exist", "",
                 id="dvd-missing"),
    pytest.param(web("dvd: src"), 5, "machines.web.dvd", "src is not a file", "", id="dvd-is-a-dir"),
    pytest.param(web("ssh: {private_key: keys/id_none}"), 5, "machines.web.ssh.private_key",
                 "id_none does not exist", "", id="key-missing"),
    pytest.param(web("provision:\n  - shell: {script: nope.sh}"), 6,
                 "machines.web.provision[0].shell.script", "nope.sh does not exist", "", id="script-missing"),
    pytest.param(web("provision:\n  - file: {source: nope, destination: /tmp/x}"), 6,
                 "machines.web.provision[0].file.source", "nope does not exist", "",
                 id="file-source-missing"),
    pytest.param(web("provision:\n  - shell: {inline: 'true', script: setup.sh}"), 6,
                 "machines.web.provision[0].shell", "exactly one of inline, script", "", id="shell-both"),
    pytest.param(web("provision:\n  - shell: 'true'\n    file: {source: src, destination: /x}"), 6,
                 "machines.web.provision[0]", "exactly one of shell, file", "", id="step-both"),
    pytest.param(web("provision:\n  - shell: 'true'\n    run: twice"), 7, "machines.web.provision[0].run",
                 "'twice' is not allowed", "'once' or 'always'", id="step-run"),
    pytest.param(web("provision:\n  - shell: 'true'\n    env: {1X: a}"), 7,
                 "machines.web.provision[0].env.1X", "not a valid name", "Environment variable names",
                 id="step-env-name"),
    pytest.param(web("provision:\n  - shell: 'true'\n  - shell: 'false'\n    name: shell-1"), 8,
                 "machines.web.provision[1].name", "two provision steps are named 'shell-1'", "name",
                 id="step-names"),
    pytest.param(web("nics:\n  - nat:\n      forwards:\n        - {guest: 22}\n        - {guest: 22}"), 9,
                 "machines.web.nics[0].nat.forwards[1]", "two forwards are named 'tcp22'", "`name:`",
                 id="forward-names"),
    pytest.param(web("shared_folders:\n  - {host: src, guest: /a/b}\n  - {host: src, guest: /a_b}"), 7,
                 "machines.web.shared_folders[1]", "two shared folders are named 'a_b'", "`name:`",
                 id="share-names"),
    pytest.param(web("cpus: 1\ncpus: 2"), 6, "machines.web.cpus",
                 "duplicate key 'cpus' (first given on line 5)", "keeps only the last", id="duplicate-key"),
    pytest.param(web("nics:\n  - nat:\n      forwards:\n        - {guest: 22, guest: 23}"), 8,
                 "machines.web.nics[0].nat.forwards[0].guest", "duplicate key 'guest'", "",
                 id="duplicate-nested"),
    pytest.param("version: 1\nname: t\nmachines:\n  web: {}\n  db: {}\n  web: {cpus: 1}\n", 6, "machines.web",
                 "duplicate key 'web' (first given on line 4)", "", id="duplicate-machine"),
    pytest.param("version: 1\nname: t\nname: u\nmachines: {web: {}}\n", 3, "name", "duplicate key 'name'", "",
                 id="duplicate-top-key"),
    pytest.param("version: 1\nname: t\nmachines:\n  web: {vm_name: box}\n  db: {vm_name: box}\n", 5,
                 "machines.db.vm_name", "machines 'web' and 'db' both have the VirtualBox name 'box'",
                 "own `vm_name`", id="same-vm-name"),
    pytest.param("version: 1\nname: t\nmachines:\n  web: {vm_name: T-DB}\n  db: {}\n", 5, "machines.db",
                 "VirtualBox name 't-db'", "without case", id="vm-name-clashes-with-default"),
    pytest.param("version: 1\nname: t\ndefaults: {vm_name: box}\nmachines:\n  web: {}\n  db: {}\n", 3,
                 "defaults.vm_name", "both have the VirtualBox name 'box'", "in defaults",
                 id="vm-name-in-defaults"),
    pytest.param(HEAD + "    nics: [{nat: {forwards: [{guest: 80, host: 8080}]}}]\n"
                 "  db:\n    nics: [{nat: {forwards: [{guest: 81, host: 8080}]}}]\n", 7,
                 "machines.db.nics[0].nat.forwards[0].host",
                 "host port 127.0.0.1:8080/tcp is already forwarded by machine 'web' "
                 "(machines.web.nics[0].nat.forwards[0].host, line 5)", "`host: auto`", id="host-port-twice"),
    pytest.param(web(NAT_8080 + "\n        - {guest: 81, host: 8080, host_ip: 0.0.0.0}"), 9,
                 "machines.web.nics[0].nat.forwards[1].host", "0.0.0.0:8080/tcp is already forwarded",
                 "another host port", id="host-port-wildcard"),
    pytest.param("version: 1\nname: t\ndefaults:\n  nics: [{nat: {forwards: [{guest: 80, host: 8080}]}}]\n"
                 "machines: {web: {}, db: {}}\n", 4, "defaults.nics[0].nat.forwards[0].host",
                 "forwarded by both machine 'web' and machine 'db', which take this forward from defaults",
                 "", id="host-port-from-defaults"),
    pytest.param("name: t\nmachines: {web: {}}\n", 1, "version", "no `version` key", "version: 1",
                 id="version-missing"),
    pytest.param("version: 2\nname: t\nmachines: {web: {}}\n", 1, "version", "unsupported profile version 2",
                 "version: 1", id="version-2"),
    pytest.param("name: t\nversion: '1'\nmachines: {web: {}}\n", 2, "version", "must be a whole number",
                 "version: 1", id="version-string"),
    pytest.param("version: 1\nname: t\nmachines:\n  web:\n    cpus: 1\n   memory: 2\n", 6, "",
                 "not valid YAML", "indentation", id="yaml-indentation"),
    pytest.param("version: 1\nname: t\nmachines:\n  web: {cpus: 1\n  db: {}\n", 5, "",
                 "not valid YAML", "", id="yaml-unclosed-flow"),
    pytest.param("version: 1\nname: t\nmachines:\n  web: !!python/object:os.system {}\n", 4, "machines.web",
                 "unsupported YAML tag", "Remove the tag", id="yaml-python-tag"),
    pytest.param("version: 1\nname: t\nmachines:\n  web:\n    cpus: !!python/name:os.system ''\n", 5,
                 "machines.web.cpus", "cannot read this value", "", id="yaml-python-scalar-tag"),
    pytest.param("version: 1\nname: t\nbase: &b {cpus: 1}\nmachines:\n  web:\n    <<: *b\n", 6,
                 "machines.web.<<", "merge keys", "defaults", id="yaml-merge-key"),
    pytest.param("", 1, "", "the profile is empty", "version: 1", id="empty"),
    pytest.param("# nothing but a comment\n", 1, "", "the profile is empty", "", id="only-comments"),
    pytest.param("- web\n- db\n", 1, "", "must be a mapping of keys, not a list", "", id="a-list"),
    pytest.param("just text\n", 1, "", "not a string", "", id="a-string"),
]


@pytest.mark.parametrize(("text", "line", "key", "message", "hint"), CASES)
def test_rejected(reject: Reject, text: str, line: int, key: str, message: str, hint: str) -> None:
    err = reject(text)
    assert err.line == line, str(err)
    assert err.column is not None and err.column >= 1
    assert err.key == key
    assert message in err.reason, str(err)
    assert hint in err.hint
    if key:
        assert f":{line}:{err.column}: {key}: " in str(err)
    assert err.exit_code == EXIT_INVALID


@pytest.mark.parametrize(("text", "column"), [
    (web("memroy: 512"), 5),  # the key
    (web("cpus: 65"), 11),  # the value
    (web("nics:\n  - nat:\n      forwards:\n        - {guest: 22, host: 70000}"), 33),
])
def test_column_points_at_the_key_or_value(reject: Reject, text: str, column: int) -> None:
    assert reject(text).column == column


def test_the_first_problem_in_file_order_is_reported(reject: Reject) -> None:
    err = reject(web("cpus: 0\nmemory: 1\nfirmware: x"))
    assert (err.line, err.key) == (5, "machines.web.cpus")


def test_unknown_key_without_close_match_lists_known_keys(reject: Reject) -> None:
    err = reject(web("colour: red"))
    assert "Did you mean" not in err.hint
    assert "memory" in err.hint and "shared_folders" in err.hint


def test_unset_variable_names_the_key_and_variable(reject: Reject) -> None:
    err = reject(web("os_type: ${GUEST_OS}"), environ={"OTHER": "x"})
    assert (err.line, err.key) == (5, "machines.web.os_type")
    assert "GUEST_OS is not set" in err.reason
    assert "${GUEST_OS:-value}" in err.hint


@pytest.mark.parametrize("value", ["${UNCLOSED", "${1BAD}", "${}", "${A:default}"])
def test_malformed_variable_reference(reject: Reject, value: str) -> None:
    err = reject(web(f"os_type: '{value}'"))
    assert (err.line, err.key) == (5, "machines.web.os_type")
    assert "malformed variable reference" in err.reason
    assert "$${" in err.hint


def test_substituted_value_is_still_validated(reject: Reject) -> None:
    err = reject(web("cpus: ${CPUS}"), environ={"CPUS": "many"})
    assert (err.line, err.key) == (5, "machines.web.cpus")
    assert "expected a whole number, got 'many'" in err.reason


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as info:
        load_profile(tmp_path / "nope.yaml")
    assert info.value.file == str(tmp_path / "nope.yaml")
    assert "no profile at" in info.value.reason and info.value.hint


def test_not_utf8(write: Write) -> None:
    path = write("")
    path.write_bytes(b"version: 1\nname: \xff\xfe\n")
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert "not UTF-8" in info.value.reason and "UTF-8" in info.value.hint


def test_a_directory_is_not_a_profile(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as info:
        load_profile(tmp_path)
    assert "is a directory" in info.value.reason


def test_recursive_alias_is_refused(reject: Reject) -> None:
    err = reject("version: 1\nname: t\nmachines:\n  web:\n    nics: &n [*n]\n")
    assert err.key.startswith("machines.web.nics")
    assert "alias" in err.reason


def test_the_library_never_prints(reject: Reject, capsys: pytest.CaptureFixture[str]) -> None:
    reject(web("cpus: 0"))
    assert capsys.readouterr() == ("", "")


def test_alias_expansion_is_bounded(reject: Reject) -> None:
    lines = ["version: 1", "name: t", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 6)]
    lines += ["machines: {web: {}}"]
    err = reject("\n".join(lines) + "\n")
    assert "more than 100000 values" in err.reason
    assert err.line is not None and err.line <= 8


def test_a_number_where_a_string_belongs_hints_at_quotes(reject: Reject) -> None:
    err = reject("version: 1\nname: 2024\nmachines: {web: {}}\n")
    assert (err.line, err.key) == (2, "name")
    assert "expected a string, got 2024" in err.reason and "quotes" in err.hint
