"""The layering rules that import-linter cannot see: the VirtualBox backend
loads vboxapi through importlib, so the source text is checked as well."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "hosted"


def mentions(pattern: str) -> set[str]:
    rx = re.compile(pattern)
    return {
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if any(rx.search(line) for line in p.read_text().splitlines() if not line.lstrip().startswith("#"))
    }


def test_only_the_virtualbox_backend_names_vboxapi() -> None:
    offenders = {p for p in mentions(r"""(import\s+vboxapi|from\s+vboxapi|["']vboxapi["'])""")
                 if not p.startswith("backend/virtualbox/")}
    assert offenders == set()
    assert mentions(r"""["']vboxapi["']|import vboxapi""") & {"backend/virtualbox/locate.py"}


def test_only_the_cli_imports_rich() -> None:
    offenders = {p for p in mentions(r"^\s*(import|from)\s+rich\b") if not p.startswith("cli/")}
    assert offenders == set()


def test_help_imports_nothing_heavy() -> None:
    code = ("import sys; from hosted.cli.main import build_parser; build_parser().format_help(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('rich','yaml','pydantic','paramiko','vboxapi')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_commands_import_only_what_they_use(tmp_path: Path) -> None:
    """`status`, `plan` and `halt` read VirtualBox and plan: no SSH stack (paramiko, cryptography),
    no archives or HTTP.  `--help` imports nothing heavy at all (above)."""
    (tmp_path / "hosted.yaml").write_text("version: 1\nname: imports\nmachines:\n  web: {memory: 64M}\n")
    tests = str(Path(__file__).resolve().parent)
    for command in (["status"], ["plan"], ["halt"]):
        code = (f"import sys; sys.path.insert(0, {tests!r}); import _pytest, cli_support\n"
                f"from hosted.cli.main import main; main({command!r})\n"
                "heavy = {'paramiko', 'cryptography', 'invoke', 'tarfile', 'http', 'pycdlib'}\n"
                "print(sorted({m.split('.')[0] for m in sys.modules} & heavy), file=sys.stderr)")
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                              env={**os.environ, "HOSTED_BACKEND": "cli_support:shared"}, check=False)
        assert proc.stderr.strip().splitlines()[-1] == "[]", (command, proc.stderr)


def test_an_unchanged_profile_is_not_validated_again(tmp_path: Path) -> None:
    """The second command on a profile takes it from the compiled-profile cache: neither YAML nor
    pydantic nor the schema is imported (issue 11, start-up budget).  `validate` validates."""
    (tmp_path / "common.yaml").write_text("defaults: {memory: 64M}\n", encoding="utf-8")
    (tmp_path / "hosted.yaml").write_text("version: 1\nname: cached\ninclude: common.yaml\nmachines:\n"
                                          "  web: {cpus: '${CPUS:-1}'}\n", encoding="utf-8")
    tests = str(Path(__file__).resolve().parent)
    env = {**os.environ, "HOSTED_BACKEND": "cli_support:shared", "HOSTED_STATE_DIR": str(tmp_path / "state")}
    heavy = "{'yaml', 'pydantic', 'pydantic_core', 'hosted.profile.schema', 'hosted.profile.loader'}"

    def imported(command: list[str]) -> str:
        code = (f"import sys; sys.path.insert(0, {tests!r}); import _pytest, cli_support\n"
                f"from hosted.cli.main import main; code = main({command!r})\n"
                f"print(code, sorted(set(sys.modules) & {heavy}), file=sys.stderr)")
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                              env=env, check=False)
        return proc.stderr.strip().splitlines()[-1]

    assert imported(["plan"]) != "0 []"  # the first load validates
    for command in (["plan"], ["status"], ["plan", "--json"], ["status", "-f", "hosted.yaml"]):
        assert imported(command) == "0 []", command
    assert "pydantic" in imported(["validate"])
