"""Real image files and a real HTTP server on loopback, for the image tests."""

from __future__ import annotations

import hashlib
import io
import json
import socket
import tarfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

VBOX_NS = "http://www.virtualbox.org/ovf/machine"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def vmdk(label: str = "disk") -> bytes:
    """A VMDK descriptor (enough for detection) plus padding."""
    return f"# Disk DescriptorFile\nversion=1\n# {label}\n".encode() + b"\0" * 4000


def vdi(size: int = 8192) -> bytes:
    head = b"<<< Oracle VM VirtualBox Disk Image >>>\n".ljust(64, b"\0") + b"\x7f\x10\xda\xbe"
    return head + bytes(range(256)) * (size // 256)


def ovf_xml(disks: tuple[str, ...] = ("box-disk001.vmdk",), os_type: str | None = "Debian_64",
            platform: str | None = None) -> bytes:
    files = "".join(f'<File ovf:id="file{i}" ovf:href="{d}"/>' for i, d in enumerate(disks))
    machine = ""
    if os_type is not None or platform is not None:
        plat = f'<Platform architecture="{platform}"/>' if platform else ""
        machine = ('<vbox:Machine ovf:required="false" version="1.19" name="m" '
                   f'OSType="{os_type or "Other"}">'
                   f"<Hardware>{plat}</Hardware></vbox:Machine>")
    os_section = (f'<OperatingSystemSection ovf:id="96" vbox:OSType="{os_type}"><Info>os</Info>'
                  "</OperatingSystemSection>") if os_type else ""
    return (
        '<?xml version="1.0"?>\n'
        '<Envelope ovf:version="1.0" xmlns="http://schemas.dmtf.org/ovf/envelope/1" '
        f'xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:vbox="{VBOX_NS}">'
        f"<References>{files}</References>"
        f'<VirtualSystem ovf:id="m">{os_section}{machine}</VirtualSystem></Envelope>\n'
    ).encode()


def tar_bytes(members: dict[str, bytes], gz: bool = False) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz" if gz else "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def box(metadata: dict[str, object] | None = None, **ovf: object) -> bytes:
    """A Vagrant box as Vagrant packs it: tar.gz of metadata.json, box.ovf and a disk."""
    meta = {"provider": "virtualbox"} if metadata is None else metadata
    return tar_bytes({"metadata.json": json.dumps(meta).encode(), "Vagrantfile": b"# vagrant\n",
                      "box.ovf": ovf_xml(**ovf),  # type: ignore[arg-type]
                      "box-disk001.vmdk": vmdk("box")}, gz=True)


def ova(**ovf: object) -> bytes:
    return tar_bytes({"vm.ovf": ovf_xml(("vm-disk1.vmdk",), **ovf),  # type: ignore[arg-type]
                      "vm-disk1.vmdk": vmdk("ova")})


def iso() -> bytes:
    import pycdlib

    image = pycdlib.PyCdlib()
    image.new(vol_ident="INSTALL")
    image.add_fp(io.BytesIO(b"hello"), 5, "/README.;1")
    out = io.BytesIO()
    image.write_fp(out)
    image.close()
    return out.getvalue()


@dataclass
class Server:
    """Files served over HTTP on 127.0.0.1, with faults on demand; every request is recorded."""

    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range header)
    drop_after: dict[str, list[int]] = field(default_factory=dict)  # path -> bytes sent before a cut
    corrupt_resume: set[str] = field(default_factory=set)  # serve the rest of these files flipped
    ignore_range: bool = False
    chunk_delay: float = 0.0  # seconds between 64 KiB chunks
    redirects: dict[str, str] = field(default_factory=dict)  # path -> Location of a 302
    no_length: set[str] = field(default_factory=set)  # served without Content-Length (until closed)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def ranges(self, path: str) -> list[str | None]:
        return [r for p, r in self.requests if p == path]


def _handler(server: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            rng = self.headers.get("Range")
            server.requests.append((self.path, rng))
            if self.path in server.redirects:
                self.send_response(302)
                self.send_header("Location", server.redirects[self.path])
                self.end_headers()
                return
            data = server.files.get(self.path)
            if data is None:
                self.send_error(404, "Not Found")
                return
            start = int(rng.split("=")[1].split("-")[0]) if rng and not server.ignore_range else 0
            body = data[start:]
            if start and self.path in server.corrupt_resume:
                body = bytes(b ^ 0xFF for b in body)
            self.send_response(206 if start else 200)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            if self.path in server.no_length:
                self.close_connection = True
            else:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            cuts = server.drop_after.get(self.path)
            if cuts:
                self.wfile.write(body[:cuts.pop(0)])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            for i in range(0, len(body), 65536):
                self.wfile.write(body[i:i + 65536])
                if server.chunk_delay:
                    time.sleep(server.chunk_delay)

    return Handler


@contextmanager
def serving(files: dict[str, bytes] | None = None) -> Iterator[Server]:
    state = Server(files=dict(files or {}))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


def dead_url(path: str = "/gone.box") -> str:
    """A URL on loopback where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
