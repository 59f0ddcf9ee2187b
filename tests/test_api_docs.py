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


def test_the_library_never_prints_and_never_prompts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Every operation of the API, including ones that fail or need a confirmation, writes
    nothing to stdout or stderr and reads nothing from stdin: what happens arrives as events."""
    import hosted
    from hosted.errors import ConfirmationRequired, HostedError

    cli_support.reset()
    backend = cli_support.shared()
    monkeypatch.setattr("sys.stdin", None)  # a prompt would fail on it
    (tmp_path / "hosted.yaml").write_text(PROFILE, encoding="utf-8")
    events: list[object] = []
    env = hosted.load(tmp_path / "hosted.yaml")
    hosted.plan(env, backend=backend, on_event=events.append)
    refused = hosted.up(env, backend=backend, on_event=events.append)  # nothing exists: nothing to confirm
    hosted.status(env, backend=backend)
    hosted.snapshot_save(env, "s1", backend=backend, on_event=events.append)
    hosted.snapshot_list(env, backend=backend)
    hosted.halt(env, force=True, backend=backend, on_event=events.append)
    hosted.snapshot_delete(env, "s1", backend=backend, on_event=events.append)
    with pytest.raises(HostedError):
        hosted.snapshot_restore(env, "missing", yes=True, backend=backend, on_event=events.append)
    with pytest.raises(ConfirmationRequired):  # it would ask: without yes or confirm, it is refused
        hosted.destroy(env, backend=backend, on_event=events.append)
    assert len(backend.list_machines()) == 2
    hosted.destroy(env, yes=True, backend=backend, on_event=events.append)
    assert capsys.readouterr() == ("", ""), "the library printed"
    assert refused.ok and len(events) > 5
    assert backend.list_machines() == []


def test_the_package_docstring_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    import textwrap

    import hosted

    block = (hosted.__doc__ or "").split("::\n", 1)[1].split("\nSee ", 1)[0]
    cli_support.reset()
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:shared")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hosted.yaml").write_text(PROFILE, encoding="utf-8")
    exec(compile(textwrap.dedent(block), "hosted/__init__.py", "exec"), {})
    assert "'operation': 'up'" in capsys.readouterr().out
    assert {m.label for m in cli_support.shared().list_machines()} == {"web", "db"}
