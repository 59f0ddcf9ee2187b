"""The console script's cache of compiled dataclass methods (hosted.cli.codecache, issue 11)."""

from __future__ import annotations

import dataclasses
import marshal
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hosted.cli import codecache
from hosted.cli.codecache import CodeCache

SOURCE = '''
from dataclasses import dataclass, field

@dataclass(frozen=True, kw_only=True)
class Point:
    """A point."""
    x: int
    y: int = 2
    tags: tuple[str, ...] = field(default_factory=tuple)
'''


def define(cache: CodeCache | None, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The class SOURCE defines, built with ``cache`` standing in for dataclasses' compiling."""
    with monkeypatch.context() as patch:
        if cache is not None:
            patch.setattr(dataclasses, "exec", cache.exec, raising=False)
        namespace: dict[str, Any] = {}
        exec(compile(SOURCE, "points.py", "exec"), namespace)
    return namespace["Point"]


METHODS = ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__")


def private(tmp_path: Path) -> Path:
    directory = tmp_path / "code"
    directory.mkdir(mode=0o700)
    return directory / codecache.file_name()


def test_cached_methods_are_the_compiled_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = private(tmp_path)
    first = CodeCache(path)
    plain, compiled = define(None, monkeypatch), define(first, monkeypatch)
    assert first.compiled > 0
    first.save()
    second = CodeCache(path)
    cached = define(second, monkeypatch)
    assert second.compiled == 0 and second.used  # every text came from the file
    for name in METHODS:
        code = getattr(plain, name).__code__
        # Code objects compare by bytecode, constants, names, flags, line and exception tables.
        assert getattr(compiled, name).__code__ == code, name
        assert getattr(cached, name).__code__ == code, name
    a, b = cached(x=1), cached(x=1, tags=("t",))
    assert a == cached(x=1) and a != b and hash(a) == hash(cached(x=1))
    assert repr(b) == "Point(x=1, y=2, tags=('t',))"
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.x = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        cached(1)  # kw_only


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="file modes are Unix's")
def test_saved_file_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = private(tmp_path)
    cache = CodeCache(path)
    define(cache, monkeypatch)
    cache.save()
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left


@pytest.mark.parametrize("spoil", ["mode", "open-directory", "garbage", "not-a-dict", "wrong-values"])
def test_a_spoilt_file_is_an_empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spoil: str) -> None:
    path = private(tmp_path)
    seed = CodeCache(path)
    define(seed, monkeypatch)
    seed.save()
    texts = list(seed.used)
    if spoil == "mode":
        if not hasattr(os, "getuid"):
            pytest.skip("file modes are Unix's")
        path.chmod(0o644)
    elif spoil == "open-directory":
        if not hasattr(os, "getuid"):
            pytest.skip("file modes are Unix's")
        path.parent.chmod(0o777)  # anyone could have put the file there
    elif spoil == "garbage":
        path.write_bytes(b"\x00not marshal")
    elif spoil == "not-a-dict":
        path.write_bytes(marshal.dumps([1, 2, 3]))
    else:
        path.write_bytes(marshal.dumps(dict.fromkeys(texts, "print('planted')")))
    cache = CodeCache(path)
    define(cache, monkeypatch)
    assert cache.compiled == len(texts)


