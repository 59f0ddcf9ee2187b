"""Redirected output and text files on Windows (issue 16, 3), on this machine.

Output redirected on Windows is encoded as cp1252: ``PYTHONIOENCODING=cp1252`` gives a
subprocess the same streams.  Text files are read and written in the locale's encoding when
none is given (cp1252 there): ``-X warn_default_encoding`` makes every such call warn, and
the tests make hosted's warnings errors.  known_hosts must not get Windows' "\\r\\n": the pure
Python io module, with ``os.linesep`` as Windows has it, writes text files as Windows does.
"""

from __future__ import annotations

import _pyio
import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from rich.console import Console

from hosted.cli.console import glyph
from hosted.ssh import hostkeys

ROOT = Path(__file__).resolve().parents[1]
BLOB = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


def run_cp1252(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[bytes]:
    """``args`` with output redirected as on Windows: encoded as cp1252, strictly."""
    env = {**os.environ, "PYTHONIOENCODING": "cp1252", "NO_COLOR": "1", "COLUMNS": "120",
           "HOSTED_STATE_DIR": str(tmp_path / "state")}
    env.pop("HOSTED_BACKEND", None)
    return subprocess.run([sys.executable, *args], capture_output=True, env=env, cwd=ROOT, timeout=120,
                          check=False)


def test_doctor_redirected_to_a_cp1252_file_says_what_it_found(tmp_path: Path) -> None:
    proc = run_cp1252("-m", "hosted", "doctor", tmp_path=tmp_path)
    out, err = proc.stdout.decode("cp1252"), proc.stderr.decode("cp1252")
    assert "internal error" not in out + err and "UnicodeEncodeError" not in out + err
    assert proc.returncode in (0, 3), (proc.returncode, out, err)
    lines = [ln for ln in out.splitlines() if ln and not ln.startswith(" ")]
    assert any(ln.startswith(("+ ", "x ")) for ln in lines), out
    assert "ssh:" in out


def test_guest_output_in_a_cp1252_stream_is_shown_not_fatal(tmp_path: Path) -> None:
    script = textwrap.dedent("""\
        from hosted.cli.console import EventPrinter
        from hosted.events import Event
        EventPrinter()(Event("output", "naïve ✓ 日本語 done", machine="web"))
        print("after")
    """)
    proc = run_cp1252("-c", script, tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode("cp1252")
    assert proc.stdout.decode("cp1252").splitlines() == ["web naïve ? ??? done", "after"]


def test_marks_have_plain_stand_ins_where_the_output_cannot_show_them() -> None:
    cp1252 = Console(file=io.TextIOWrapper(io.BytesIO(), encoding="cp1252"))
    utf8 = Console(file=io.TextIOWrapper(io.BytesIO(), encoding="utf-8"))
    assert [glyph(c, p, cp1252) for c, p in (("✓", "+"), ("✗", "x"), ("◀", "<"))] == ["+", "x", "<"]
    assert [glyph(c, p, utf8) for c, p in (("✓", "+"), ("✗", "x"), ("◀", "<"))] == ["✓", "✗", "◀"]


def test_text_files_are_read_and_written_with_an_explicit_encoding(tmp_path: Path) -> None:
    """Every file hosted reads or writes as text names its encoding; a default would be cp1252
    on Windows (logs decoded wrongly, or a UnicodeDecodeError on a byte cp1252 lacks)."""
    script = textwrap.dedent(f"""\
        import warnings
        from pathlib import Path
        warnings.simplefilter("error", EncodingWarning)
        from hosted import paths
        from hosted.ports import PortAllocator
        from hosted.run.lock import environment_lock
        from hosted.ssh import hostkeys
        root = Path({str(tmp_path)!r})
        pins = root / "known_hosts"
        hostkeys.pin_host_keys(pins, "lab-web", ["ssh-ed25519 {BLOB} c"])
        assert hostkeys.read_pins(pins, "lab-web")
        hostkeys.forget_host_key(pins, "lab-web")
        allocator = PortAllocator(state_dir=root / "state")
        allocator.allocate("127.0.0.1", set())
        allocator.allocate("127.0.0.1", set())
        with environment_lock("lab", "up", lambda e: None):
            pass
        with paths.open_private(root / "log") as fh:
            fh.write("ok")
        print("no EncodingWarning")
    """)
    env = {**os.environ, "HOSTED_STATE_DIR": str(tmp_path / "hs"), "HOSTED_DATA_DIR": str(tmp_path / "hd")}
    proc = subprocess.run([sys.executable, "-X", "warn_default_encoding", "-c", script], capture_output=True,
                          text=True, encoding="utf-8", env=env, cwd=ROOT, timeout=60, check=False)
    assert proc.returncode == 0 and "no EncodingWarning" in proc.stdout, proc.stderr[-2000:]


def test_known_hosts_gets_lf_line_ends_where_text_files_get_crlf(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "linesep", "\r\n")  # _pyio's text files then end lines as on Windows
    monkeypatch.setattr(hostkeys, "open", _pyio.open, raising=False)
    monkeypatch.setattr(Path, "open", lambda self, *a, **k: _pyio.open(self, *a, **k))
    pins = tmp_path / "known_hosts"
    hostkeys.pin_host_keys(pins, "lab-web", [f"ssh-ed25519 {BLOB}"])
    hostkeys.pin_host_keys(pins, "lab-db", [f"ssh-ed25519 {BLOB}"])
    hostkeys.forget_host_key(pins, "lab-db")
    hostkeys.pin_host_keys(pins, "lab-db", [f"ssh-ed25519 {BLOB}"])
    data = pins.read_bytes()
    assert b"\r" not in data and data.count(b"\n") == 2, data
    assert [p.key_type for p in hostkeys.read_pins(pins, "lab-web")] == ["ssh-ed25519"]
