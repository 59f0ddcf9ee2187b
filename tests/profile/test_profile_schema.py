"""The JSON Schema of the profile, and finding the profile file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from hosted.errors import ProfileError
from hosted.profile import find_profile, profile_json_schema

REPO = Path(__file__).resolve().parents[2]

# JSON Schema 2020-12 keywords (core, applicator, validation, meta-data) plus pydantic's `title`.
KEYWORDS = {
    "$schema", "$id", "$ref", "$defs", "$comment", "anyOf", "allOf", "oneOf", "not", "type", "enum",
    "const", "properties", "patternProperties", "additionalProperties", "items", "prefixItems", "required",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern",
    "minItems", "maxItems", "minProperties", "maxProperties", "title", "description", "default", "examples",
    "propertyNames", "uniqueItems", "format", "if", "then",
}
# Keys whose value maps names to subschemas (their keys are names, not keywords).
NAMED = {"properties", "patternProperties", "$defs"}
TYPES = {"null", "boolean", "object", "array", "number", "string", "integer"}


def subschemas(schema: Any) -> Iterator[dict[str, Any]]:
    if isinstance(schema, dict):
        yield schema
        for key, value in schema.items():
            if key in NAMED:
                for sub in value.values():
                    yield from subschemas(sub)
            elif key in ("anyOf", "allOf", "oneOf", "prefixItems"):
                for sub in value:
                    yield from subschemas(sub)
            elif key in ("items", "additionalProperties", "not", "propertyNames", "if", "then"):
                yield from subschemas(value)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    result = profile_json_schema()
    json.dumps(result)  # plain JSON data
    return result


def test_schema_uses_only_json_schema_keywords(schema: dict[str, Any]) -> None:
    for sub in subschemas(schema):
        unknown = set(sub) - KEYWORDS
        assert not unknown, f"not JSON Schema keywords: {unknown} in {sub}"
        if "type" in sub:
            assert sub["type"] in TYPES


def test_schema_refs_resolve(schema: dict[str, Any]) -> None:
    refs = [sub["$ref"] for sub in subschemas(schema) if "$ref" in sub]
    assert refs
    for ref in refs:
        assert ref.startswith("#/$defs/") and ref.removeprefix("#/$defs/") in schema["$defs"], ref


def test_schema_describes_the_format(schema: dict[str, Any]) -> None:
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["required"]) == {"version", "name", "machines"}
    assert schema["$id"] == "urn:hosted:profile:1"
    assert schema["properties"]["version"]["const"] == 1
    assert "machines" in schema["properties"] and schema["additionalProperties"] is False
    machine = schema["$defs"]["Machine"]
    assert machine["additionalProperties"] is False
    assert {"vm_name", "os_type", "cpus", "memory", "disk", "firmware", "state", "nics", "shared_folders",
            "dvd", "ssh", "ready", "provision", "baseline", "image", "linked", "cloud_init", "install",
            "hosts", "count", "enabled", "hostname", "groups", "disks", "virtualbox",
            "provision_mode"} == set(machine["properties"])
    image = schema["$defs"]["Image"]
    assert image["oneOf"] == [{"required": [k]} for k in ("source", "box", "box_url")]
    assert image["additionalProperties"] is False
    assert set(image["properties"]) == {"source", "sha256", "kind", "arch", "cloud_init", "box", "box_url",
                                        "version", "catalog"}
    assert image["properties"]["kind"]["anyOf"][0]["enum"] == ["auto", "box", "ova", "ovf", "disk", "iso"]
    forward = schema["$defs"]["Forward"]["properties"]
    guest = forward["guest"]["anyOf"][0]
    assert guest["minimum"] == 1 and guest["maximum"] == 65535
    assert {"const": "auto"} in forward["host"]["anyOf"]
    nic = schema["$defs"]["NicEntry"]["anyOf"]
    assert nic[0]["enum"] == ["nat", "hostonly", "bridged"], "`- internal` alone lacks its network"
    assert nic[-1] == {"$ref": "#/$defs/Variable"}, "- ${NIC_KIND} is a NIC too"


def test_schema_validates_the_examples_with_jsonschema(schema: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for name in ("demo.yaml", "workshop.yaml"):
        data = yaml.safe_load((REPO / "profiles" / name).read_text())
        assert list(validator.iter_errors(data)) == [], "${VAR} values included"
    assert list(validator.iter_errors({"version": 1, "name": "x", "machines": {"a": {"cpus": 0}}}))
    with_images = {"version": 1, "name": "x", "machines": {"a": {"image": "deb", "cloud_init": {"a": 1}}},
                   "images": {"deb": {"source": "https://x/y.box", "sha256": "ab" * 32, "kind": "box"}}}
    assert list(validator.iter_errors(with_images)) == []
    with_images["images"]["deb"]["sha256"] = "xyz"
    assert list(validator.iter_errors(with_images)), "a malformed sha256 is refused by the schema too"


def test_find_profile_defaults_to_hosted_yaml_in_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "hosted.yaml").write_text("version: 1\n")
    monkeypatch.chdir(tmp_path)
    assert find_profile(None) == tmp_path / "hosted.yaml"
    assert find_profile(str(tmp_path)) == tmp_path / "hosted.yaml"
    assert find_profile("hosted.yaml") == tmp_path / "hosted.yaml"
    assert find_profile("hosted.yaml").is_absolute()


def test_find_profile_without_a_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProfileError) as info:
        find_profile(None)
    assert info.value.file == str(tmp_path / "hosted.yaml")
    assert "no hosted.yaml in" in info.value.reason
    assert "`hosted init`" in info.value.hint and "profiles/" not in info.value.hint, \
        "the hint names what the installed package has, not a file of the source tree"


def test_find_profile_with_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as info:
        find_profile(str(tmp_path / "other.yaml"))
    assert "no profile at" in info.value.reason and info.value.hint
    assert info.value.file == str(tmp_path / "other.yaml")
