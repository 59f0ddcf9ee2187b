"""HTTPS downloads verify against the operating system's certificates (issue 16, 9):
python.org's macOS Python has no certificates of its own until its "Install Certificates"
step is run, so urllib's default context refuses every https:// image there."""

from __future__ import annotations

import ssl
import urllib.request

import pytest
import truststore

from hosted.images import checksums, download


def test_downloads_use_the_systems_certificates() -> None:
    context = download.tls_context()
    assert isinstance(context, truststore.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_images_and_checksum_files_are_fetched_through_that_context(monkeypatch: pytest.MonkeyPatch) -> None:
    used: list[object] = []

    class Opened(Exception):
        pass

    def opening(self: urllib.request.OpenerDirector, request: object, timeout: float = 0) -> None:
        https = [h for h in self.handlers if isinstance(h, urllib.request.HTTPSHandler)]
        used.append(https[0]._context if https else None)  # type: ignore[attr-defined]
        raise Opened

    monkeypatch.setattr(urllib.request.OpenerDirector, "open", opening)
    with pytest.raises(Opened):
        download._open(urllib.request.Request("https://example.org/a.img"), 1)
    with pytest.raises(Opened):
        checksums._download("https://example.org/SHA256SUMS")
    assert used == [download.tls_context()] * 2
