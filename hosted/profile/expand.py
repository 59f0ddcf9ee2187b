"""Before validation, on the parsed data: included files, machines left out, machines by count.

* ``include:`` reads other YAML files (relative to the file that names them, nested at most
  ``MAX_INCLUDE_DEPTH`` deep) and merges the profile over them: mappings key by key, the
  including file winning; lists and plain values replaced.  Every key keeps the position of
  the file it came from, so an error names that file and line.
* ``enabled: false`` (a machine's own, else the one in ``defaults``) leaves the machine out.
* ``count: N`` turns machine ``NAME`` into ``NAME-1`` ... ``NAME-N``; in each, ``${index}``
  (also ``${index+K}``, ``${index-K}``, ``${K+index}``) is its number, and a NIC's
  ``ip_from: ADDRESS`` becomes ``ip:`` ADDRESS plus the number minus one.

A value the expansion cannot use (``count: lots``) is left as it is, for the schema's message.
"""

from __future__ import annotations

import copy
import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hosted.errors import ProfileError
from hosted.profile import exposure, recorded
from hosted.profile.locate import MAX_INCLUDE_BYTES
from hosted.profile.source import Document, KeyPath, Position, parse
from hosted.profile.types import MAX_COUNT
from hosted.profile.variables import INDEX_MARK, Substituted, fill_index

MAX_INCLUDE_DEPTH = 8
_TRUE, _FALSE = ("true", "yes", "on"), ("false", "no", "off")


def expand(doc: Document, environ: Mapping[str, str]) -> None:
    """Apply includes, ``enabled`` and ``count`` to ``doc`` in place; ProfileError with every problem."""
    problems: list[ProfileError] = []
    _include(doc, environ, [doc.file], problems)
    if problems:
        raise ProfileError.of_all(problems)
    machines = doc.data.get("machines")
    if isinstance(machines, dict):
        _enabled(doc, machines)
        _count(doc, machines, problems)
    problems += _stray_index(doc, doc.data, ())
    if problems:
        raise ProfileError.of_all(problems)


# ---- include ----

def _include(doc: Document, environ: Mapping[str, str], chain: list[str],
             problems: list[ProfileError]) -> None:
    listed = doc.data.get("include")
    if listed is None:
        return
    items = [listed] if isinstance(listed, str) else listed
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        return  # the schema says what `include` takes
    doc.data["include"] = items
    base = doc.data
    for i, item in enumerate(items):
        path = ("include", i) if isinstance(listed, list) else ("include",)
        included = _read_included(doc, item, path, chain, environ, problems)
        if included is None:
            continue
        if len(chain) >= MAX_INCLUDE_DEPTH:
            problems.append(doc.error(path, f"includes are nested more than {MAX_INCLUDE_DEPTH} deep",
                                      "Include the shared files from one profile."))
            continue
        _include(included, environ, [*chain, included.file], problems)
        included.data.pop("include", None)
        base = _merge(included.data, base)
        for marks, theirs in ((doc.key_marks, included.key_marks), (doc.value_marks, included.value_marks)):
            for key, pos in theirs.items():
                if key not in marks and key[:1] != ("include",):
                    marks[key] = pos if pos.file else Position(pos.line, pos.column, included.file)
        doc.variables.update(included.variables)
        doc.includes += [f for f in [included.file, *included.includes] if f not in doc.includes]
    doc.data = base


def _read_included(doc: Document, item: str, path: KeyPath, chain: list[str], environ: Mapping[str, str],
                   problems: list[ProfileError]) -> Document | None:
    directory = os.path.dirname(chain[-1])
    file = os.path.normpath(os.path.join(directory, os.path.expanduser(item)))
    if file in chain:
        problems.append(doc.error(path, f"{file} includes itself (through {' -> '.join(chain)})",
                                  "Remove the circular include."))
        return None
    why = exposure.sensitive(file)
    if why is not None:
        problems.append(doc.error(path, f"{file} is {why}: not read as a profile", "Include a file made for "
                                  "the profile."))
        return None
    if not os.path.isfile(file):
        problems.append(doc.error(path, f"{file} does not exist (or is not a regular file)",
                                  "Paths after `include:` are relative to the file that names them."))
        return None
    raw = Path(file).read_bytes()[:MAX_INCLUDE_BYTES + 1]
    if len(raw) > MAX_INCLUDE_BYTES:
        problems.append(doc.error(path, f"{file} is larger than {MAX_INCLUDE_BYTES // 1024} KiB",
                                  "An included file holds settings, not data."))
        return None
    recorded.note_file(file, raw)
    try:
        included = parse(raw.decode("utf-8"), file, environ)
    except UnicodeDecodeError:
        problems.append(doc.error(path, f"{file} is not UTF-8 text", "Save it as UTF-8."))
        return None
    except ProfileError as exc:
        problems += exc.problems
        return None
    return included


