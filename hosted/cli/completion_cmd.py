"""completion: the script that makes a shell complete hosted's commands, options and values."""

from __future__ import annotations

import argparse
import sys

from hosted.cli import complete

HOW = {
    "bash": 'eval "$(hosted completion bash)"   # in ~/.bashrc',
    "zsh": 'eval "$(hosted completion zsh)"    # in ~/.zshrc, after compinit',
    "fish": "hosted completion fish | source    # in ~/.config/fish/config.fish",
}


def cmd_completion(args: argparse.Namespace) -> int:
    sys.stdout.write(f"# hosted completion for {args.shell}: {HOW[args.shell]}\n")
    sys.stdout.write(complete.shellcode(args.shell))
    return 0
