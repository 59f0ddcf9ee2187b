"""The Windows and macOS workflow (.github/workflows/hosts.yml) is not run here: no runner of
this project has those systems.  This keeps it correct: the jobs and systems it names, every
command it runs is one the install provides, the test selections are the README's and select
what they say (the Windows VirtualBox job never starts a machine), every path exists, and the
docs say where it stands."""

from __future__ import annotations

import ast
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "hosts.yml"
PURE_MARKERS = "not vbox and not sshd and not e2e"
# Starting a machine of a missing uuid is refused before anything: no guest is booted.
STARTS_NOTHING = {"test_unknown_machines"}


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return data


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job["steps"])


def commands(job: dict[str, Any]) -> list[str]:
    """Every shell command of the job's steps, one per line (folded lines joined)."""
    found = []
    for step in steps(job):
        for line in str(step.get("run", "")).splitlines():
            if line.strip():
                found.append(line.strip())
    return found


def pytest_argv(command: str) -> list[str]:
    argv = shlex.split(command)
    return argv[argv.index("pytest") + 1:]


def test_it_runs_on_windows_and_macos_on_every_event(workflow: dict[str, Any]) -> None:
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request", "workflow_dispatch"} <= set(triggers)
    pure = workflow["jobs"]["pure"]
    assert set(pure["strategy"]["matrix"]["os"]) == {"windows-latest", "macos-latest"}
    assert pure["runs-on"] == "${{ matrix.os }}"
    pythons = {str(v) for v in pure["strategy"]["matrix"]["python"]}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert min(pythons) == project["requires-python"].removeprefix(">="), "the oldest Python hosted supports"
    assert workflow["jobs"]["virtualbox-windows"]["runs-on"] == "windows-latest"


def test_the_pure_job_runs_lint_types_contracts_tests_and_doctor(workflow: dict[str, Any]) -> None:
    run = commands(workflow["jobs"]["pure"])
    assert 'python -m pip install -e ".[dev,vbox]"' in run
    for expected in ("ruff check hosted tests bench", "mypy", "mypy --platform win32",
                     "mypy --platform darwin", "lint-imports"):
        assert expected in run, expected
    [tests] = [c for c in run if " pytest " in c]
    assert "-X warn_default_encoding" in tests and shlex.split(tests)[-1] == PURE_MARKERS
    doctor = [c for c in run if "hosted doctor" in c]
    assert doctor == ["PYTHONIOENCODING=cp1252 hosted doctor > doctor.txt 2>&1"]
    assert 'test "$code" = 3' in run, "no VirtualBox there: exit 3, never an internal error"


def test_the_host_checks_are_the_same_as_scripts_test(workflow: dict[str, Any]) -> None:
    script = (ROOT / "scripts" / "test").read_text(encoding="utf-8")
    for needed in ("mypy\" --platform win32", "mypy\" --platform darwin", "-X warn_default_encoding",
                   f'-m "{PURE_MARKERS}"', "lint-imports", "ruff\" check hosted tests bench"):
        assert needed in script, needed


def test_every_command_is_one_the_install_provides(workflow: dict[str, Any]) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    dev = " ".join(project["optional-dependencies"]["dev"])
    provided = {"python", "hosted", "choco", "set", "cat", "test", "PYTHONIOENCODING=cp1252", "code=$?"}
    provided |= {"ruff", "mypy", "lint-imports"} if all(p in dev for p in ("ruff", "mypy", "import-linter")) \
        else set()
    assert "hosted" in project["scripts"]
    for job in workflow["jobs"].values():
        for command in commands(job):
            assert command.split()[0] in provided, command
        uses = [s["uses"] for s in steps(job) if "uses" in s]
        assert uses[:2] == ["actions/checkout@v4", "actions/setup-python@v5"]


def test_the_vbox_extra_brings_pywin32_on_windows() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    vbox = project["optional-dependencies"]["vbox"]
    assert any(re.fullmatch(r"pywin32>=\d+; sys_platform == 'win32'", d) for d in vbox), vbox
    assert any(d.startswith("vbox-sdk") for d in vbox)


def test_the_windows_virtualbox_job_installs_it_and_starts_no_machine(workflow: dict[str, Any]) -> None:
    job = workflow["jobs"]["virtualbox-windows"]
    run = commands(job)
    assert "choco install virtualbox --no-progress -y" in run and "hosted doctor" in run
    [tests] = [c for c in (str(s.get("run", "")) for s in steps(job)) if "pytest" in c]
    argv = pytest_argv(" ".join(tests.split()))
    files = [a for a in argv if a.startswith("tests/")]
    assert files and all((ROOT / f).is_file() for f in files)
    assert argv[argv.index("-m") + 1] == "vbox and not e2e and not sshd"
    selected = collect(argv)
    assert len(selected) >= 15, selected
    for node in selected:
        path, _, name = node.partition("::")
        function = name.split("[")[0]
        assert "contract" not in path or "[virtualbox" in name, f"{node}: the memory double's case"
        body = source_of(ROOT / path, function)
        assert function in STARTS_NOTHING or '"headless"' not in body, f"{node} starts a machine"


def collect(argv: list[str]) -> list[str]:
    argv = [a for a in argv if a != "-q"]  # one -q lists the tests; two only count them
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", *argv], cwd=ROOT,
                          capture_output=True, text=True, encoding="utf-8", timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return [line for line in proc.stdout.splitlines() if "::" in line]


def source_of(path: Path, function: str) -> str:
    text = path.read_text(encoding="utf-8")
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef) and node.name == function:
            return ast.get_source_segment(text, node) or ""
    raise AssertionError(f"{function} not in {path}")


def test_the_docs_say_where_the_workflow_stands() -> None:
    install = (ROOT / "docs" / "install.md").read_text(encoding="utf-8")
    assert ".github/workflows/hosts.yml" in install
    assert re.search(r"not run (here|by this project)", install)
