"""The layering rules that import-linter cannot see: the VirtualBox backend
loads vboxapi through importlib, so the source text is checked as well."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

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
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, encoding="utf-8",
                         check=True).stdout
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
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, encoding="utf-8",
                              cwd=tmp_path, env={**os.environ, "HOSTED_BACKEND": "cli_support:shared"},
                              check=False)
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
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, encoding="utf-8",
                              cwd=tmp_path, env=env, check=False)
        return proc.stderr.strip().splitlines()[-1]

    assert imported(["plan"]) != "0 []"  # the first load validates
    for command in (["plan"], ["status"], ["plan", "--json"], ["status", "-f", "hosted.yaml"]):
        assert imported(command) == "0 []", command
    assert "pydantic" in imported(["validate"])
# A running machine with a snapshot, made on the test backend without importing more of hosted.
MACHINE = """\
import sys; sys.path.insert(0, {tests!r}); import _pytest, cli_support
from hosted.events import discard
from hosted.model import Forward, MachineSpec, Nic, Tags
b = cli_support.shared()
spec = MachineSpec(name="web", vm_name="imports-web", memory_mb=64,
                   nics=(Nic("nat", forwards=(Forward("ssh", 22, None),)),))
uuid = b.create_machine(spec, Tags("imports", "web", spec.config_hash(), "0"), discard).uuid
b.take_snapshot(uuid, "baseline", "", discard)
b.start(uuid, "headless", discard)
before = set(sys.modules)
from hosted.cli.main import main
code = main({command!r})
loaded = set(sys.modules) - before
heavy = {{m for m in loaded if m.split('.')[0] in ('paramiko', 'cryptography', 'invoke', 'ssl')
         or m == 'http.client' or (m == 'filelock' and sys.platform != 'win32')}}
images = {{m for m in loaded if m.startswith('hosted.images.') and m != 'hosted.images.locks'}}
shown = {{m for m in loaded if m in ('rich.table', 'rich.live', 'rich.tree')}}
packages = {{'.'.join(m.split('.')[:2]) for m in loaded if m.startswith('hosted.')}}
print(repr((code, sorted(heavy), sorted(images), sorted(shown), sorted(packages))), file=sys.stderr)
"""


@pytest.mark.parametrize("command", [
    ["status"], ["status", "--json"], ["halt"], ["destroy", "--yes"], ["snapshot", "list"],
    ["snapshot", "list", "--json"], ["snapshot", "save", "second"],
    ["snapshot", "restore", "baseline", "--yes"], ["snapshot", "delete", "baseline"],
    ["reset", "--yes", "--no-wait"], ["up", "--no-wait"], ["status", "-f", "hosted.yaml", "--json"],
])
def test_commands_that_need_no_ssh_import_no_ssh_and_no_http(tmp_path: Path, command: list[str]) -> None:
    """No SSH stack (paramiko, cryptography, invoke), no HTTP or TLS, no filelock library off Windows
    (hosted.flock: 13-22 ms to import), and of the images only their locks (the environment's lock
    uses them); --json builds no table, tree or live view."""
    (tmp_path / "hosted.yaml").write_text(
        "version: 1\nname: imports\nmachines:\n  web:\n    memory: 64M\n"
        "    nics: [{nat: {forwards: [{name: ssh, guest: 22, host: auto}]}}]\n", encoding="utf-8")
    code = MACHINE.format(tests=str(Path(__file__).resolve().parent), command=command)
    env = {**os.environ, "HOSTED_BACKEND": "cli_support:shared"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, encoding="utf-8",
                          cwd=tmp_path, env=env, check=False)
    code, heavy, images, shown, _ = ast.literal_eval(proc.stderr.strip().splitlines()[-1])
    assert (code, heavy) == (0, []), (command, proc.stderr)
    if "-f" not in command:  # a profile named by path is first checked for a bundle (a tar file)
        assert images == [], command
    if "--json" in command:
        assert shown == [], command


# Each of these is tens of frozen dataclasses built at import: a command loads only those it runs.
NOT_LOADED = {
    ("status",): {"hosted.run"},  # status plans (its drift is what `up` would change), runs nothing
    ("status", "--json"): {"hosted.run"},
    ("snapshot", "list"): {"hosted.run", "hosted.planner", "hosted.steps"},
    ("snapshot", "list", "--json"): {"hosted.run", "hosted.planner", "hosted.steps"},
}


@pytest.mark.parametrize("command", sorted(NOT_LOADED))
def test_read_only_commands_load_no_runner(tmp_path: Path, command: tuple[str, ...]) -> None:
    (tmp_path / "hosted.yaml").write_text(
        "version: 1\nname: imports\nmachines:\n  web:\n    memory: 64M\n"
        "    nics: [{nat: {forwards: [{name: ssh, guest: 22, host: auto}]}}]\n", encoding="utf-8")
    code = MACHINE.format(tests=str(Path(__file__).resolve().parent), command=list(command))
    env = {**os.environ, "HOSTED_BACKEND": "cli_support:shared"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, encoding="utf-8",
                          cwd=tmp_path, env=env, check=False)
    code, _, _, _, packages = ast.literal_eval(proc.stderr.strip().splitlines()[-1])
    assert code == 0, proc.stderr
    assert "hosted.api" in packages  # the check sees what the command loaded
    assert set(packages) & NOT_LOADED[command] == set(), command


def test_every_dataclass_has_a_docstring() -> None:
    """Without one, ``@dataclass`` makes one from ``inspect.signature`` when its module is
    imported: 0.06 to 0.1 ms a class, and a command imports about 90 (issue 11, bench/README.md)."""
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.ClassDef) and ast.get_docstring(node) is None
                    and any("dataclass" in ast.unparse(d) for d in node.decorator_list)):
                missing.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}")
    assert missing == []
