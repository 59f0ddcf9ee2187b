"""The commands' arguments, as functions that add them to a parser (used by the table in main.py).

Import-light (argparse only), like main.py: `hosted --help` builds every parser.  The
``completer`` attributes are read by argcomplete only when a shell asks for completions.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from hosted.cli import complete

Adder = Callable[[argparse.ArgumentParser], None]


def machines(p: argparse.ArgumentParser) -> None:
    p.add_argument("machines", nargs="*", metavar="MACHINE",
                   help="only these machines").completer = complete.machines  # type: ignore[attr-defined]


def yes(p: argparse.ArgumentParser) -> None:
    p.add_argument("-y", "--yes", action="store_true", default=False,
                   help="answer yes to every confirmation (needed without a terminal)")


def up(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-provision", action="store_true", help="do not run provisioning steps")
    p.add_argument("--no-wait", action="store_true",
                   help="start machines and return without waiting for SSH (and without provisioning)")


def no_wait(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-wait", action="store_true",
                   help="start machines and return without waiting for SSH (and without provisioning)")


def parallel(p: argparse.ArgumentParser) -> None:
    p.add_argument("--parallel", type=int, default=0, metavar="N",
                   help="machines worked on at once (default: all of them, at most 32)")


def timeout(p: argparse.ArgumentParser) -> None:
    p.add_argument("--timeout", type=float, default=60.0, metavar="S",
                   help="seconds to wait for an ACPI shutdown before powering off (default 60)")


def snapshot_name(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME").completer = complete.snapshots  # type: ignore[attr-defined]


def new_snapshot_name(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME", help="the snapshot's name")


def flag(name: str, text: str, short: str = "") -> Adder:
    def add(p: argparse.ArgumentParser) -> None:
        p.add_argument(*([short] if short else []), name, action="store_true", help=text)

    return add


def ssh(p: argparse.ArgumentParser) -> None:
    p.usage = ("hosted ssh [-h] [-f PATH] [-v | -q] [--debug] [--json] [MACHINE] "
               "[-c CMD | -- COMMAND [ARG ...]]")
    p.add_argument("machine", nargs="?", metavar="MACHINE",
                   help="the machine (optional when the environment has one, or one marked "
                        "`primary: true`)").completer = complete.machines  # type: ignore[attr-defined]
    p.add_argument("-c", "--command", dest="command_string", metavar="CMD",
                   help="run CMD (one string, run by the guest's shell) instead of a login shell; "
                        "or give the command after --: hosted ssh web -- ls -l /")


def cp(p: argparse.ArgumentParser) -> None:
    for name, text in (("source", "a local path, or MACHINE:PATH in a machine"),
                       ("destination", "where the copy goes (a trailing / means into that directory): "
                                       "MACHINE:PATH, or a local path")):
        p.add_argument(name, metavar=name[:4].upper() if name == "source" else "DEST",
                       help=text).completer = complete.copy_paths  # type: ignore[attr-defined]


def logs(p: argparse.ArgumentParser) -> None:
    p.add_argument("machine", nargs="?", metavar="MACHINE",
                   help="the machine (optional as for ssh)").completer = complete.machines  # type: ignore[attr-defined]
    p.add_argument("--vbox", action="store_true", help="VirtualBox's own VBox.log instead")
    p.add_argument("-n", "--lines", type=int, default=0, metavar="N", help="only the last N lines")


def bundle_output(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", metavar="FILE", help="the bundle to write (e.g. lab.bundle)")


def prune(p: argparse.ArgumentParser) -> None:
    p.add_argument("--older-than", type=float, default=30.0, metavar="DAYS",
                   help="only images not used for this many days (default 30)")
    p.add_argument("--all", action="store_true",
                   help="every image no machine on this host and not the profile uses, whatever its age")


def image_names(p: argparse.ArgumentParser) -> None:
    p.add_argument("names", nargs="*", metavar="NAME",
                   help="only these images").completer = complete.images  # type: ignore[attr-defined]


def schema_output(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", metavar="FILE", help="write the schema to FILE (default: stdout)")


def init(p: argparse.ArgumentParser) -> None:
    p.add_argument("template", nargs="?", metavar="TEMPLATE",
                   help="minimal, test-guest, debian-12, ubuntu-24.04 (default) or workshop"
                   ).completer = complete.templates  # type: ignore[attr-defined]
    p.add_argument("--list", action="store_true", help="list the templates and what each is")
    p.add_argument("--name", metavar="NAME", help="the environment's name (default: the directory's)")
    p.add_argument("--force", action="store_true", help="replace an existing file")


def inventory(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("ini", "yaml"), default="ini", help="inventory format (default ini)")
    p.add_argument("-o", "--output", metavar="FILE", help="write it to FILE (default: stdout)")


def shell(p: argparse.ArgumentParser) -> None:
    p.add_argument("shell", choices=("bash", "zsh", "fish"), help="the shell to print the script for")


NO_WAIT_LOCK = flag("--no-wait-lock", "fail at once when another run holds the environment "
                    "(default: wait for it)")


def sign(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sign", metavar="KEY",
                   help="sign the bundle with this OpenSSH private key (ssh-keygen -Y sign)")


def trust(p: argparse.ArgumentParser) -> None:
    p.add_argument("--trust", metavar="ALLOWED_SIGNERS",
                   help="an OpenSSH allowed-signers file: a bundle signed by one of them runs without asking")


FORCE_HALT = flag("--force", "power off at once, no ACPI shutdown")
FORCE_SAVE = flag("--force", "replace a snapshot of the same name")


def common(p: argparse.ArgumentParser, *, profile: bool, json: bool, top: bool = False) -> None:
    """The options every command takes (before or after its name: a sub-parser's default is
    SUPPRESS, so the value given before the command survives)."""
    default: object = None if top else argparse.SUPPRESS
    switch: object = False if top else argparse.SUPPRESS
    if profile:
        p.add_argument("-f", "--file", metavar="PATH", default=default,
                       help="the profile: a file, a directory or a bundle (default: $HOSTED_FILE, or "
                            "hosted.yaml here or in the nearest parent directory)")
    p.add_argument("-v", "--verbose", action="store_true", default=switch,
                   help="also show each step as it starts")
    p.add_argument("-q", "--quiet", action="store_true", default=switch,
                   help="no progress: only results, errors and warnings")
    p.add_argument("--debug", action="store_true", default=switch,
                   help="write tracebacks and every VirtualBox call to hosted's debug log")
    if json:
        p.add_argument("--json", action="store_true", default=switch,
                       help="machine-readable output (one JSON document, failures too)")
