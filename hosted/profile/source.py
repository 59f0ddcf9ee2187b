"""Read a profile file into plain data while remembering where every key came from.

PyYAML's own constructor silently keeps the last of two equal keys and forgets
positions, so the node tree is walked here instead: every mapping key and every
value gets its mark (file line/column) recorded under its key path, duplicate
keys are refused, and ``${VAR}`` references in string values are substituted
(every unresolvable one is reported, not just the first).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from hosted.errors import ProfileError
from hosted.profile import recorded
from hosted.profile.variables import Substituter
from hosted.redact import one_line

PathItem = str | int
KeyPath = tuple[PathItem, ...]


@dataclass(frozen=True)
class Position:
    """Where a key is in the profile or in one of its included files."""
    line: int  # 1-based
    column: int  # 1-based
    file: str | None = None  # an included file; None: the profile itself


@dataclass
class Document:
    """A parsed profile: its data, and where each key and value sits in the file."""

    file: str
    data: Any
    key_marks: dict[KeyPath, Position] = field(default_factory=dict)
    value_marks: dict[KeyPath, Position] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)  # ${NAME} -> what it was replaced by
    includes: list[str] = field(default_factory=list)  # files included (absolute), in the order read

    def error(self, path: KeyPath, message: str, hint: str, *, at_key: bool = False) -> ProfileError:
        """A ProfileError located at ``path`` (its key if ``at_key``, else its value)."""
        pos = self.position(path, at_key=at_key)
        return ProfileError(
            one_line(message), hint, file=(pos.file if pos else None) or self.file,
            line=pos.line if pos else None,
            column=pos.column if pos else None, key=format_path(path),
        )

    def position(self, path: KeyPath, *, at_key: bool = False) -> Position | None:
        """The closest recorded position: the path itself, else its nearest ancestor."""
        while True:
            if at_key and path in self.key_marks:
                return self.key_marks[path]
            if path in self.value_marks:
                return self.value_marks[path]
            if path in self.key_marks:
                return self.key_marks[path]
            if not path:
                return None
            path = path[:-1]


def format_path(path: KeyPath) -> str:
    """``("machines", "web", "nics", 0)`` -> ``machines.web.nics[0]``."""
    out = ""
    for item in path:
        if isinstance(item, int):
            out += f"[{item}]"
        else:
            out += f".{one_line(item)}" if out else one_line(item)
    return out


def _position(mark: yaml.Mark | None) -> Position:
    if mark is None:
        return Position(1, 1)
    return Position(mark.line + 1, mark.column + 1)


# Aliases are expanded as they are built: nested ones could otherwise blow up ("billion laughs").
MAX_VALUES = 100_000
# PyYAML composes recursively: a deeper document would end in a RecursionError.
MAX_DEPTH = 64
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


class _Loader(yaml.SafeLoader):
    """SafeLoader used only to compose nodes and construct scalars; refuses deep nesting."""

    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise yaml.composer.ComposerError(
                    None, None, f"mappings and lists are nested more than {MAX_DEPTH} levels deep", mark)
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self.depth -= 1


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` with the profile's nesting limit (for YAML inside a value, such as
    ``#cloud-config`` text): a yaml.YAMLError past ``MAX_DEPTH``, not minutes of recursion."""
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def parse(text: str, file: str, environ: Mapping[str, str]) -> Document:
    """Parse ``text`` (the contents of ``file``) into a Document."""
    try:
        loader = _Loader(text)  # its reader refuses characters YAML does not allow (a NUL...)
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, file) from None
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, file) from None
    except yaml.YAMLError as exc:
        raise ProfileError(f"not valid YAML: {exc}", "Check the file's syntax.", file=file) from None
    except RecursionError:  # a backstop: MAX_DEPTH stops nesting first
        raise ProfileError("not valid YAML: nested too deeply", "Flatten the profile.", file=file) from None
    finally:
        loader.dispose()
    if node is None:
        raise ProfileError(
            "the profile is empty", "Start with `version: 1`, a `name:` and a `machines:` mapping "
            "(see docs/profile.md).", file=file, line=1, column=1,
        )
    doc = Document(file=file, data=None)
    subst = Substituter(environ)
    builder = _Builder(doc, loader, subst)
    try:
        doc.data = builder.build(node, ())
    except ProfileError as exc:  # the YAML cannot be read further: stop here
        raise ProfileError.of_all([*builder.problems, exc]) from None
    doc.variables = subst.used
    recorded.note_environ(subst.looked_up)
    if builder.problems:
        raise ProfileError.of_all(builder.problems)
    if not isinstance(doc.data, dict):
        raise doc.error((), f"the profile must be a mapping of keys, not {_kind(doc.data)}",
                        "Start with `version: 1`, a `name:` and a `machines:` mapping.")
    return doc


