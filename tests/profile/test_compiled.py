"""The compiled-profile cache (hosted.profile.compiled): a hit only while nothing the load read has
changed, a miss that gives the errors of a fresh load, and entries no one else can plant."""

from __future__ import annotations

import os
import pickle
import stat
import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

from hosted.errors import ProfileError
from hosted.model import Environment
from hosted.profile import compiled, load_profile

PROFILE = """\
version: 1
name: cached
include: common.yaml
machines:
  web:
    memory: ${WEB_MEMORY:-128M}
    cpus: ${WEB_CPUS}
    shared_folders:
      - {host: ./src, guest: /srv/src}
    provision:
      - shell: {script: setup.sh}
  db: {}
"""
COMMON = "defaults:\n  memory: 64M\n  nics: [{nat: {}}]\n"


class Loads:
    """Counts the real (uncached) loads the cache makes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = compiled._load

        def counted(file: str, raw: bytes, environ: Mapping[str, str]) -> Environment:
            self.count += 1
            return real(file, raw, environ)

        monkeypatch.setattr(compiled, "_load", counted)

    def hit(self, profile: Path, environ: Mapping[str, str]) -> bool:
        before = self.count
        cached = load_profile(profile, environ, cache=True)
        assert cached == load_profile(profile, environ), "the cache gives what a fresh load gives"
        return self.count == before


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOSTED_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("HOSTED_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "state" / compiled.DIRECTORY


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch, state: Path) -> Loads:
    return Loads(monkeypatch)


@pytest.fixture
def profile(profile_dir: Path) -> Path:
    (profile_dir / "common.yaml").write_text(COMMON, encoding="utf-8")
    path = profile_dir / "hosted.yaml"
    path.write_text(PROFILE, encoding="utf-8")
    return path


ENV = {"WEB_CPUS": "2"}


def entries(state: Path) -> list[Path]:
    return sorted(p for p in state.iterdir() if not p.name.startswith("."))


def test_a_hit_equals_a_fresh_load_with_include_and_variables(profile: Path, loads: Loads,
                                                              state: Path) -> None:
    assert not loads.hit(profile, ENV)
    assert loads.hit(profile, ENV)
    assert loads.count == 1
    env = load_profile(profile, ENV, cache=True)
    web = env.machine("web")
    assert web is not None and web.cpus == 2 and web.memory_mb == 128
    assert env.includes == (str(profile.parent / "common.yaml"),)
    [entry] = entries(state)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.stat().st_mode) == 0o700


def test_changed_bytes_miss(profile: Path, loads: Loads) -> None:
    loads.hit(profile, ENV)
    profile.write_text(PROFILE.replace("db: {}", "db: {cpus: 1}"), encoding="utf-8")
    assert not loads.hit(profile, ENV)
    assert loads.hit(profile, ENV)


def test_a_changed_included_file_misses(profile: Path, loads: Loads) -> None:
    loads.hit(profile, ENV)
    (profile.parent / "common.yaml").write_text(COMMON.replace("64M", "96M"), encoding="utf-8")
    assert not loads.hit(profile, ENV)
    assert load_profile(profile, ENV, cache=True).machine("db").memory_mb == 96  # type: ignore[union-attr]
    (profile.parent / "common.yaml").unlink()
    with pytest.raises(ProfileError, match=r"common\.yaml does not exist"):
        load_profile(profile, ENV, cache=True)


@pytest.mark.parametrize("changed", [
    {"WEB_CPUS": "3"},  # another value
    {"WEB_CPUS": "2", "WEB_MEMORY": "256M"},  # set where the default was used
    {"WEB_CPUS": "2", "WEB_MEMORY": ""},  # set but empty: the default still applies, yet it was unset
])
def test_a_changed_variable_misses(profile: Path, loads: Loads, changed: dict[str, str]) -> None:
    loads.hit(profile, ENV)
    assert not loads.hit(profile, changed)
    assert loads.hit(profile, changed)
    assert not loads.hit(profile, ENV)


def test_an_unset_variable_is_a_miss_with_the_fresh_error(profile: Path, loads: Loads, state: Path) -> None:
    loads.hit(profile, ENV)
    with pytest.raises(ProfileError) as cached:
        load_profile(profile, {}, cache=True)
    with pytest.raises(ProfileError) as fresh:
        load_profile(profile, {})
    assert str(cached.value) == str(fresh.value) and "WEB_CPUS is not set" in str(cached.value)


def test_variables_the_profile_does_not_use_do_not_matter(profile: Path, loads: Loads) -> None:
    loads.hit(profile, ENV)
    assert loads.hit(profile, {**ENV, "UNRELATED": "x"})


def test_a_changed_path_kind_misses_and_gives_the_fresh_error(profile: Path, loads: Loads) -> None:
    loads.hit(profile, ENV)
    setup = profile.parent / "setup.sh"
    setup.unlink()
    setup.mkdir()
    with pytest.raises(ProfileError) as cached:
        load_profile(profile, ENV, cache=True)
    with pytest.raises(ProfileError) as fresh:
        load_profile(profile, ENV)
    assert "is not a file" in str(cached.value)
    assert (cached.value.file, cached.value.line, cached.value.key, str(cached.value)) == (
        fresh.value.file, fresh.value.line, fresh.value.key, str(fresh.value))


def test_a_symlink_turned_to_the_credentials_misses(profile_dir: Path, loads: Loads,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    home = profile_dir / "home"
    (home / ".ssh").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    (profile_dir / "data").symlink_to(profile_dir / "src")
    path = profile_dir / "hosted.yaml"
    path.write_text(textwrap.dedent("""\
        version: 1
        name: linked
        machines:
          web:
            shared_folders: [{host: ./data, guest: /data}]
        """), encoding="utf-8")
    loads.hit(path, {})
    assert loads.hit(path, {})
    (profile_dir / "data").unlink()
    (profile_dir / "data").symlink_to(home / ".ssh")  # still a directory, now the user's keys
    with pytest.raises(ProfileError, match="credentials directory"):
        load_profile(path, {}, cache=True)


def test_another_hosted_version_or_code_misses(profile: Path, loads: Loads,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    loads.hit(profile, ENV)
    monkeypatch.setattr(compiled, "__version__", "99.0")
    assert not loads.hit(profile, ENV)
    assert loads.hit(profile, ENV)
    stamp = compiled._code_stamp()
    monkeypatch.setattr(compiled, "_code_stamp", lambda: stamp + "\nedited")
    assert not loads.hit(profile, ENV)


def test_the_code_stamp_follows_the_profile_code() -> None:
    stamp = compiled._code_stamp()
    for name in ("profile/schema.py", "profile/compiled.py", "/model.py", "yaml/__init__.py"):
        assert name in stamp.replace(os.sep, "/")


def test_another_home_misses(profile: Path, loads: Loads, monkeypatch: pytest.MonkeyPatch) -> None:
    loads.hit(profile, ENV)
    monkeypatch.setenv("HOME", str(profile.parent))
    assert not loads.hit(profile, ENV)


def test_a_corrupt_entry_is_a_miss_and_is_replaced(profile: Path, loads: Loads, state: Path) -> None:
    loads.hit(profile, ENV)
    [entry] = entries(state)
    for junk in (b"", b"not a pickle", entry.read_bytes()[:40], pickle.dumps({"format": 1})):
        entry.write_bytes(junk)
        assert not loads.hit(profile, ENV)
        assert loads.hit(profile, ENV)


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX modes and owners")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o700, 0o400])
def test_an_entry_with_another_mode_is_never_unpickled(profile: Path, loads: Loads, state: Path,
                                                       monkeypatch: pytest.MonkeyPatch, mode: int) -> None:
    loads.hit(profile, ENV)
    [entry] = entries(state)
    entry.chmod(mode)
    monkeypatch.setattr(compiled.pickle, "loads", lambda data: pytest.fail("unpickled"))
    assert compiled.lookup(entry, entry.name, ENV) is None


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX owners")
def test_an_entry_of_another_user_is_never_unpickled(profile: Path, loads: Loads, state: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    loads.hit(profile, ENV)
    [entry] = entries(state)
    uid = os.getuid()
    monkeypatch.setattr(compiled.pickle, "loads", lambda data: pytest.fail("unpickled"))
    monkeypatch.setattr(compiled.os, "getuid", lambda: uid + 1)
    assert compiled.lookup(entry, entry.name, ENV) is None


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX symlinks and owners")
def test_a_planted_entry_is_a_miss_and_never_unpickled(profile: Path, loads: Loads, state: Path,
                                                       tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    loads.hit(profile, ENV)
    [entry] = entries(state)
    planted = tmp_path / "planted"
    planted.write_bytes(entry.read_bytes())
    planted.chmod(0o600)
    entry.unlink()
    entry.symlink_to(planted)  # a symlink to a file that would pass
    monkeypatch.setattr(compiled.pickle, "loads", lambda data: pytest.fail("unpickled"))
    assert compiled.lookup(entry, entry.name, ENV) is None


def test_a_directory_others_can_write_is_no_cache(profile: Path, loads: Loads, state: Path) -> None:
    loads.hit(profile, ENV)
    state.chmod(0o777)
    try:
        assert not loads.hit(profile, ENV)
        assert not loads.hit(profile, ENV)  # never an error, and never read
    finally:
        state.chmod(0o700)


def test_errors_on_a_miss_are_those_of_a_fresh_load_and_are_not_cached(write: Path, loads: Loads,
                                                                       state: Path) -> None:
    path = write("version: 1\nname: bad\nmachines:\n  web:\n    memory: lots\n")  # type: ignore[operator]
    for _ in range(2):
        with pytest.raises(ProfileError) as cached:
            load_profile(path, {}, cache=True)
        with pytest.raises(ProfileError) as fresh:
            load_profile(path, {})
        assert [(p.file, p.line, p.column, p.key, p.reason, p.hint) for p in cached.value.problems] == [
            (p.file, p.line, p.column, p.key, p.reason, p.hint) for p in fresh.value.problems]
        assert cached.value.key == "machines.web.memory"
    assert loads.count == 2
    assert not state.exists() or entries(state) == []


def test_a_missing_profile_errs_as_before(tmp_path: Path, state: Path) -> None:
    with pytest.raises(ProfileError) as cached:
        load_profile(tmp_path / "nothing.yaml", {}, cache=True)
    with pytest.raises(ProfileError) as fresh:
        load_profile(tmp_path / "nothing.yaml", {})
    assert str(cached.value) == str(fresh.value)


def test_a_bundle_profile_is_never_cached(loads: Loads, state: Path, tmp_path: Path) -> None:
    extracted = tmp_path / "cache" / "bundles" / ("0" * 32) / "profile"
    extracted.mkdir(parents=True)
    (extracted / "src").mkdir()
    path = extracted / "hosted.yaml"
    path.write_text("version: 1\nname: bundled\nmachines:\n  web: {}\n", encoding="utf-8")
    assert compiled.from_bundle(str(path))
    assert not loads.hit(path, {})
    assert not loads.hit(path, {})
    assert not state.exists() or entries(state) == []


def test_prune_keeps_the_most_recently_used(tmp_path: Path) -> None:
    for i in range(compiled.MAX_ENTRIES + 6):
        entry = tmp_path / f"{i:064x}"
        entry.write_bytes(b"x")
        os.utime(entry, ns=(i * 10**9, i * 10**9))
    compiled.prune(tmp_path)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert len(left) == compiled.MAX_ENTRIES
    assert left[0] == f"{6:064x}"


def test_validate_bypasses_the_cache_and_plan_uses_it(profile: Path, state: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import cli_support

    from hosted.cli.main import main

    cli_support.reset()
    monkeypatch.setenv("WEB_CPUS", "2")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("HOSTED_BACKEND", "cli_support:shared")
    assert main(["validate", "-f", str(profile)]) == 0
    assert not state.exists() or entries(state) == []
    assert main(["plan", "-f", str(profile)]) == 0
    assert len(entries(state)) == 1
