"""Validate a parsed profile against the schema; turn pydantic's errors into ProfileErrors.

pydantic reports a ``loc`` tuple per error; it is walked along the document's
data to find the key path and the file position (skipping pydantic's own union
tags), and each error type gets a plain message and a hint.  Every error is
kept: the ProfileError raised is the first in file order and lists them all.
"""

from __future__ import annotations

import copy
import difflib
import os
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from hosted.errors import ProfileError
from hosted.profile.schema import Profile
from hosted.profile.source import Document, KeyPath, PathItem
from hosted.profile.types import NAME_PATTERN

DOCS = "See docs/profile.md for the profile format."
VERSION_HINT = "Start the profile with `version: 1` (the only profile format this hosted reads)."


def validate(doc: Document) -> Profile:
    """The validated profile; else a ProfileError carrying every problem found (in ``problems``)."""
    _check_version(doc)
    base = os.path.dirname(doc.file)
    try:
        return Profile.model_validate(doc.data, context={"base": base})
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    problems = [p.error(doc) for p in _problems(doc.data, errors, base)]
    raise ProfileError.of_all(problems) from None


def _problems(data: Any, errors: list[ErrorDetails], base: str) -> list[_Problem]:
    """pydantic stops validating a mapping at its first unknown key (and all under it), so
    every unknown key of that mapping is listed, and a copy of the profile without them is
    validated again, until no unknown key is left."""
    unknown: list[_Problem] = []
    while True:
        found = [p for err in errors if err["type"] == "unknown_key" for p in _unknown_keys(data, err)]
        if not found or {p.path for p in found} <= {p.path for p in unknown}:
            break
        unknown += found
        data = _without(data, [p.path for p in found])
        try:
            Profile.model_validate(data, context={"base": base})
            errors = []
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
    # An unknown key is most likely a misspelt one: the key then "missing" (or the NIC left
    # with no kind) in the same mapping is that same mistake, not another one.
    misspelt_in = {p.path[:-1] for p in unknown}
    rest = [_Problem.of(data, err) for err in errors if err["type"] != "unknown_key"]
    return unknown + [p for p in rest if p.mapping() not in misspelt_in]


def _unknown_keys(data: Any, err: ErrorDetails) -> list[_Problem]:
    path, _ = _locate(data, err)
    allowed = list(err.get("ctx", {})["allowed"])
    mapping = _node(data, path[:-1])
    keys = [k for k in mapping if k not in allowed] if isinstance(mapping, dict) else [path[-1]]
    return [_Problem((*path[:-1], key), True, "unknown_key", f"unknown key '{key}'",
                     _did_you_mean(str(key), allowed)) for key in keys]


def _without(data: Any, paths: list[KeyPath]) -> Any:
    """A copy of ``data`` without the keys at ``paths`` (a bare ``- natt`` becomes an empty mapping)."""
    data = copy.deepcopy(data)
    for path in paths:
        parent = _node(data, path[:-1])
        if isinstance(parent, dict):
            parent.pop(path[-1], None)
        elif len(path) >= 2 and _has(_node(data, path[:-2]), path[-2]):
            _node(data, path[:-2])[path[-2]] = {}
    return data


def _node(data: Any, path: KeyPath) -> Any:
    for item in path:
        if not _has(data, item):
            return None
        data = data[item]
    return data


def _check_version(doc: Document) -> None:
    """Checked first: a profile of another version may fail every other check."""
    data: dict[str, Any] = doc.data
    if "version" not in data:
        raise ProfileError("the profile has no `version` key", VERSION_HINT, file=doc.file, line=1, column=1,
                           key="version")
    version = data["version"]
    if not isinstance(version, int) or isinstance(version, bool):
        raise doc.error(("version",), f"the version must be a whole number, not {version!r}", VERSION_HINT)
    if version not in Profile.SUPPORTED_VERSIONS:
        raise doc.error(("version",), f"unsupported profile version {version}", VERSION_HINT)


_UNION_TAGS = frozenset({"str", "int", "float", "bool", "none"})


@dataclass(frozen=True)
class _Problem:
    """One problem of a profile, before it is placed at its line."""
    path: KeyPath
    at_key: bool
    kind: str
    message: str
    hint: str

    @classmethod
    def of(cls, data: Any, err: ErrorDetails) -> _Problem:
        path, at_key = _locate(data, err)
        message, hint = _explain(err, path)
        return cls(path, at_key, err["type"], message, hint)

    def mapping(self) -> KeyPath | None:
        """The mapping a missing key (or NIC kind) is missing from; None for other problems."""
        return self.path[:-1] if self.kind == "missing" else self.path if self.kind == "one_of" else None

    def error(self, doc: Document) -> ProfileError:
        return doc.error(self.path, self.message, self.hint, at_key=self.at_key)


def _locate(data: Any, err: ErrorDetails) -> tuple[KeyPath, bool]:
    """The key path named by ``err['loc']``, and whether the key (not the value) is at fault."""
    path: list[PathItem] = []
    node: Any = data
    at_key = False
    for item in err["loc"]:
        if item == "[key]":
            at_key = True
        elif _has(node, item):
            path.append(item)
            node = node[item]
        elif isinstance(item, int) or not (item in _UNION_TAGS or "[" in item or "-" in item):
            path.append(item)  # past the data: a missing key, or a bare `- nat` made a mapping
            node = None
    if err["type"] == "unknown_key":
        path.append(err.get("ctx", {})["key"])
        at_key = True
    return tuple(path), at_key


