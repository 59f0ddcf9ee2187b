"""Shell completion (argcomplete): the dynamic values, and `hosted completion SHELL`.

argcomplete runs `hosted` itself when a shell asks (``_ARGCOMPLETE`` is set then); main()
imports argcomplete only in that case, so `hosted --help` never pays for it.  The completers
below are attached to arguments in arguments.py; each imports what it needs when called,
and none lets an exception out (a completion that fails offers nothing).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterable
from typing import Any

Completer = Callable[..., Iterable[str]]


def _quiet(fn: Completer) -> Completer:
    def guarded(**kwargs: Any) -> list[str]:
        try:
            return list(fn(**kwargs))
        except Exception:  # a broken profile, no VirtualBox: nothing to offer
            return []

    guarded.__doc__ = fn.__doc__
    return guarded


def _profile_data(parsed_args: argparse.Namespace) -> dict[str, Any]:
    """The profile's YAML as plain data, without validating it (a completion must be quick)."""
    import yaml

    from hosted.profile import find_profile

    path = find_profile(getattr(parsed_args, "file", None))
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    return data if isinstance(data, dict) else {}


@_quiet
def machines(parsed_args: argparse.Namespace, **_: Any) -> Iterable[str]:
    """The profile's machine names."""
    found = _profile_data(parsed_args).get("machines")
    return [str(name) for name in found] if isinstance(found, dict) else []


@_quiet
def images(parsed_args: argparse.Namespace, **_: Any) -> Iterable[str]:
    """The profile's image names."""
    found = _profile_data(parsed_args).get("images")
    return [str(name) for name in found] if isinstance(found, dict) else []


@_quiet
def snapshots(parsed_args: argparse.Namespace, **_: Any) -> Iterable[str]:
    """The snapshot names the environment's machines have (asks VirtualBox)."""
    from hosted import api

    env = api.load(getattr(parsed_args, "file", None))
    names = {node.info.name for m in api.snapshot_list(env) for node in m.nodes}
    return sorted(names)


@_quiet
def templates(**_: Any) -> Iterable[str]:
    """The templates `hosted init` writes."""
    from hosted import templates as shipped

    return shipped.names()


@_quiet
def copy_paths(prefix: str, parsed_args: argparse.Namespace, **_: Any) -> Iterable[str]:
    """``MACHINE:`` for each machine, and local files (the shell's own completion of paths)."""
    offered = [f"{name}:" for name in machines(parsed_args=parsed_args)]
    directory, _sep, start = prefix.rpartition("/")
    try:
        entries = os.listdir(directory or ".")
    except OSError:
        entries = []
    for entry in entries:
        if entry.startswith(start) and not (entry.startswith(".") and not start.startswith(".")):
            path = f"{directory}/{entry}" if directory else entry
            offered.append(path + "/" if os.path.isdir(path) else path)
    return offered


def shellcode(shell: str) -> str:
    """The script that makes ``shell`` complete `hosted` (commands, options and values)."""
    from argcomplete.shell_integration import shellcode as script

    return str(script(["hosted"], shell=shell))


def autocomplete(parser: argparse.ArgumentParser) -> None:
    """Answer the shell's completion request and exit (only called when ``_ARGCOMPLETE`` is set)."""
    import argcomplete

    argcomplete.autocomplete(parser, always_complete_options=False)  # options once "-" is typed
