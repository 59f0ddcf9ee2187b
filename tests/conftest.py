"""Test-wide setup.

Every test session gets its own VirtualBox home and IPC socket id, set before
anything can import vboxapi, so VirtualBox starts a separate VBoxSVC with its
own registry: tests never see or touch anyone's own machines.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

# pytester: the pytest plugin's tests run sample suites (tests/plugin/).
pytest_plugins = ["pytester"]

_TESTS = Path(__file__).resolve().parent
if str(_TESTS) not in sys.path:
    sys.path.insert(0, str(_TESTS))

_vbox_home = tempfile.mkdtemp(prefix="hosted-test-vbox-")
os.environ["VBOX_USER_HOME"] = _vbox_home
os.environ["VBOX_IPC_SOCKETID"] = f"hosted-test-{os.getpid()}"
# hosted's own files (keys, pins, images, port reservations, locks) also stay out of the
# user's, on every OS: HOSTED_*_DIR, since macOS and Windows have no XDG_* for hosted to
# honour.  XDG_* too, for anything else that follows them on Linux.
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="hosted-test-data-")
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="hosted-test-cache-")
os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="hosted-test-run-")
os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="hosted-test-state-")
for _var, _xdg in (("HOSTED_DATA_DIR", "XDG_DATA_HOME"), ("HOSTED_CACHE_DIR", "XDG_CACHE_HOME"),
                   ("HOSTED_STATE_DIR", "XDG_STATE_HOME")):
    os.environ[_var] = os.path.join(os.environ[_xdg], "hosted")


def pytest_unconfigure(config: object) -> None:
    shutil.rmtree(_vbox_home, ignore_errors=True)


def pytest_configure(config: object) -> None:
    # Under `python -X warn_default_encoding` (scripts/test, CI), a text file hosted opens
    # without naming its encoding (cp1252 on Windows) fails the test that reached it.
    if sys.flags.warn_default_encoding:
        config.addinivalue_line("filterwarnings", "error::EncodingWarning:hosted")  # type: ignore[attr-defined]
