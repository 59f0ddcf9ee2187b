"""inventory: an Ansible inventory of the environment's running machines."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hosted import api
from hosted.cli.console import console
from hosted.cli.profile_cmds import load
from hosted.errors import UsageError


def cmd_inventory(args: argparse.Namespace) -> int:
    env = load(args)
    text, left_out = api.inventory(env, args.format)
    if args.output:
        path = Path(args.output)
        if not path.parent.is_dir():
            raise UsageError(f"{path.parent} is not a directory; nothing was written", "give another -o path")
        path.write_text(text, encoding="utf-8")
        console.print(f"wrote {path} (ansible-playbook -i {path} ...)", markup=False)
    else:
        sys.stdout.write(text)
    for name in left_out:
        console.print(f"# left out: {name} (not running, or no SSH forward)", markup=False, style="dim")
    return 0
