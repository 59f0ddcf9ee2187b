"""A pytest plugin: hosted's directories follow macOS' or Windows' rules, as on such a host.

``-p simulated_host`` with ``HOSTED_TEST_SIMULATE=darwin|win32`` and ``HOSTED_TEST_HOME=DIR``:
platformdirs' choice is replaced by that platform's own folders under DIR, and there no
``XDG_*`` variable counts (older platformdirs ignore them on macOS too, and Windows has
none).  tests/test_isolation_hosts.py runs part of the suite so and checks DIR stays empty.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

from hosted import paths

LAYOUTS = {
    "darwin": ("Library/Application Support/hosted", "Library/Caches/hosted",
               "Library/Application Support/hosted"),
    "win32": ("AppData/Local/hosted", "AppData/Local/hosted/Cache", "AppData/Local/hosted"),
}


def pytest_configure(config: object) -> None:
    system = os.environ["HOSTED_TEST_SIMULATE"]
    home = Path(os.environ["HOSTED_TEST_HOME"])
    data, cache, state = (str(home / part) for part in LAYOUTS[system])
    dirs = SimpleNamespace(user_data_dir=data, user_cache_dir=cache, user_state_dir=state)
    paths._dirs = lambda: dirs  # type: ignore[assignment]