def _syntax_error(exc: yaml.MarkedYAMLError, file: str) -> ProfileError:
    pos = _position(exc.problem_mark or exc.context_mark)
    problem = exc.problem or "syntax error"
    context = ""
    if exc.context:
        started = _position(exc.context_mark) if exc.context_mark else None
        since = f" started on line {started.line}" if started and started.line != pos.line else ""
        context = f" ({exc.context}{since})"
    return ProfileError(
        f"not valid YAML: {problem}{context}",
        "Check indentation and quoting around this line; values containing ': ' or "
        "starting with '{', '[', '*', '&' or '!' need quotes.",
        file=file, line=pos.line, column=pos.column,
    )


def _reader_error(exc: yaml.reader.ReaderError, text: str, file: str) -> ProfileError:
    """A character YAML does not allow (a NUL, most control characters), at its line and column."""
    before = text[:exc.position]
    line = before.count("\n") + 1
    column = exc.position - (before.rfind("\n") + 1) + 1
    char = exc.character if isinstance(exc.character, int) else 0
    return ProfileError(
        f"not valid YAML: the character U+{char:04X} is not allowed in a YAML file",
        "Remove it; write control characters in double-quoted strings as escapes such as \\t.",
        file=file, line=line, column=column,
    )


def _kind(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__}"


class _Builder:
    def __init__(self, doc: Document, loader: _Loader, subst: Substituter) -> None:
        self.doc = doc
        self.loader = loader
        self.subst = subst
        self.active: set[int] = set()  # nodes being built: a recursive alias would loop
        self.count = 0
        self.problems: list[ProfileError] = []  # unresolved variables, all reported together

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        self.doc.value_marks.setdefault(path, _position(node.start_mark))
        self.count += 1
        if self.count > MAX_VALUES:
            raise self.doc.error(path, f"the profile has more than {MAX_VALUES} values",
                                 "Aliases ('*name') that repeat large lists multiply; write them out.")
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        if node.tag not in (_MAP_TAG, _SEQ_TAG):
            raise self.doc.error(path, f"unsupported YAML tag {node.tag!r}", "Remove the tag.")
        if id(node) in self.active:
            raise self.doc.error(path, "an alias refers to the mapping or list that contains it",
                                 "Remove the recursive '*alias'.")
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        finally:
            self.active.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node, path)
            here = (*path, key)
            if key in out:
                first = self.doc.key_marks[here]
                self.doc.key_marks[here] = _position(key_node.start_mark)
                raise self.doc.error(
                    here, f"duplicate key {key!r} (first given on line {first.line})",
                    "YAML keeps only the last of two equal keys; remove or rename one of them.",
                    at_key=True,
                )
            self.doc.key_marks[here] = _position(key_node.start_mark)
            out[key] = self.build(value_node, here)
        return out

    def _key(self, node: yaml.Node, path: KeyPath) -> str:
        if not isinstance(node, yaml.ScalarNode):
            self.doc.key_marks[(*path, "?")] = _position(node.start_mark)
            raise self.doc.error((*path, "?"), "a key must be a plain name, not a list or mapping",
                                 "Check the indentation of this line.", at_key=True)
        if node.tag == "tag:yaml.org,2002:merge":
            self.doc.key_marks[(*path, "<<")] = _position(node.start_mark)
            raise self.doc.error((*path, "<<"), "YAML merge keys ('<<') are not supported",
                                 "Put shared machine settings under the top-level `defaults:` key.",
                                 at_key=True)
        # Keys are names: `8080:` or `yes:` mean the text as written, not a number or a bool.
        return str(node.value)

    def _scalar(self, node: yaml.Node, path: KeyPath) -> Any:
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            raise self.doc.error(path, f"cannot read this value: {exc.problem}",
                                 "Remove the YAML tag ('!...') or quote the value.") from None
        except (ValueError, OverflowError) as exc:  # a date such as 2024-13-45, `!!int abc`
            raise self.doc.error(path, f"cannot read this value: {exc}",
                                 "Quote the value to give it as text, or correct it.") from None
        if isinstance(value, str) and "$" in value:
            try:
                return self.subst.substitute(value, lambda msg, hint: self.doc.error(path, msg, hint))
            except ProfileError as exc:
                self.problems.append(exc)
        return value
