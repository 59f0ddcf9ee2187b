"""Where the end-to-end tests find the tiny test guest (built by scripts/test-guest/stage.sh)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUEST = Path(os.environ.get("HOSTED_TEST_GUEST", ROOT / ".cache" / "test-guest"))
ISO = GUEST / "test-guest.iso"
KEY = GUEST / "ssh" / "test_key"


def require_guest() -> None:
    if not ISO.is_file():
        pytest.fail(f"no test guest at {GUEST}: run scripts/test-guest/stage.sh (scripts/test does)")
