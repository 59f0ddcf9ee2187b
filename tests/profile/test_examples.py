"""The example profiles in profiles/: each validates in a fresh clone, or says what to build first;
the conversions of docs/from-vagrant.md are the profiles that page shows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from hosted.cli.main import main
from hosted.profile import load_profile

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "profiles").glob("*.yaml"))
BUILD_FIRST = "scripts/test-guest/stage.sh"
# Real labs converted from Vagrantfiles: sized for their workloads (kubeadm wants 2 GB), not for
# the sandbox, and shown whole in docs/from-vagrant.md.
CONVERSIONS = ("k8s-lab.yaml", "ansible-lab.yaml", "cluster-shared-disk.yaml")
FROM_VAGRANT = REPO / "docs" / "from-vagrant.md"


@pytest.fixture
def built_guest(tmp_path: Path) -> Path:
    """What scripts/test-guest/stage.sh leaves in .cache/test-guest (contents do not matter here)."""
    guest = tmp_path / "test-guest"
    (guest / "ssh").mkdir(parents=True)
    (guest / "test-guest.iso").write_bytes(b"iso")
    (guest / "ssh" / "test_key").write_text("key")
    return guest


def test_the_examples_are_there() -> None:
    assert {p.name for p in EXAMPLES} >= {"demo.yaml", "workshop.yaml", *CONVERSIONS}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_validates(path: Path, built_guest: Path) -> None:
    env = load_profile(path, {"HOSTED_TEST_GUEST": str(built_guest)})
    assert env.path == str(path)
    for m in env.machines:
        assert m.memory_mb is not None, "examples say how much memory"
        if path.name not in CONVERSIONS:
            assert m.memory_mb <= 512, "examples stay small for the sandbox"


@pytest.mark.parametrize("name", CONVERSIONS)
def test_each_conversion_is_the_profile_docs_from_vagrant_shows(name: str) -> None:
    text = FROM_VAGRANT.read_text(encoding="utf-8")
    assert f"](../profiles/{name})" in text, f"docs/from-vagrant.md links {name}"
    profile = yaml.safe_load((REPO / "profiles" / name).read_text(encoding="utf-8"))
    shown = [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)]
    assert profile in shown, f"docs/from-vagrant.md shows profiles/{name} as it is (comments aside)"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_in_a_fresh_clone_an_example_validates_or_says_what_to_build(
        path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HOSTED_TEST_GUEST", str(tmp_path / "not-built-yet"))
    code = main(["validate", "-f", str(path)])
    out = "".join(capsys.readouterr())
    if code == 0:
        return
    lines = path.read_text(encoding="utf-8").splitlines()
    assert BUILD_FIRST in "\n".join(lines[:15]), "the header says what to build first"
    problems = [line for line in out.splitlines() if line.startswith("error: ")]
    assert problems, out
    for problem in problems:
        assert "does not exist" in problem and "not-built-yet" in problem, problem
        line = int(problem.removeprefix(f"error: {path}:").split(":")[0])
        assert BUILD_FIRST in lines[line - 2], f"the line above {line} names what builds it"


def test_the_demo_needs_the_test_guest_and_nothing_else(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HOSTED_TEST_GUEST", str(tmp_path / "not-built-yet"))
    assert main(["validate", "-f", str(REPO / "profiles" / "demo.yaml")]) == 2
    out = "".join(capsys.readouterr())
    assert "machines.box.dvd:" in out and "machines.box.ssh.private_key:" in out
    assert "2 problems in demo.yaml" in out
