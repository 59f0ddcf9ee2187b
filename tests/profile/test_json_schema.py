"""The JSON Schema for editors, checked with check-jsonschema (from PyPI) as an editor would use it:
every profile in profiles/, every template and every YAML profile example in the docs validate;
valid and invalid examples behave alike in hosted and in the schema; every key is documented."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from hosted.cli.main import main
from hosted.errors import ProfileError
from hosted.profile import load_profile, profile_json_schema

REPO = Path(__file__).resolve().parents[2]
DOCS = [*sorted((REPO / "docs").glob("*.md")), REPO / "README.md"]
TEMPLATES = sorted((REPO / "hosted" / "templates").glob("*.yaml"))
PROFILES = sorted((REPO / "profiles").glob("*.yaml"))
VARIABLE = {"$ref": "#/$defs/Variable"}


def check_jsonschema(schema: Path, *instances: Path) -> dict[Path, list[str]]:
    """check-jsonschema on ``instances``: file -> the error messages (none: valid)."""
    tool = shutil.which("check-jsonschema", path=os.path.dirname(sys.executable)) or \
        shutil.which("check-jsonschema")
    if tool is None:
        pytest.fail("check-jsonschema is not installed: pip install -e '.[dev]'")
    proc = subprocess.run([tool, "--schemafile", str(schema), "-o", "json", *map(str, instances)],
                          capture_output=True, text=True, timeout=120)
    report = json.loads(proc.stdout)
    assert report.get("parse_errors", []) == [], report["parse_errors"]
    found: dict[Path, list[str]] = {path: [] for path in instances}
    for error in report["errors"]:
        found[Path(error["filename"])].append(f"{error['path']}: {error['message']}")
    assert (proc.returncode == 0) == (not report["errors"]), proc.stderr
    return found


@pytest.fixture(scope="module")
def schema_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("schema") / "hosted.schema.json"
    assert main(["schema", "-o", str(path)]) == 0
    return path


def subschemas(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            if key in ("if", "then"):
                continue
            if isinstance(value, dict | list):
                yield from subschemas(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from subschemas(value, f"{path}/{i}")


def test_every_key_has_a_description_and_no_null_default() -> None:
    schema = profile_json_schema()
    keys = 0
    for path, sub in subschemas(schema):
        assert sub.get("default", 0) is not None, f"{path}: default null"
        for name, prop in sub.get("properties", {}).items():
            keys += 1
            assert prop.get("description"), f"{path}/properties/{name} has no description"
    assert keys >= 76


@pytest.mark.parametrize(("where", "default"), [
    ("Machine.state", "running"), ("Machine.linked", True), ("Machine.baseline", False),
    ("Forward.host", "auto"), ("Forward.host_ip", "127.0.0.1"), ("Forward.protocol", "tcp"),
    ("Ssh.user", "root"), ("Ssh.port", 22), ("Ready.vm_running", 60), ("Ready.ssh", 300),
    ("Ready.command_timeout", 120), ("ProvisionEntry.run", "once"), ("Image.kind", "auto"),
    ("Install.user", "hosted"), ("Install.locale", "en_US"), ("Install.time_zone", "Etc/UTC"),
])
def test_defaults_are_the_values_hosted_uses(where: str, default: object) -> None:
    definition, key = where.split(".")
    assert profile_json_schema()["$defs"][definition]["properties"][key]["default"] == default


@pytest.mark.parametrize(("where", "enum"), [
    ("Machine.firmware", ["bios", "efi"]), ("Machine.state", ["running", "poweroff"]),
    ("Forward.protocol", ["tcp", "udp"]), ("ProvisionEntry.run", ["once", "always"]),
    ("Image.kind", ["auto", "box", "ova", "ovf", "disk", "iso"]), ("Image.arch", ["x86_64", "arm64"]),
    ("Nat.adapter", ["Am79C970A", "Am79C973", "82540EM", "82543GC", "82545EM", "virtio", "Am79C960"]),
])
def test_every_choice_has_its_enum_and_takes_a_variable(where: str, enum: list[str]) -> None:
    definition, key = where.split(".")
    branches = profile_json_schema()["$defs"][definition]["properties"][key]["anyOf"]
    assert [b["enum"] for b in branches if "enum" in b] == [enum]
    assert VARIABLE in branches


def test_the_schema_has_an_id_and_is_valid_2020_12(schema_file: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    assert schema["$id"] == "urn:hosted:profile:1" and list(schema)[:2] == ["$schema", "$id"]
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema == profile_json_schema()


def test_schema_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["schema"]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed) == profile_json_schema()
    assert main(["schema", "-o", "hosted.schema.json"]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "hosted.schema.json").read_text() == printed
    assert "# yaml-language-server: $schema=./hosted.schema.json" in out
    assert main(["schema", "-o", str(tmp_path / "no" / "s.json")]) == 2
    assert "is not a directory; nothing was written" in "".join(capsys.readouterr())


def test_profiles_and_templates_validate_with_check_jsonschema(schema_file: Path) -> None:
    found = check_jsonschema(schema_file, *PROFILES, *TEMPLATES)
    assert len(found) >= 7
    assert {path.name: errors for path, errors in found.items() if errors} == {}


def doc_examples() -> Iterator[tuple[str, Any]]:
    """Each ```yaml block of the docs that is a profile or a part of one, made whole: machine keys
    go under a machine; a profile without version, name or machines gets them."""
    for doc in DOCS:
        text = doc.read_text()
        for match in re.finditer(r"```yaml\n(.*?)```", text, re.DOTALL):
            data = yaml.safe_load(match.group(1))
            if not isinstance(data, dict):
                continue  # a comment-only block (the editor modeline)
            line = text[:match.start()].count("\n") + 2
            if not set(data) <= {"version", "name", "secrets", "defaults", "images", "machines", "include",
                                 "ansible"}:
                data = {"machines": {"example": data}}  # machine keys
            yield f"{doc.name}:{line}", {"version": 1, "name": "example", "machines": {"example": None},
                                         **data}


def test_every_yaml_example_in_the_docs_validates_with_check_jsonschema(
        schema_file: Path, tmp_path: Path) -> None:
    files = {}
    for i, (where, data) in enumerate(doc_examples()):
        files[tmp_path / f"example-{i}.yaml"] = where
        (tmp_path / f"example-{i}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    assert len(files) >= 9
    found = check_jsonschema(schema_file, *files)
    assert {files[path]: errors for path, errors in found.items() if errors} == {}


HEAD = "version: 1\nname: t\n"
SHA = "a" * 64
# (id, profile text, valid?) -- hosted and the schema must agree on each.
ALIKE = [
    ("empty-machine", HEAD + "machines: {a: }\n", True),
    ("variables", HEAD + "machines:\n  a:\n    cpus: ${CPUS:-2}\n    memory: ${MEM:-1G}\n"
     "    firmware: ${FW:-efi}\n    state: ${STATE:-poweroff}\n    baseline: ${B:-true}\n"
     "    nics: [{nat: {forwards: [{guest: 22, host: '${PORT:-auto}', protocol: '${P:-tcp}'}]}}]\n"
     "    ready: {ssh: '${WAIT:-30}'}\n", True),
    ("variable-name", "version: 1\nname: ${ENV:-lab}\nmachines: {a: }\n", True),
    ("variable-nic", HEAD + "machines: {a: {nics: ['${KIND:-nat}']}}\n", True),
    ("shorthands", HEAD + "machines:\n  a:\n    nics: [nat, {internal: {network: lab}}, {nat: }]\n"
     "    provision: [{shell: 'echo $${HOME}', env: {A: 1, B_2: x}}, {shell: {inline: x}, run: always}]\n",
     True),
    ("url-image", HEAD + f"images: {{d: {{source: 'https://h/d.box', sha256: {SHA}, kind: box}}}}\n"
     "machines: {a: {image: d, linked: false, cloud_init: {packages: [git]}}}\n", True),
    ("checksum-file", HEAD + "images: {d: {source: 'https://h/d.ova', sha256: 'file:https://h/SHA256SUMS',"
     " cloud_init: true}}\nmachines: {a: {image: d, cloud_init: \"#cloud-config\\n{}\"}}\n", True),
    ("installer", HEAD + "images: {d: {source: 'https://h/d.iso', sha256: " + SHA + "}}\n"
     "machines: {a: {image: d, disk: 20G, install: {user: dev, locale: de_DE, hostname: dev.lab}}}\n", True),
    ("ips", HEAD + "machines: {a: {nics: [{nat: {forwards: [{guest: 80, host: 8080, host_ip: '::1',"
     " guest_ip: 10.0.2.15}, {guest: 81, host_ip: ''}]}}]}}\n", True),
    ("include-one-file", HEAD + "include: common.yaml\nmachines: {a: }\n", True),
    ("include-list", HEAD + "include: [common.yaml]\nmachines: {a: }\n", True),
    ("count-index", HEAD + "machines:\n  w:\n    count: 2\n    hostname: 'w${index+1}.lab'\n"
     "    nics: [nat, {internal: {network: lab, ip: '10.0.0.${10+index}/24'}}]\n", True),
    ("include-number", HEAD + "include: 3\nmachines: {a: }\n", False),
    ("no-version", "name: t\nmachines: {a: }\n", False),
    ("version-2", "version: 2\nname: t\nmachines: {a: }\n", False),
    ("no-machines", HEAD + "machines: {}\n", False),
    ("unknown-key", HEAD + "machines: {a: {memroy: 1G}}\n", False),
    ("unknown-nested", HEAD + "machines: {a: {ssh: {usr: me}}}\n", False),
    ("cpus-0", HEAD + "machines: {a: {cpus: 0}}\n", False),
    ("cpus-quoted", HEAD + "machines: {a: {cpus: '2'}}\n", False),
    ("cpus-float", HEAD + "machines: {a: {cpus: 2.5}}\n", False),
    ("memory-word", HEAD + "machines: {a: {memory: lots}}\n", False),
    ("memory-2mb", HEAD + "machines: {a: {memory: 2}}\n", False),
    ("firmware", HEAD + "machines: {a: {firmware: uefi}}\n", False),
    ("state-off", HEAD + "machines: {a: {state: 'off'}}\n", False),
    ("bad-name", "version: 1\nname: '-x'\nmachines: {a: }\n", False),
    ("bad-machine-name", HEAD + "machines: {'my box': }\n", False),
    ("bad-image-name", HEAD + "images: {'my image': {source: 'https://h/d.box', sha256: " + SHA + "}}\n"
     "machines: {a: }\n", False),
    ("url-without-sha256", HEAD + "images: {d: {source: 'https://h/d.box'}}\nmachines: {a: {image: d}}\n",
     False),
    ("sha256-short", HEAD + "images: {d: {source: 'https://h/d.box', sha256: abc}}\nmachines: {a: }\n",
     False),
    ("checksum-ftp", HEAD + "images: {d: {source: 'https://h/d.box', sha256: 'file:ftp://h/SUMS'}}\n"
     "machines: {a: }\n", False),
    ("kind", HEAD + "images: {d: {source: 'https://h/d.box', sha256: " + SHA + ", kind: qcow2}}\n"
     "machines: {a: }\n", False),
    ("nic-two-kinds", HEAD + "machines: {a: {nics: [{nat: {}, internal: {network: x}}]}}\n", False),
    ("nic-unknown", HEAD + "machines: {a: {nics: [vde]}}\n", False),
    ("natnetwork-bare", HEAD + "machines: {a: {nics: [natnetwork]}}\n", False),
    ("link-bare", HEAD + "machines: {a: {nics: [link]}}\n", False),
    ("nine-nics", HEAD + "machines: {a: {nics: [nat, nat, nat, nat, nat, nat, nat, nat, nat]}}\n", False),
    ("port", HEAD + "machines: {a: {nics: [{nat: {forwards: [{guest: 70000}]}}]}}\n", False),
    ("no-guest-port", HEAD + "machines: {a: {nics: [{nat: {forwards: [{host: 80}]}}]}}\n", False),
    ("host-ip", HEAD + "machines: {a: {nics: [{nat: {forwards: [{guest: 1, host_ip: localhost}]}}]}}\n",
     False),
    ("guest-ip-v6", HEAD + "machines: {a: {nics: [{nat: {forwards: [{guest: 1, guest_ip: '::1'}]}}]}}\n",
     False),
    ("internal-no-network", HEAD + "machines: {a: {nics: [internal]}}\n", False),
    ("step-both", HEAD + "machines: {a: {provision: [{shell: x, file: {source: a, destination: b}}]}}\n",
     False),
    ("step-none", HEAD + "machines: {a: {provision: [{name: x}]}}\n", False),
    ("shell-both", HEAD + "machines: {a: {provision: [{shell: {inline: x, script: y}}]}}\n", False),
    ("run", HEAD + "machines: {a: {provision: [{shell: x, run: sometimes}]}}\n", False),
    ("env-name", HEAD + "machines: {a: {provision: [{shell: x, env: {1A: x}}]}}\n", False),
    ("cloud-init-text", HEAD + "images: {d: {source: 'https://h/d.ova', sha256: " + SHA + "}}\n"
     "machines: {a: {image: d, cloud_init: 'packages: [git]'}}\n", False),
    ("locale", HEAD + "images: {d: {source: 'https://h/d.iso', sha256: " + SHA + "}}\n"
     "machines: {a: {image: d, disk: 2G, install: {locale: english}}}\n", False),
    ("user-name", HEAD + "images: {d: {source: 'https://h/d.iso', sha256: " + SHA + "}}\n"
     "machines: {a: {image: d, disk: 2G, install: {user: Dev}}}\n", False),
    ("ready-negative", HEAD + "machines: {a: {ready: {tcp: -1}}}\n", False),
]
# What only hosted can tell: the schema accepts these, hosted refuses them (files, several keys,
# ranges of sizes written with a unit).  Documented in docs/profile.md#editor-support.
HOSTED_ONLY = [
    ("missing-path", HEAD + "machines: {a: {dvd: ./nowhere.iso}}\n"),
    ("port-claimed-twice", HEAD + "machines:\n  a: {nics: [{nat: {forwards: [{guest: 1, host: 80}]}}]}\n"
     "  b: {nics: [{nat: {forwards: [{guest: 2, host: 80}]}}]}\n"),
    ("unknown-image", HEAD + "machines: {a: {image: nothing}}\n"),
    ("unset-variable", HEAD + "machines: {a: {cpus: '${NOT_SET_ANYWHERE}'}}\n"),
    ("memory-3T", HEAD + "machines: {a: {memory: 3T}}\n"),
]
ENVIRON = {"CPUS": "2", "KIND": "nat"}


def hosted_accepts(path: Path) -> bool:
    try:
        load_profile(path, ENVIRON)
    except ProfileError:
        return False
    return True


def test_valid_and_invalid_examples_behave_alike(schema_file: Path, tmp_path: Path) -> None:
    (tmp_path / "common.yaml").write_text("defaults: {memory: 64M}\n", encoding="utf-8")
    files = {}
    for name, text, valid in ALIKE:
        path = tmp_path / f"{name}.yaml"
        path.write_text(text)
        files[path] = (name, valid)
    found = check_jsonschema(schema_file, *files)
    table = {name: (valid, hosted_accepts(path), not found[path]) for path, (name, valid) in files.items()}
    wrong = {name: f"expected {valid}, hosted {h}, schema {s}" for name, (valid, h, s) in table.items()
             if not valid == h == s}
    assert wrong == {}


def test_what_only_hosted_checks(schema_file: Path, tmp_path: Path) -> None:
    files = {}
    for name, text in HOSTED_ONLY:
        (tmp_path / f"{name}.yaml").write_text(text)
        files[tmp_path / f"{name}.yaml"] = name
    found = check_jsonschema(schema_file, *files)
    assert {files[p]: e for p, e in found.items() if e} == {}, "the schema checks these now: move them"
    assert [files[p] for p in files if hosted_accepts(p)] == []
