"""One run reports every problem the loader can find, in file order; the first is the error raised."""

from __future__ import annotations

import pytest
from profile_types import Reject

from hosted.errors import EXIT_INVALID, ProfileError

HEAD = "version: 1\nname: t\nmachines:\n  web:\n"  # machine keys start on line 5


def web(body: str) -> str:
    return HEAD + "".join(f"    {line}\n" for line in body.strip("\n").splitlines())


def found(err: ProfileError) -> list[tuple[int | None, str]]:
    return [(p.line, p.key) for p in err.problems]


def test_every_schema_problem_is_reported_in_file_order(reject: Reject) -> None:
    err = reject(HEAD + "    cpus: 0\n    memroy: 512\n    firmware: uefi\n"
                 "    nics:\n      - nat:\n          forwards:\n            - {guest: 22, host: any}\n"
                 "  db:\n    dvd: missing.iso\n")
    assert found(err) == [
        (5, "machines.web.cpus"), (6, "machines.web.memroy"), (7, "machines.web.firmware"),
        (11, "machines.web.nics[0].nat.forwards[0].host"), (13, "machines.db.dvd"),
    ]
    assert err.problems[0] is err, "the first problem is the error itself"
    hints = ["minimum is 1", "Did you mean 'memory'?", "'bios' or 'efi'", "'auto'", "relative to the profile"]
    for problem, hint in zip(err.problems, hints, strict=True):
        assert hint in problem.hint
        assert problem.file == err.file and problem.column is not None
        assert str(problem).startswith(f"{err.file}:{problem.line}:{problem.column}: {problem.key}: ")
        assert problem.exit_code == EXIT_INVALID


def test_a_single_problem_lists_only_itself(reject: Reject) -> None:
    err = reject(web("cpus: 0"))
    assert err.problems == [err]


def test_every_unknown_key_of_a_mapping_and_the_rest_of_it(reject: Reject) -> None:
    # pydantic stops at a mapping's first unknown key: the others, and the known keys' problems, still show.
    err = reject(web("memroy: 512\ncpu: 2\nfirmware: uefi\nnics:\n  - internal: {netwrk: lab}\n  - natt"))
    assert found(err) == [
        (5, "machines.web.memroy"), (6, "machines.web.cpu"), (7, "machines.web.firmware"),
        (9, "machines.web.nics[0].internal.netwrk"), (10, "machines.web.nics[1].natt"),
    ]
    assert "Did you mean 'cpus'?" in err.problems[1].hint
    # A misspelt key is one mistake: not also "network is missing" nor "a NIC needs a kind".
    assert not any("missing" in p.reason or "exactly one" in p.reason for p in err.problems)


def test_every_unset_variable_is_reported(reject: Reject) -> None:
    err = reject(web("os_type: ${GUEST_OS}\ncpus: ${CPUS}\nmemory: ${MEM:-1G}\nvm_name: '${BAD'"))
    assert found(err) == [(5, "machines.web.os_type"), (6, "machines.web.cpus"), (8, "machines.web.vm_name")]
    assert "GUEST_OS is not set" in err.reason and "${CPUS:-value}" in err.problems[1].hint
    assert "malformed" in err.problems[2].reason


def test_every_cross_check_problem_is_reported(reject: Reject) -> None:
    err = reject(
        "version: 1\nname: t\nmachines:\n"
        "  web:\n    vm_name: box\n"
        "    nics: [{nat: {forwards: [{guest: 80, host: 8080}, {guest: 81, host: 8081}]}}]\n"
        "    provision:\n      - shell: 'true'\n      - {shell: 'false', name: shell-1}\n"
        "  db:\n    vm_name: box\n    nics: [{nat: {forwards: [{guest: 80, host: 8080}]}}]\n"
        "  api:\n    nics: [{nat: {forwards: [{guest: 81, host: 8081}]}}]\n"
    )
    assert found(err) == [
        (9, "machines.web.provision[1].name"), (11, "machines.db.vm_name"),
        (12, "machines.db.nics[0].nat.forwards[0].host"), (14, "machines.api.nics[0].nat.forwards[0].host"),
    ]
    assert "already forwarded by machine 'web'" in err.problems[3].reason
    assert all("`host: auto`" in p.hint for p in err.problems[2:])


def test_a_problem_in_defaults_is_reported_once(reject: Reject) -> None:
    err = reject("version: 1\nname: t\ndefaults:\n  nics: [{nat: {forwards: [{guest: 80, host: 8080}]}}]\n"
                 "machines: {web: {}, db: {}, api: {}}\n")
    assert found(err) == [(4, "defaults.nics[0].nat.forwards[0].host")]


def test_an_unknown_image_is_not_also_a_misplaced_install(reject: Reject) -> None:
    err = reject("version: 1\nname: t\nimages:\n  deb: {source: disk.iso}\nmachines:\n"
                 "  web:\n    image: dbe\n    install: {user: me}\n")
    assert found(err) == [(7, "machines.web.image")]
    assert "Did you mean 'deb'?" in err.hint


def test_an_installer_machine_gets_every_problem(reject: Reject) -> None:
    err = reject("version: 1\nname: t\nimages:\n  deb: {source: disk.iso}\nmachines:\n"
                 "  web:\n    image: deb\n    dvd: disk.iso\n    linked: true\n")
    assert found(err) == [(7, "machines.web.image"), (8, "machines.web.dvd"), (9, "machines.web.linked")]


@pytest.mark.parametrize(("text", "line"), [
    pytest.param(web("cpus: 0\nmemory: x\n  bad: indent"), 7, id="yaml-syntax"),
    pytest.param(web("cpus: 0\ncpus: 1\nmemory: x"), 6, id="duplicate-key"),
    pytest.param("version: 2\nname: t\nmachines:\n  web: {cpus: 0}\n", 1, id="version"),
    pytest.param(web("cpus: 0\nvm_name: a") + "  db: {vm_name: a}\n", 5, id="schema-before-cross-checks"),
])
def test_stages_that_later_ones_depend_on_stop_the_run(reject: Reject, text: str, line: int) -> None:
    err = reject(text)
    assert [p.line for p in err.problems] == [line]


def test_a_duplicate_key_after_an_unset_variable_reports_both(reject: Reject) -> None:
    err = reject(web("os_type: ${GUEST_OS}\ncpus: 1\ncpus: 2"))
    assert found(err) == [(5, "machines.web.os_type"), (7, "machines.web.cpus")]
