"""A workshop installed from one bundle file with no network, on real
VirtualBox: the image is served over HTTP once for `hosted bundle`, then the
server is gone, the cache is empty, and `hosted up -f FILE.bundle` makes three
linked clones of one template; prune then removes the unused template."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from contract.images_support import export_machine
from vbox_fixtures import make_virtualbox_backend

from hosted.cli.main import main

pytestmark = pytest.mark.vbox


@pytest.fixture
def served_ova(tmp_path: Path) -> Iterator[tuple[str, str, http.server.HTTPServer]]:
    backend = make_virtualbox_backend()
    ova = tmp_path / "www" / "base.ova"
    ova.parent.mkdir()
    export_machine(backend._ctx, f"src-{uuid.uuid4().hex[:8]}", ova, tmp_path)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(ova.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/base.ova"
    yield url, hashlib.sha256(ova.read_bytes()).hexdigest(), server
    server.shutdown()


def test_bundle_then_up_offline_makes_linked_clones(
    served_ova: tuple[str, str, http.server.HTTPServer], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    url, digest, server = served_ova
    env = f"wk{uuid.uuid4().hex[:6]}"
    machines = "".join(f"  {n}: {{image: base}}\n" for n in ("a", "b", "c"))
    profile = tmp_path / "hosted.yaml"
    profile.write_text(
        f"version: 1\nname: {env}\nimages:\n  base: {{source: '{url}', sha256: {digest}}}\n"
        "defaults:\n  state: poweroff\n  memory: 32M\n"
        "  nics: [{nat: {forwards: [{name: ssh, guest: 22, host: auto}]}}]\n"
        f"machines:\n{machines}")
    bundle = tmp_path / "workshop.bundle"
    assert main(["bundle", "-f", str(profile), "-o", str(bundle)]) == 0

    # The conference Wi-Fi is down: no server, an empty cache, and any
    # attempt to open a URL fails the test.
    server.shutdown()
    monkeypatch.setenv("HOSTED_CACHE_DIR", str(tmp_path / "fresh-cache" / "hosted"))

    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network used: {args!r}")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setattr(urllib.request.OpenerDirector, "open", no_network)
    capsys.readouterr()
    f = ["-f", str(bundle)]
    try:
        assert main(["up", *f, "--yes"]) == 0
        capsys.readouterr()
        assert main(["status", *f, "--json"]) == 0
        rows = json.loads(capsys.readouterr().out)["machines"]
        assert sorted(r["machine"] for r in rows) == ["a", "b", "c"]
        assert all(r["exists"] and r["drift"] == [] for r in rows)
        ports = {r["forwards"][0]["host"] for r in rows}
        assert len(ports) == 3  # every auto forward got its own port

        backend = make_virtualbox_backend()
        [template] = [t for t in backend.list_templates() if t.digest == digest]
        assert len(template.users) == 3
    finally:
        assert main(["destroy", *f, "--yes"]) == 0
    capsys.readouterr()
    # With the profile named, its image's template is kept; without, unused ones go.
    assert main(["images", "prune", "--yes", *f]) == 0
    assert digest in {t.digest for t in make_virtualbox_backend().list_templates()}
    profile.unlink()
    monkeypatch.chdir(tmp_path / "www")  # no hosted.yaml here, nor above
    assert main(["images", "prune", "--all", "--yes"]) == 0
    assert "removed unused template" in capsys.readouterr().out
    assert digest not in {t.digest for t in make_virtualbox_backend().list_templates()}
