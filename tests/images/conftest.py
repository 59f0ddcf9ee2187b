"""Each image test gets its own cache directory (the cache is per user and content-addressed)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("HOSTED_CACHE_DIR", str(cache / "hosted"))
    monkeypatch.setenv("HOSTED_DATA_DIR", str(tmp_path / "data" / "hosted"))
    return cache / "hosted"
