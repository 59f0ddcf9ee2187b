"""The image cache used by several threads (``hosted up`` works on machines in parallel)
and by several processes at once: no write is lost, no temporary file is shared."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from imagekit import serving, sha, vdi, write

from hosted.events import Recorder, discard
from hosted.images import digest, store
from hosted.images.prepared import PreparedImage
from hosted.images.resolve import from_cache
from hosted.model import ImageSpec

DATA = vdi(1024 * 1024)


def in_threads(count: int, work: Callable[[int], None]) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(n: int) -> None:
        start.wait()
        try:
            work(n)
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_threads_recording_one_entry_never_collide() -> None:
    def work(n: int) -> None:
        for i in range(50):
            store.record("ab" * 32, name=f"t{n}-{i}")

    assert in_threads(8, work) == []
    entry = store.read("ab" * 32)
    assert entry is not None and entry.name.endswith("-49")
    leftovers = [p.name for p in store.entry_dir("ab" * 32).iterdir() if p.name != store.META]
    assert leftovers == [], "temporary files left behind"


def test_threads_hashing_files_lose_no_remembered_digest(tmp_path: Path) -> None:
    files = [tmp_path / f"f{n}-{i}" for n in range(8) for i in range(15)]
    for f in files:
        f.write_bytes(f.name.encode())

    def work(n: int) -> None:
        for f in files[n * 15:(n + 1) * 15]:
            digest.sha256_of(f)

    assert in_threads(8, work) == []
    known = json.loads((store.images_root() / "hashes.json").read_text())
    assert sorted(known) == sorted(str(f.absolute()) for f in files)


def test_two_processes_hashing_files_lose_no_remembered_digest(tmp_path: Path) -> None:
    files = [tmp_path / f"p{n}-{i}" for n in range(2) for i in range(40)]
    for f in files:
        f.write_bytes(f.name.encode())
    script = ("import sys; from pathlib import Path; from hosted.images import digest\n"
              "for name in sys.argv[1:]: digest.sha256_of(Path(name))\n")
    procs = [subprocess.Popen([sys.executable, "-c", script, *map(str, files[n * 40:(n + 1) * 40])])
             for n in range(2)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    known = json.loads((store.images_root() / "hashes.json").read_text())
    assert sorted(known) == sorted(str(f.absolute()) for f in files)


def test_machines_of_one_url_image_share_one_download() -> None:
    with serving({"/deb.vdi": DATA}) as server:
        server.chunk_delay = 0.02  # 16 chunks: the threads overlap
        image = ImageSpec(name="deb", source=server.url("/deb.vdi"), sha256=sha(DATA))
        got: list[PreparedImage] = []
        events = Recorder()
        assert in_threads(3, lambda n: got.append(from_cache(image, events))) == []
    assert server.ranges("/deb.vdi") == [None], "one download"
    assert len([m for m in events.messages("info") if "waiting for another machine" in m]) == 2
    assert len(got) == 3 and len({t.path for t in got}) == 1
    assert Path(got[0].path).read_bytes() == DATA


def test_a_local_image_is_hashed_once_by_parallel_machines(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "deb.vdi", DATA)
    hashed: list[Path] = []
    real = digest.sha256_file

    def counting(file: Path, *args: object, **kw: object) -> str:
        hashed.append(file)
        return real(file, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(digest, "sha256_file", counting)
    image = ImageSpec(name="deb", source=str(path))
    assert in_threads(4, lambda n: from_cache(image, discard)) == []
    assert hashed == [path]


def test_two_processes_fetching_one_url_share_one_download() -> None:
    script = ("import sys; from hosted.images import fetch; from hosted.model import ImageSpec\n"
              "image = ImageSpec(name='deb', source=sys.argv[1], sha256=sys.argv[2])\n"
              "print(fetch(image, lambda e: print(e.message) if e.kind == 'info' else None).path)\n")
    with serving({"/deb.vdi": DATA}) as server:
        server.chunk_delay = 0.06  # about a second: the second process starts meanwhile
        procs = [subprocess.Popen([sys.executable, "-c", script, server.url("/deb.vdi"), sha(DATA)],
                                  stdout=subprocess.PIPE, text=True) for _ in range(2)]
        outs = [p.communicate(timeout=60)[0].strip().splitlines() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outs[0][-1] == outs[1][-1] and Path(outs[0][-1]).read_bytes() == DATA
    assert sum("waiting for another download of image deb" in line for out in outs for line in out) == 1
    assert server.ranges("/deb.vdi") == [None], "one download"
