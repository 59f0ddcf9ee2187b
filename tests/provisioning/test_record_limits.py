"""Defects 5 and 6: the run-once fingerprint streams files and never reads a FIFO or a device;
the provisioning log is readable by its owner only and never written through a link."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hosted.errors import ProvisionError
from hosted.model import ProvisionStep
from hosted.provisioning import record, step_fingerprint


def copy_step(source: Path) -> ProvisionStep:
    return ProvisionStep(kind="file", name="data", source=str(source), destination="/data")


def test_a_large_file_is_hashed_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "big.img"
    with open(big, "wb") as fh:
        fh.truncate(3 * record.CHUNK + 17)  # sparse: cheap to make, read like any file

    def whole_file(self: Path) -> bytes:
        raise MemoryError("a 3 GB source would be read into memory at once")

    monkeypatch.setattr(Path, "read_bytes", whole_file)
    reads: list[int] = []
    real_open = open

    class Counting:
        def __init__(self, path: Path, mode: str) -> None:
            self.fh = real_open(path, mode)

        def __enter__(self) -> Counting:
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

        def fileno(self) -> int:
            return self.fh.fileno()

        def read(self, size: int = -1) -> bytes:
            assert 0 < size <= record.CHUNK, "reads are bounded"
            data = self.fh.read(size)
            reads.append(len(data))
            return bytes(data)

    monkeypatch.setattr(record, "open", Counting, raising=False)
    first = step_fingerprint(copy_step(big))
    assert max(reads) <= record.CHUNK and sum(reads) == 3 * record.CHUNK + 17
    monkeypatch.undo()
    assert step_fingerprint(copy_step(big)) == first, "the same digest as reading it whole"


def test_the_fingerprint_follows_the_content(tmp_path: Path) -> None:
    directory = tmp_path / "conf"
    (directory / "sub").mkdir(parents=True)
    (directory / "a").write_text("1")
    (directory / "sub" / "b").write_text("2")
    before = step_fingerprint(copy_step(directory))
    (directory / "sub" / "b").write_text("3")
    assert step_fingerprint(copy_step(directory)) != before


def test_a_fifo_in_a_copied_directory_is_refused_not_read(tmp_path: Path) -> None:
    directory = tmp_path / "conf"
    directory.mkdir()
    os.mkfifo(directory / "pipe")  # reading it would block forever
    with pytest.raises(ProvisionError) as info:
        step_fingerprint(copy_step(directory))
    assert "not a regular file" in info.value.message and "pipe" in info.value.message


def test_a_device_as_the_source_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProvisionError, match="not a regular file"):
        step_fingerprint(copy_step(Path("/dev/zero")))


def test_links_to_directories_are_not_followed(tmp_path: Path) -> None:
    directory = tmp_path / "conf"
    directory.mkdir()
    (directory / "a").write_text("1")
    (directory / "loop").symlink_to(directory)  # would recurse forever if followed
    assert len(step_fingerprint(copy_step(directory))) == 16


def _provision(tmp_path: Path, log: Path) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    from hosted.provisioning.runner import _open_log

    with _open_log("env/web", log) as fh:
        fh.write("secret output\n")


def test_the_provisioning_log_is_private(tmp_path: Path) -> None:
    log = tmp_path / "data" / "provision.log"
    old = os.umask(0o022)
    try:
        _provision(tmp_path, log)
    finally:
        os.umask(old)
    assert log.stat().st_mode & 0o777 == 0o600


def test_the_provisioning_log_is_never_written_through_a_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    log = tmp_path / "data" / "provision.log"
    log.parent.mkdir()
    log.symlink_to(victim)
    with pytest.raises(ProvisionError, match="provisioning log"):
        _provision(tmp_path, log)
    assert victim.read_text() == "precious"
