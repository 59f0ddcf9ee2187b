"""init: write a commented starter hosted.yaml from a template shipped with hosted."""

from __future__ import annotations

import argparse
import difflib
import os
import re
import tempfile
from pathlib import Path

from rich.markup import escape

from hosted import files, templates
from hosted.cli.console import OPTIONS, console, print_json
from hosted.errors import UsageError

PROFILE_NAME = "hosted.yaml"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def cmd_init(args: argparse.Namespace) -> int:
    if args.list:
        if OPTIONS.json:
            print_json(OPTIONS.kind, {"templates": [
                {"name": n, "summary": templates.summary(n), "default": n == templates.DEFAULT}
                for n in templates.names()]})
            return 0
        for name in templates.names():
            mark = " (default)" if name == templates.DEFAULT else ""
            console.print(f"{name:<14} {escape(templates.summary(name))}{mark}")
        return 0
    template = _template(args.template or templates.DEFAULT)
    target = _target(getattr(args, "file", None))
    environment = args.name or environment_name(target.parent, template)
    if not _NAME.match(environment):
        raise UsageError(f"{environment!r} is not a valid environment name",
                         "Use letters, digits, '.', '_' and '-', starting with a letter or digit.")
    if target.exists() and not args.force:
        raise UsageError(f"{target} already exists; nothing was written",
                         "Give --force to replace it (what it holds is lost), or -f another path.")
    _write(target, named(templates.text(template), environment))
    if OPTIONS.json:
        print_json(OPTIONS.kind, {"path": str(target), "template": template, "environment": environment})
        return 0
    console.print(f"wrote {escape(str(target))} from template {template!r} (environment "
                  f"{environment!r})")
    console.print("Next: read its comments, then `hosted validate` and `hosted up`.")
    return 0


def _template(name: str) -> str:
    known = templates.names()
    if name in known:
        return name
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    guess = f"Did you mean {close[0]!r}? " if close else ""
    raise UsageError(f"no template named {name!r}",
                     f"{guess}Templates: {', '.join(known)} (`hosted init --list` describes them).")


def _target(file: str | None) -> Path:
    """Where to write: -f FILE, -f DIRECTORY (its hosted.yaml), or ./hosted.yaml."""
    target = Path(file).expanduser() if file else Path.cwd()
    if target.is_dir():
        target = target / PROFILE_NAME
    target = target.absolute()
    if not target.parent.is_dir():
        raise UsageError(f"{target.parent} is not a directory; nothing was written",
                         "Create the directory first, or give -f a path in an existing one.")
    return target


def environment_name(directory: Path, template: str) -> str:
    """The directory's name as an environment name (machines are tagged with it), else the template's."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", directory.name)
    name = re.sub(r"^[^A-Za-z0-9]+", "", name).rstrip("-._")[:40]
    return name or template.split("-")[0]


def named(text: str, environment: str) -> str:
    """The template with its top-level ``name:`` set to ``environment`` (comments kept)."""
    return re.sub(r"^name: *[^\s#]+", f"name: {environment}", text, count=1, flags=re.MULTILINE)


def _write(target: Path, text: str) -> None:
    """Through a temporary file and a rename: an interrupted init leaves no half profile."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # as a plain open() would make it (mkstemp: 0600)
        files.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