def _has(node: Any, item: PathItem) -> bool:
    if isinstance(node, dict):
        return item in node
    return isinstance(node, list) and isinstance(item, int) and 0 <= item < len(node)


def _explain(err: ErrorDetails, path: KeyPath) -> tuple[str, str]:
    kind = err["type"]
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    value = err.get("input")
    if kind == "unknown_key":
        return err["msg"], _did_you_mean(str(ctx["key"]), list(ctx["allowed"]))
    if kind == "missing":
        return f"required key {path[-1]!r} is missing", f"Add `{path[-1]}:` here. {DOCS}"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {_describe(value)}", _type_hint(kind, value)
    if kind == "literal_error":
        quirk = " (YAML reads unquoted on/off/yes/no as true/false: quote the value)" \
            if isinstance(value, bool) else ""
        return f"{_describe(value)} is not allowed here", f"Use one of: {ctx.get('expected')}{quirk}."
    if kind in _RANGE:
        word, bound_key = _RANGE[kind]
        return f"{value!r} is too {word}", f"The {'minimum' if word == 'small' else 'maximum'} is " \
            f"{ctx.get(bound_key)}."
    if kind in ("too_long", "too_short", "string_too_short"):
        return _length(kind, ctx)
    if kind == "string_pattern_mismatch" or kind == "name":
        return f"{value!r} is not a valid name", _pattern_hint(ctx)
    return err["msg"], _CUSTOM_HINTS.get(kind, DOCS).format(**ctx)


def _did_you_mean(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    known = "Known keys here: " + ", ".join(allowed) + "."
    return f"Did you mean {close[0]!r}? {known}" if close else known


_EXPECTED = {
    "int_type": "a whole number", "float_type": "a number", "string_type": "a string",
    "bool_type": "true or false", "dict_type": "a mapping", "model_type": "a mapping",
    "model_attributes_type": "a mapping", "list_type": "a list", "int_from_float": "a whole number",
}
_RANGE = {
    "greater_than_equal": ("small", "ge"), "greater_than": ("small", "gt"),
    "less_than_equal": ("large", "le"), "less_than": ("large", "lt"),
}
_CUSTOM_HINTS = {
    "size": "Give megabytes as a number (2048) or a size with a unit: 512M, 2G.",
    "size_range": "Use a size between {min} and {max} MB.",
    "host_port": "Use a port number 1..65535, or 'auto' to let hosted pick a free port.",
    "ip": "Use an address such as 127.0.0.1 ('' listens on all addresses).",
    "path_missing": "Relative paths are relative to the profile's directory; create the path or fix it.",
    "path_kind": "Check the path: it exists but is the wrong kind.",
    "path_empty": "Give a path, relative to the profile's directory.",
    "one_of": "Give exactly one of {names}.",
    "url_scheme": "Give a local path (relative to the profile) or an http:// or https:// URL.",
    "sha256": "Give the file's sha256 as 64 hexadecimal digits (`sha256sum FILE` prints it), or "
              "`file:` and the URL of the publisher's SHA256SUMS.",
    "cloud_config_yaml": "Check the YAML under #cloud-config, or give `cloud_init:` as a mapping.",
    "cloud_config_header": "Start the text with #cloud-config (or #! for a script), or give a mapping.",
    "control_character": "This value goes into a file name, a command line or a configuration file: write "
                         "it on one line, without control characters.",
    "name_windows": "Names become folder names, on Windows too, where con, prn, aux, nul, com0-9 and lpt0-9 "
                    "(with any extension) and names ending in a dot cannot be: choose another name.",
    "user_name": "Give a user name such as root or debian (letters, digits, '_', '.', '-'; at most 32).",
    "path_special": "Give a regular file or a directory; devices, FIFOs and sockets are never read.",
    "url_host": "Give a URL such as https://example.org/debian12.box.",
}


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (an empty value)"
    text = repr(value if not isinstance(value, str) else str(value))
    return text if len(text) <= 40 else text[:37] + "..."


def _type_hint(kind: str, value: Any) -> str:
    if isinstance(value, str) and kind in ("int_type", "float_type", "bool_type"):
        return "Write the value without quotes."
    if kind == "bool_type":
        return "Use true or false."
    if kind == "string_type" and isinstance(value, int | float | bool):
        return "YAML reads this as a number or a boolean: put it in quotes."
    if kind in ("model_type", "dict_type") and value is None:
        return "Give keys under this one, or remove it."
    return DOCS


def _length(kind: str, ctx: dict[str, Any]) -> tuple[str, str]:
    if kind == "too_long":
        return "too many entries", f"At most {ctx.get('max_length')} are allowed."
    if kind == "string_too_short":
        return "must not be empty", "Give a value, or remove the key."
    return "must not be empty", f"Give at least {ctx.get('min_length')}. {DOCS}"


def _pattern_hint(ctx: dict[str, Any]) -> str:
    if ctx.get("pattern", NAME_PATTERN) != NAME_PATTERN:
        return "Environment variable names use letters, digits and '_' and do not start with a digit."
    return "Names start with a letter or digit and use only letters, digits, '.', '_' and '-'."
