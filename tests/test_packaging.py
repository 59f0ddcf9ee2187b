"""What `python -m build` makes: a wheel with the package, its templates, py.typed and the
license; an sdist that carries the tests that run without VirtualBox, and they run from it."""

from __future__ import annotations

import email.parser
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NAME = "hosted-0.1.0"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("build", reason="the dev extra brings `build`: pip install -e '.[dev]'")
    out = tmp_path_factory.mktemp("dist")
    # No isolation: the dev extra's setuptools builds it, with no index needed (offline, CI).
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(REPO)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def package_files() -> set[str]:
    return {p.relative_to(REPO).as_posix() for p in (REPO / "hosted").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def test_the_wheel(dist: Path) -> None:
    [wheel] = dist.glob("*.whl")
    assert wheel.name == f"{NAME}-py3-none-any.whl"
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {n for n in names if n.startswith("hosted/")} == package_files(), \
        "every module, template and py.typed, and nothing else"
    assert "hosted/py.typed" in names
    assert {f"hosted/templates/{t}.yaml" for t in ("minimal", "test-guest", "debian-12", "ubuntu-24.04",
                                                    "workshop")} <= names
    assert f"{NAME}.dist-info/licenses/LICENSE" in names
    assert not any(n.startswith(("tests/", "docs/", "profiles/", "scripts/", "bench/")) for n in names)
    meta = email.parser.Parser().parsestr(zipfile.ZipFile(wheel).read(f"{NAME}.dist-info/METADATA").decode())
    assert meta["License-Expression"] == "MIT" and meta["License-File"] == "LICENSE"
    assert not any(c.startswith("License ::") for c in meta.get_all("Classifier")), \
        "the SPDX expression replaces license classifiers"
    assert {"Typing :: Typed", "Operating System :: Microsoft :: Windows", "Operating System :: MacOS",
            "Operating System :: POSIX :: Linux"} <= set(meta.get_all("Classifier"))
    assert meta["Requires-Python"] == ">=3.11"
    assert {"vbox", "dev"} <= set(meta.get_all("Provides-Extra"))
    entry_points = zipfile.ZipFile(wheel).read(f"{NAME}.dist-info/entry_points.txt").decode()
    assert "hosted = hosted.cli.main:run" in entry_points
    assert "MIT License" in zipfile.ZipFile(wheel).read(f"{NAME}.dist-info/licenses/LICENSE").decode()


def test_the_sdist(dist: Path) -> None:
    [sdist] = dist.glob("*.tar.gz")
    assert sdist.name == f"{NAME}.tar.gz"
    with tarfile.open(sdist) as tar:
        names = {n.removeprefix(f"{NAME}/") for n in tar.getnames()}
    assert {"LICENSE", "README.md", "pyproject.toml", "PKG-INFO", "hosted/py.typed",
            "hosted/templates/ubuntu-24.04.yaml", "tests/conftest.py", "tests/double.py",
            "tests/profile/test_json_schema.py", "tests/cli/test_init.py", "tests/images/imagekit.py",
            "tests/contract/harness.py", "docs/profile.md", "profiles/demo.yaml",
            "profiles/demo-files/motd"} <= names
    assert package_files() <= names
    assert not any(n.startswith(("tests/backend_virtualbox", "tests/e2e")) for n in names), \
        "the VirtualBox-only suites stay in the repository"
    assert not any("__pycache__" in n or n.endswith(".pyc") or n.startswith((".venv", ".cache"))
                   for n in names)


def test_the_sdists_tests_run_from_it(dist: Path, tmp_path: Path) -> None:
    [sdist] = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp_path, filter="data")
    root = tmp_path / NAME
    env = {**os.environ, "PYTHONPATH": str(root)}
    where = subprocess.run([sys.executable, "-c", "import hosted; print(hosted.__file__)"], cwd=root, env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(root), "the sdist's own package is tested"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "-m", "not vbox and not sshd and not e2e",
         "tests/profile/test_examples.py", "tests/profile/test_json_schema.py", "tests/cli/test_init.py",
         "tests/images/test_checksums.py"],
        cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout
