"""Key pairs and host-key pin files (pure: no server)."""

from __future__ import annotations

import contextlib
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hosted import paths
from hosted.errors import HostKeyMismatch, SshError
from hosted.model import SshSpec
from hosted.ssh import (
    client_key,
    ensure_keypair,
    fingerprint,
    forget_host_key,
    keys,
    pin_host_keys,
    read_pins,
)
from hosted.ssh.commands import OutputCollector, wrap_command
from hosted.ssh.hostkeys import check_host_key, host_key_algorithms
from hosted.ssh.keys import load_private_key

ED = "AAAAC3NzaC1lZDI1NTE5AAAAIHqSAuTqvB1R6P+XLqu9U2r2Zy7JsO7IVfBfTFWbcU2b"


def test_keypair_generated_once_with_private_mode() -> None:
    key = ensure_keypair("keys-env")
    assert key == paths.environment_dir("keys-env") / "ssh" / "id_ed25519"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    public = key.with_name("id_ed25519.pub").read_text().split()
    assert public[0] == "ssh-ed25519" and public[2] == "hosted-keys-env"
    assert load_private_key(key).get_base64() == public[1]
    before = key.read_bytes()
    assert ensure_keypair("keys-env") == key and key.read_bytes() == before
    assert ensure_keypair("other-env") != key


def test_client_key_is_the_machines_own_or_the_environments(tmp_path: Path) -> None:
    assert client_key("ck-env", SshSpec()) == ensure_keypair("ck-env")
    own = tmp_path / "own_key"
    assert client_key("ck-env", SshSpec(private_key=str(own))) == own


def test_unreadable_key_is_a_named_error(tmp_path: Path) -> None:
    (tmp_path / "bad").write_text("not a key")
    with pytest.raises(SshError, match="cannot read SSH private key"):
        load_private_key(tmp_path / "bad")


def test_pins_per_alias(tmp_path: Path) -> None:
    known = tmp_path / "kh"
    lines = [f"ssh-ed25519 {ED} root@guest", "", "# comment", f"[127.0.0.1]:22 ssh-rsa {ED}"]
    assert pin_host_keys(known, "hosted-a", lines) == 2
    assert pin_host_keys(known, "hosted-a", lines) == 0
    assert pin_host_keys(known, "hosted-b", lines[:1]) == 1
    assert [p.key_type for p in read_pins(known, "hosted-a")] == ["ssh-ed25519", "ssh-rsa"]
    assert forget_host_key(known, "hosted-a") == 2
    assert read_pins(known, "hosted-a") == [] and len(read_pins(known, "hosted-b")) == 1
    assert forget_host_key(known) == 1 and known.read_text() == ""
    assert forget_host_key(tmp_path / "missing") == 0
    with pytest.raises(SshError, match="not an SSH public key"):
        pin_host_keys(known, "hosted-a", ["garbage"])


def test_fingerprint_like_openssh() -> None:
    assert fingerprint(ED).startswith("SHA256:") and not fingerprint(ED).endswith("=")


def test_pinned_types_are_preferred() -> None:
    pins = read_pins_from([f"ssh-rsa {ED}"])
    supported = ("ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256")
    assert host_key_algorithms(pins, supported) == (
        "rsa-sha2-512", "rsa-sha2-256", "ssh-ed25519", "ecdsa-sha2-nistp256")
    assert host_key_algorithms([], supported) == supported


def test_check_host_key_pins_then_refuses(tmp_path: Path) -> None:
    first = load_private_key(ensure_keypair("hk-1"))
    second = load_private_key(ensure_keypair("hk-2"))
    known = tmp_path / "machine" / "known_hosts"
    check_host_key(known, "hosted-m", first, "env/m")
    check_host_key(known, "hosted-m", first, "env/m")
    with pytest.raises(HostKeyMismatch, match="host key of env/m changed") as err:
        check_host_key(known, "hosted-m", second, "env/m")
    assert first.fingerprint in err.value.message and second.fingerprint in err.value.message


def test_wrap_command() -> None:
    assert wrap_command("id", {}, False, "root") == "sh -c 'exec 2>&1\nid'"
    wrapped = wrap_command("id", {"A": "x y"}, True, "root")
    assert wrapped == "sh -c 'exec 2>&1\nexport A='\"'\"'x y'\"'\"'\nid'"
    assert wrap_command("id", {}, True, "vagrant").startswith("sudo -n -- sh -c ")
    with pytest.raises(ValueError):
        wrap_command("id", {"BAD-NAME": "1"}, False, "root")


def test_output_collector_splits_lines_across_chunks() -> None:
    seen: list[str] = []
    out = OutputCollector(seen.append, keep=2)
    for chunk in (b"one\r\ntw", b"o\nthr", b"ee \xff"):
        out.feed(chunk)
    out.finish()
    assert seen == ["one", "two", "three \ufffd"]
    assert out.tail() == "two\nthree \ufffd"


def read_pins_from(lines: list[str]) -> list:  # type: ignore[type-arg]
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        known = Path(tmp) / "kh"
        pin_host_keys(known, "x", lines)
        return read_pins(known, "x")


@pytest.mark.parametrize("locked", [True, False], ids=["threads", "processes"])
def test_keypair_creation_is_safe_across_threads(locked: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """`hosted up` brings machines up in threads; on a fresh environment they
    all create the key pair at once and each must get one complete pair.
    Without the lock, the threads race as separate runs would."""
    if not locked:
        monkeypatch.setattr(keys, "_LOCK", contextlib.nullcontext())
    for trial in range(20):
        env = f"threads-{locked}-{trial}"
        barrier = threading.Barrier(6)

        def create(env: str = env, barrier: threading.Barrier = barrier) -> tuple[Path, str, str]:
            barrier.wait()
            key = ensure_keypair(env)
            public = key.with_name("id_ed25519.pub").read_text().split()[1]
            return key, load_private_key(key).get_base64(), public

        with ThreadPoolExecutor(6) as pool:
            results = list(pool.map(lambda _: create(), range(6)))
        assert len({r[0] for r in results}) == 1
        assert len({r[1] for r in results} | {r[2] for r in results}) == 1
        directory = results[0][0].parent
        assert sorted(p.name for p in directory.iterdir()) == ["id_ed25519", "id_ed25519.pub"]


def test_keypair_in_an_unwritable_place_is_a_named_error() -> None:
    paths.environment_dir("keys-blocked").mkdir(parents=True)
    (paths.environment_dir("keys-blocked") / "ssh").write_text("a file, not a directory")
    with pytest.raises(SshError, match="cannot create the SSH key pair") as err:
        ensure_keypair("keys-blocked")
    assert str(paths.environment_dir("keys-blocked") / "ssh") in err.value.hint


def test_pin_file_that_cannot_be_written_is_an_ssh_error(tmp_path: Path) -> None:
    (tmp_path / "machine").write_text("a file, not a directory")
    known = tmp_path / "machine" / "known_hosts"
    key = load_private_key(ensure_keypair("hk-1"))
    with pytest.raises(SshError, match="cannot pin the host key") as err:
        check_host_key(known, "hosted-m", key, "env/m")
    assert str(known) in err.value.message + err.value.hint
    with pytest.raises(SshError, match="cannot pin the host key"):
        pin_host_keys(known, "hosted-m", [f"ssh-ed25519 {ED}"])


def test_pin_file_that_cannot_be_read_is_an_ssh_error(tmp_path: Path) -> None:
    (tmp_path / "known_hosts").mkdir()
    with pytest.raises(SshError, match="cannot read the host-key pins"):
        read_pins(tmp_path / "known_hosts", "hosted-m")