def _merge(under: Any, over: Any) -> Any:
    """``over`` merged over ``under``: mappings key by key (``over`` wins, its keys first), anything
    else replaced."""
    if isinstance(under, dict) and isinstance(over, dict):
        merged = {key: _merge(under[key], value) if key in under else value for key, value in over.items()}
        merged.update({key: value for key, value in under.items() if key not in over})
        return merged
    return over


# ---- enabled ----

def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, Substituted) and value.strip().lower() in (*_TRUE, *_FALSE):
        return value.strip().lower() in _TRUE
    return None


def _enabled(doc: Document, machines: dict[str, Any]) -> None:
    defaults = doc.data.get("defaults")
    default = _flag(defaults.get("enabled")) if isinstance(defaults, dict) else None
    for name in list(machines):
        own = machines[name].get("enabled") if isinstance(machines[name], dict) else None
        on = _flag(own) if own is not None else default
        if on is False:
            del machines[name]


# ---- count ----

def _number(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, Substituted) and value.strip().isdigit():
        return int(value.strip())
    return None


def _count(doc: Document, machines: dict[str, Any], problems: list[ProfileError]) -> None:
    out: dict[str, Any] = {}
    for name, entry in machines.items():
        try:
            _count_one(doc, machines, out, name, entry, problems)
        except ProfileError as exc:
            problems.append(exc)
            out[name] = entry
    machines.clear()
    machines.update(out)


def _count_one(doc: Document, machines: dict[str, Any], out: dict[str, Any], name: str, entry: Any,
               problems: list[ProfileError]) -> None:
    count = _number(entry.get("count")) if isinstance(entry, dict) else None
    if count is None or not 1 <= count <= MAX_COUNT:
        out[name] = _fill(doc, entry, None, ("machines", name)) if isinstance(entry, dict) else entry
        return
    for index in range(1, count + 1):
        made = f"{name}-{index}"
        if made in machines or made in out:
            problems.append(doc.error(("machines", name, "count"), f"`count` makes machine {made!r}, "
                                      "which the profile also names", "Rename one of them."))
            continue
        _copy_marks(doc, ("machines", name), ("machines", made))
        copied = _fill(doc, copy.deepcopy(entry), index, ("machines", made))
        copied.pop("count")
        out[made] = copied


def _copy_marks(doc: Document, old: KeyPath, new: KeyPath) -> None:
    for marks in (doc.key_marks, doc.value_marks):
        for path, pos in list(marks.items()):
            if path[:len(old)] == old:
                marks.setdefault((*new, *path[len(old):]), pos)


def _fill(doc: Document, node: Any, index: int | None, path: KeyPath) -> Any:
    """``node`` with index references filled in (``index`` None: a machine without ``count``, left
    for ``_stray_index``) and ``ip_from`` turned into ``ip``."""
    if isinstance(node, str) and index is not None and INDEX_MARK.search(node):
        return Substituted(fill_index(node, index))
    if isinstance(node, list):
        return [_fill(doc, v, index, (*path, i)) for i, v in enumerate(node)]
    if not isinstance(node, dict):
        return node
    filled = {k: _fill(doc, v, index, (*path, k)) for k, v in node.items()}
    if "ip_from" in filled and "ip" in filled:
        raise doc.error((*path, "ip_from"), "give either `ip` or `ip_from`, not both",
                        "`ip_from` numbers the machines of a `count`; `ip` is one address.")
    if "ip_from" in filled:
        address = _offset(filled["ip_from"], index or 1)
        if address is not None:
            filled["ip"] = address
            del filled["ip_from"]
            for marks in (doc.key_marks, doc.value_marks):
                if (*path, "ip_from") in marks:
                    marks[(*path, "ip")] = marks[(*path, "ip_from")]
    return filled


def _offset(value: Any, index: int) -> str | None:
    if value == "auto":
        return "auto"
    if not isinstance(value, str):
        return None
    text = value.strip() if "/" in value else f"{value.strip()}/24"
    try:
        iface = ipaddress.IPv4Interface(text)
        return f"{iface.ip + (index - 1)}/{iface.network.prefixlen}"
    except (ValueError, ipaddress.AddressValueError):
        return None


def _stray_index(doc: Document, node: Any, path: KeyPath) -> list[ProfileError]:
    """``${index}`` outside a machine with ``count`` (in ``defaults``, at the top level)."""
    if isinstance(node, str) and INDEX_MARK.search(node):
        return [doc.error(path, "${index} stands for a machine's number, and only in a machine with "
                          "`count:`", "Give the machine `count: N`, or write the value out; write $${index} "
                          "for a literal ${index}.")]
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _stray_index(doc, v, (*path, k))]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _stray_index(doc, v, (*path, i))]
    return []