def test_an_overgrown_cache_keeps_only_what_the_run_used(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = private(tmp_path)
    old = {bytes([n]) * 32: compile(f"x = {n}\n", "<string>", "exec") for n in range(5)}
    path.write_bytes(marshal.dumps(old))
    path.chmod(0o600)
    monkeypatch.setattr(codecache, "MAX_ENTRIES", len(old))
    cache = CodeCache(path)
    define(cache, monkeypatch)
    cache.save()
    kept = marshal.loads(path.read_bytes())
    assert set(kept) == set(cache.used) and not set(old) & set(kept)


def test_nothing_new_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = private(tmp_path)
    seed = CodeCache(path)
    define(seed, monkeypatch)
    seed.save()
    before = path.stat().st_mtime_ns
    os.utime(path, ns=(before - 10**9, before - 10**9))
    again = CodeCache(path)
    define(again, monkeypatch)
    again.save()
    assert path.stat().st_mtime_ns == before - 10**9


def test_only_the_console_script_uses_it(tmp_path: Path) -> None:
    """``python -m hosted`` keeps the cache and uses it on the next run; ``main()`` in process
    leaves dataclasses alone."""
    profile = tmp_path / "hosted.yaml"
    profile.write_text("version: 1\nname: codecache\nmachines:\n  web: {memory: 64M}\n", encoding="utf-8")
    cache = tmp_path / "cache"
    env = {**os.environ, "HOSTED_CACHE_DIR": str(cache), "HOSTED_STATE_DIR": str(tmp_path / "state")}
    probe = ("import dataclasses, sys; from hosted.cli.main import main; code = main(sys.argv[1:]); "
             "print(code, 'exec' in vars(dataclasses))")
    done = subprocess.run([sys.executable, "-c", probe, "validate", "-f", str(profile)], env=env,
                          capture_output=True, text=True, encoding="utf-8", check=True)
    assert done.stdout.split()[-2:] == ["0", "False"]
    assert not cache.exists()

    command = [sys.executable, "-m", "hosted", "validate", "-f", str(profile)]
    subprocess.run(command, env=env, capture_output=True, check=True)
    file = cache / "code" / codecache.file_name()
    first = marshal.loads(file.read_bytes())
    assert first and all(isinstance(code, type(define.__code__)) for code in first.values())
    os.utime(file, ns=(1, 1))
    subprocess.run(command, env=env, capture_output=True, check=True)
    assert file.stat().st_mtime_ns == 1  # the second run compiled nothing new: not rewritten


def script_run(tmp_path: Path, patch: str, argv: list[str]) -> list[str]:
    """``main(argv, script=True)`` in a new process, after ``patch`` (source that may append
    words to ``seen``): its exit code, the words seen, and whether the collector is on after."""
    env = {**os.environ, "HOSTED_CACHE_DIR": str(tmp_path / "cache"), "HOSTED_STATE_DIR": str(tmp_path / "s")}
    probe = ("import dataclasses, gc, sys\nfrom hosted.cli import console, main as m\nseen = []\n" + patch
             + "code = m.main(sys.argv[1:], script=True)\nprint(code, *seen, gc.isenabled())")
    done = subprocess.run([sys.executable, "-c", probe, *argv], env=env, capture_output=True, text=True,
                          encoding="utf-8", check=True)
    return done.stdout.split()


def test_the_console_script_collects_garbage_again_once_imported(tmp_path: Path) -> None:
    """The script imports with the collector off (hosted.cli.main), then freezes what it imported
    and turns the collector back on for the command itself."""
    profile = tmp_path / "hosted.yaml"
    profile.write_text("version: 1\nname: gc\nmachines:\n  web: {memory: 64M}\n", encoding="utf-8")
    patch = ("def run_command(handler, args):\n"
             "    seen.append(f'{gc.isenabled()}/{gc.get_freeze_count() > 1000}')\n"
             "    return 0\n"
             "console.run_command = run_command\n")
    assert script_run(tmp_path, patch, ["validate", "-f", str(profile)]) == ["0", "True/True", "True"]


def test_the_command_line_is_parsed_with_the_cache_and_without_the_collector(tmp_path: Path) -> None:
    """argparse's first formatter defines dataclasses of its own on Python 3.14 (_colorize's
    themes): the script parses with the cache installed and the collector off, and turns the
    collector back on when the command line is refused too."""
    patch = ("parse = m.parse\n"
             "def probe(words):\n"
             "    seen.append(f\"{'exec' in vars(dataclasses)}/{gc.isenabled()}\")\n"
             "    return parse(words)\n"
             "m.parse = probe\n")
    for argv, code in ((["--version"], "0"), (["status", "--no-such-option"], "2")):
        assert script_run(tmp_path, patch, argv)[-3:] == [code, "True/False", "True"], argv


def test_a_refused_command_leaves_no_cache(tmp_path: Path) -> None:
    bad = tmp_path / "hosted.yaml"
    bad.write_text("version: 1\nname: x\nmachines:\n  web:\n    memroy: 512\n", encoding="utf-8")
    cache = tmp_path / "cache"
    env = {**os.environ, "HOSTED_CACHE_DIR": str(cache), "HOSTED_STATE_DIR": str(tmp_path / "state")}
    done = subprocess.run([sys.executable, "-m", "hosted", "validate", "-f", str(bad)], env=env,
                          capture_output=True, check=False)
    assert done.returncode == 2
    assert not cache.exists()
