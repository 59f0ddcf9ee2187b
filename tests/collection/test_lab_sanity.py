"""`ansible-test sanity` on the hosted.lab collection: the module's documentation against its
argument spec (validate-modules), ansible-doc, imports and compilation on the target's Python,
pylint, pep8, yamllint and the rest, every test ansible-core's ansible-test has.

ansible-test installs each test's requirements from PyPI into virtual environments of its own,
which takes about 6 minutes on the sandbox's two shared cores the first time, most of it
downloading pylint & co.: too long for every `scripts/test`, so it runs when asked,
HOSTED_ANSIBLE_SANITY=1 (`scripts/sandbox run env HOSTED_ANSIBLE_SANITY=1 python -m pytest
tests/collection/test_lab_sanity.py`).  Its environments are kept in .cache/ansible-test, so the
next run takes about a minute.  ansible-test bootstraps pip in them with a script it downloads
from a host this workplace does not reach; the test puts a stand-in in ansible-test's cache that
does the same with ensurepip and PyPI."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "ansible_collections" / "hosted" / "lab"
GET_PIP = """\
# ansible-test's pip bootstrap, done with ensurepip and PyPI (written by hosted's tests).
import subprocess
import sys

subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *args]))
"""

pytestmark = pytest.mark.skipif(os.environ.get("HOSTED_ANSIBLE_SANITY") != "1",
                                reason="ansible-test sanity runs with HOSTED_ANSIBLE_SANITY=1 (6 minutes)")


def pip_version() -> str:
    import ansible_test

    source = (Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py").read_text()
    found = re.search(r"pip='([0-9.]+)'", source)
    if found is None:
        pytest.skip("cannot tell which pip ansible-test bootstraps")
    return found.group(1)


def test_ansible_test_sanity_passes(tmp_path: Path) -> None:
    work = tmp_path / "ansible_collections" / "hosted" / "lab"
    shutil.copytree(COLLECTION, work, ignore=shutil.ignore_patterns("output", "__pycache__", "*.tar.gz"))
    home = ROOT / ".cache" / "ansible-test"  # ansible-test's HOME: its environments, kept for next time
    cache = home / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    (cache / f"get_pip_{pip_version().replace('.', '_')}.py").write_text(GET_PIP)
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    bin_dir = Path(sys.executable).parent
    environ = {**os.environ, "HOME": str(home), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run([str(bin_dir / "ansible-test"), "sanity", "--requirements", "--python", python,
                           "--color", "no"], cwd=work, capture_output=True, text=True, timeout=1500,
                          env=environ)
    report = "\n".join(line for line in (proc.stdout + proc.stderr).splitlines()
                       if line.startswith(("ERROR", "FATAL", "Running sanity")))
    assert proc.returncode == 0, report + "\n" + proc.stderr[-3000:]
    assert "Running sanity test \"validate-modules\"" in report
