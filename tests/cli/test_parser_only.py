"""A command line is parsed with only its own command's arguments built (issue 11: start-up),
and parses to what the whole parser gives."""

from __future__ import annotations

import argparse
import contextlib
import io

import pytest

from hosted.cli.main import COMMANDS, UsageProblem, build_parser, command_named, parse


def lines() -> list[list[str]]:
    """A line per command and action, with its options before and after the name."""
    found: list[list[str]] = []
    for name, command in COMMANDS.items():
        if command.actions:
            found += [[name, action] for action in command.actions]
        else:
            found.append([name])
    return found


def parsed(parser: argparse.ArgumentParser, words: list[str]) -> tuple[str, dict[str, object] | str]:
    """What ``parser`` makes of ``words``: the namespace, or the usage error and help it prints."""
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            args, extra = parser.parse_known_args(words)
    except UsageProblem as problem:
        return "error", f"{problem.message} | {problem.parser.format_usage()}"
    except SystemExit:
        return "exit", out.getvalue()
    return "ok", {**vars(args), "extra": extra}


@pytest.mark.parametrize("line", lines(), ids=" ".join)
def test_a_command_parses_alike_with_only_its_arguments(line: list[str]) -> None:
    name = command_named(line)
    assert name == line[0]
    for words in (line, ["-q", *line], [*line, "--json", "-v"], ["-f", "x.yaml", *line, "--bogus"],
                  [*line, "-h"]):
        assert parsed(build_parser(name), words) == parsed(build_parser(), words), words


def test_help_and_unknown_commands_build_every_command() -> None:
    assert command_named(["-h", "status"]) is None
    assert command_named(["--json"]) is None
    assert command_named(["statu"]) is None
    assert command_named(["-f", "status", "halt"]) == "halt"  # -f takes a value
    assert command_named(["global-status"]) == "list"
    full = build_parser()
    assert build_parser(None).format_help() == full.format_help()
    assert build_parser("halt").format_help() == full.format_help()  # the command table is whole


def test_parse_gives_the_whole_parsers_answer() -> None:
    args = parse(["snapshot", "save", "base", "--yes", "-q"])
    assert (args.command_name, args.snapshot_command, args.yes, args.quiet) == \
        ("snapshot", "save", True, True)
    with pytest.raises(UsageProblem, match="invalid choice: 'statu'"):
        parse(["statu"])
