"""The profile's JSON Schema (draft 2020-12), for editors: completion, descriptions, defaults.

Built from the pydantic models in ``schema``, then made to say what hosted
itself accepts: the shorthands (``- nat``, ``shell: "..."``, an empty machine),
``${VAR}`` wherever a value may come from a variable (every value but
``version``: variables are substituted before validation), defaults that are
real values (a key hosted leaves undeclared has none), and a URL image's
``sha256``.  What needs the file system or several keys at once (paths that
must exist, host ports claimed twice, unique names) only ``hosted validate``
checks.
"""

from __future__ import annotations

from typing import Any

from hosted.profile import schema

SCHEMA_ID = "urn:hosted:profile:1"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
# A ${NAME} or ${NAME:-default} that is not escaped as $${ (see hosted.profile.variables), or
# a counted machine's ${index}, ${index+K}, ${index-K} or ${K+index} (hosted.profile.expand).
VARIABLE_PATTERN = (r"(^|[^$])\$\{([A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?"
                    r"|\s*([0-9]{1,9}\s*\+\s*)?index(\s*[+-]\s*[0-9]{1,9})?\s*)\}")
VARIABLE = {
    "type": "string", "pattern": VARIABLE_PATTERN,
    "description": "${VAR} or ${VAR:-default}: substituted from the environment when the profile is "
                   "loaded, then checked as the value it stands for (in a machine with count, "
                   "${index} and ${index+K}: its number)",
}
_VARIABLE_REF = {"$ref": "#/$defs/Variable"}
_META = ("title", "description", "default", "examples")


def profile_json_schema() -> dict[str, Any]:
    generated = schema.Profile.model_json_schema(mode="validation")
    defs: dict[str, Any] = generated.pop("$defs")
    _shorthands(generated, defs)
    # Exactly one of shell/file (ProvisionEntry._one_of).
    defs["ProvisionEntry"]["oneOf"] = [{"required": ["shell"]}, {"required": ["file"]}]
    defs["Image"]["oneOf"] = [{"required": [k]} for k in ("source", "box", "box_url")]  # Image._one_source
    # A URL is downloaded, and a download is verified: its sha256 (or file:) is required.
    defs["Image"]["if"] = {"properties": {"source": {"pattern": "^[Hh][Tt][Tt][Pp][Ss]?://"}},
                           "required": ["source"]}
    defs["Image"]["then"] = {"required": ["sha256"]}
    for sub in (generated, *defs.values()):
        _tidy(sub)
    version = generated["properties"].pop("version")
    generated = _with_variables(generated)
    generated["properties"] = {"version": version, **generated["properties"]}
    defs = {name: _with_variables(sub) for name, sub in defs.items()}
    defs["Variable"] = VARIABLE
    return {
        "$schema": DRAFT, "$id": SCHEMA_ID, "title": "hosted profile",
        "description": "A hosted profile (hosted.yaml): an environment of VirtualBox machines. "
                       "Every key: docs/profile.md; `hosted validate` checks what a schema cannot.",
        **{k: v for k, v in generated.items() if k not in ("title", "description")},
        "$defs": dict(sorted(defs.items())),
    }


def _shorthands(generated: dict[str, Any], defs: dict[str, Any]) -> None:
    """What the models accept before validation: ``- nat``, ``shell: "script"``, ``db:`` (empty)."""
    defs["NicEntry"].update(minProperties=1, maxProperties=1)  # exactly one kind (NicEntry._one_of)
    defs["Shell"]["oneOf"] = [{"required": ["inline"]}, {"required": ["script"]}]  # Shell._one_of
    # internal, natnetwork and link need a name
    bare = [kind for kind in schema.NIC_KINDS if kind not in ("internal", "natnetwork", "link")]
    defs["NicEntry"] = {"anyOf": [{"type": "string", "enum": bare,
                                   "description": "a NIC of this kind with no options"},
                                  defs["NicEntry"]]}
    defs["Shell"] = {"anyOf": [{"type": "string", "description": "the script's text"}, defs["Shell"]]}
    machines = generated["properties"]["machines"]
    for pattern, machine in machines["patternProperties"].items():
        machines["patternProperties"][pattern] = {"anyOf": [machine, {"type": "null"}]}
    machines["additionalProperties"] = False  # a name that is not a valid name
    include = generated["properties"]["include"]  # one file may be given without a list
    include["anyOf"].insert(1, {"type": "string", "description": "one YAML file"})
    images = next(b for b in generated["properties"]["images"]["anyOf"] if b.get("type") == "object")
    images["additionalProperties"] = False


def _tidy(node: Any) -> None:
    """pydantic writes ``default: null`` for "not given"; that is no value an editor should insert.
    Descriptions from docstrings lose their reStructuredText quotes on the way."""
    if isinstance(node, dict):
        if "default" in node and node["default"] is None:
            del node["default"]
        if isinstance(node.get("description"), str):
            node["description"] = node["description"].replace("``", "`")
        if "patternProperties" in node and "properties" not in node:  # name -> ...: names only
            node.setdefault("additionalProperties", False)
        for value in node.values():
            _tidy(value)
    elif isinstance(node, list):
        for value in node:
            _tidy(value)


def _with_variables(node: dict[str, Any]) -> dict[str, Any]:
    """``node``, accepting a ``${VAR}`` string wherever it holds a value a variable could give."""
    if "anyOf" in node:
        branches = [_with_variables_inside(b) for b in node["anyOf"]]
        if any(_constrained(b) for b in node["anyOf"]) and not any(_any_string(b) for b in branches):
            branches.append(_VARIABLE_REF)
        return {**node, "anyOf": branches}
    if _constrained(node):
        meta = {k: node[k] for k in _META if k in node}
        return {"anyOf": [{k: v for k, v in node.items() if k not in _META}, _VARIABLE_REF], **meta}
    return _with_variables_inside(node)


def _with_variables_inside(node: dict[str, Any]) -> dict[str, Any]:
    """The same for what a mapping or a list holds (keys are never substituted)."""
    if _constrained(node):
        return node  # a branch of an anyOf: the anyOf gets the variable once
    out = dict(node)
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: _with_variables(v) for k, v in out["properties"].items()}
    if isinstance(out.get("patternProperties"), dict):
        out["patternProperties"] = {k: _with_variables(v) for k, v in out["patternProperties"].items()}
    for key in ("additionalProperties", "items"):
        if isinstance(out.get(key), dict):
            out[key] = _with_variables(out[key])
    if "anyOf" in out:
        return _with_variables(out)
    return out


def _constrained(node: dict[str, Any]) -> bool:
    """A scalar schema that a ``${VAR}`` string does not satisfy."""
    if "enum" in node or "const" in node:
        return True
    kind = node.get("type")
    if kind in ("integer", "number", "boolean"):
        return True
    return kind == "string" and any(k in node for k in ("pattern", "format", "maxLength"))


def _any_string(node: dict[str, Any]) -> bool:
    return node.get("type") == "string" and not _constrained(node)
