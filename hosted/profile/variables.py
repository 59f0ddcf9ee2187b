"""``${VAR}`` and ``${VAR:-default}`` substitution in the profile's string values.

``$${`` writes a literal ``${`` (for shell scripts given inline).  A value that
had a variable substituted is a :class:`Substituted` string: numeric and boolean
keys accept it when its text is a number or a boolean (``cpus: ${CPUS:-2}``),
while plain YAML strings stay strictly strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from hosted.errors import ProfileError

_REFERENCE = re.compile(r"\$\$\{|\$\{(?P<body>[^}]*)(?P<close>\}?)")
_BODY = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>.*))?", re.DOTALL)
# ``${index}``, ``${index+N}``, ``${index-N}``, ``${N+index}``: the machine's number under ``count``,
# filled in when the machine is expanded (hosted.profile.expand), not from the environment.
INDEX = re.compile(r"\s*(?:(?P<base>\d{1,9})\s*\+\s*)?index(?:\s*(?P<op>[+-])\s*(?P<offset>\d{1,9}))?\s*")
# What an index reference stands for until then: NUL never survives into a validated value.
INDEX_MARK = re.compile("\x00index(?P<expr>[^\x00]*)\x00")

ErrorFactory = Callable[[str, str], ProfileError]


class Substituted(str):
    """A string value that came (at least partly) from an environment variable."""

    __slots__ = ()


class Substituter:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.used: dict[str, str] = {}  # variable name -> the text it was replaced by
        # variable name -> its raw value in ``environ`` (None: unset), as first looked up: what a
        # cached profile depends on (hosted.profile.compiled)
        self.looked_up: dict[str, str | None] = {}

    def substitute(self, value: str, error: ErrorFactory) -> str:
        """Replace every reference in ``value``; ``error`` builds the ProfileError to raise."""
        used = False
        out: list[str] = []
        pos = 0
        for match in _REFERENCE.finditer(value):
            out.append(value[pos:match.start()])
            pos = match.end()
            if match.group(0) == "$${":
                out.append("${")
                continue
            out.append(self._resolve(match, error))
            used = True
        out.append(value[pos:])
        text = "".join(out)
        return Substituted(text) if used else text

    def _resolve(self, match: re.Match[str], error: ErrorFactory) -> str:
        if match.group("close") and INDEX.fullmatch(match.group("body")):
            return f"\x00index{match.group('body')}\x00"
        body = _BODY.fullmatch(match.group("body"))
        if not match.group("close") or body is None:
            raise error(
                f"malformed variable reference {match.group(0)!r}",
                "Write ${NAME} or ${NAME:-default} (NAME: letters, digits, '_'); "
                "write $${ for a literal '${'.",
            )
        name, default = body.group("name"), body.group("default")
        value = self.environ.get(name)
        self.looked_up.setdefault(name, value)
        # As in the shell, ':-' also replaces a variable that is set but empty.
        if default is not None and not value:
            self.used[name] = default
            return default
        if value is not None:
            self.used[name] = value
            return value
        raise error(
            f"environment variable {name} is not set",
            f"Set {name} in the environment, or give a default: ${{{name}:-value}}.",
        )


def index_value(expr: str, index: int) -> int:
    """The value of an index reference's body (``10+index``) for machine number ``index``."""
    found = INDEX.fullmatch(expr)
    assert found is not None
    value = index + int(found.group("base") or 0)
    offset = int(found.group("offset") or 0)
    return value - offset if found.group("op") == "-" else value + offset


def fill_index(text: str, index: int) -> str:
    """``text`` with its index references replaced by their values for machine number ``index``."""
    return INDEX_MARK.sub(lambda m: str(index_value(m.group("expr"), index)), text)
