"""docs/api.md's example runs as written, against the in-memory double (HOSTED_BACKEND)."""

from __future__ import annotations

import re
from pathlib import Path

import cli_support
import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"
PROFILE = """\
version: 1
name: apidocs
machines:
  web: {memory: 64M}
  db: {memory: 64M, state: poweroff}
"""


def test_the_api_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    [example] = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    cli_support.reset()
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:shared")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hosted.yaml").write_text(PROFILE)
    exec(compile(example, str(DOC), "exec"), {})
    out = capsys.readouterr().out
    assert "web create apidocs-web" in out
    assert "not confirmed" in out or "needs confirmation" in out or "--yes" in out
    assert cli_support.shared().list_machines() == []


def test_the_public_names_are_exported_and_typed() -> None:
    import hosted

    for name in hosted.__all__:
        assert getattr(hosted, name) is not None, name
    assert (Path(hosted.__file__).parent / "py.typed").is_file()
    assert callable(hosted.plan) and callable(hosted.status) and callable(hosted.provision)
