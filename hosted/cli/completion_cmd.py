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
    # The script first (zsh wants its #compdef line on top, for a file in $fpath), then how to use it.
    script = complete.shellcode(args.shell)
    sys.stdout.write(script + ("" if script.endswith("\n") else "\n"))
    sys.stdout.write(f"# hosted completion for {args.shell}: {HOW[args.shell]}\n")
    return 0
