"""A minimal, valid ISO 9660 image (an empty volume), written in pure Python.

VirtualBox probes a DVD image's format when it opens it, so the contract's
``dvd`` cases need a real ISO, not an empty file.
"""

from __future__ import annotations

import struct
from pathlib import Path

SECTOR = 2048
_ROOT = 20  # root directory extent; path tables at 18 (L) and 19 (M)
_SECTORS = 21


def _both16(n: int) -> bytes:
    return struct.pack("<H", n) + struct.pack(">H", n)


def _both32(n: int) -> bytes:
    return struct.pack("<I", n) + struct.pack(">I", n)


def _dir_record(ident: bytes) -> bytes:
    rec = bytes([34, 0]) + _both32(_ROOT) + _both32(SECTOR) + bytes(7) + bytes([2, 0, 0])
    rec += _both16(1) + bytes([len(ident)]) + ident
    return rec


def _pad(data: bytes, size: int, fill: bytes = b"\0") -> bytes:
    assert len(data) <= size
    return data + fill * (size - len(data))


def _pvd(label: str) -> bytes:
    path_table = 10
    no_date = b"0" * 16 + b"\0"
    d = bytes([1]) + b"CD001" + bytes([1, 0])
    d += _pad(b"", 32, b" ") + _pad(label.upper().encode()[:32], 32, b" ") + bytes(8)
    d += _both32(_SECTORS) + bytes(32) + _both16(1) + _both16(1) + _both16(SECTOR)
    d += _both32(path_table) + struct.pack("<I", 18) + bytes(4) + struct.pack(">I", 19) + bytes(4)
    d += _dir_record(b"\0")
    d += _pad(b"", 128, b" ") * 4 + _pad(b"", 37, b" ") * 3 + no_date * 4 + bytes([1, 0])
    return _pad(d, SECTOR)


def write_iso(path: Path, label: str = "HOSTED") -> Path:
    l_entry = bytes([1, 0]) + struct.pack("<I", _ROOT) + struct.pack("<H", 1) + b"\0\0"
    m_entry = bytes([1, 0]) + struct.pack(">I", _ROOT) + struct.pack(">H", 1) + b"\0\0"
    terminator = _pad(bytes([255]) + b"CD001" + bytes([1]), SECTOR)
    root = _pad(_dir_record(b"\0") + _dir_record(b"\1"), SECTOR)
    tables = _pad(l_entry, SECTOR) + _pad(m_entry, SECTOR)
    image = bytes(16 * SECTOR) + _pvd(label) + terminator + tables + root
    assert len(image) == _SECTORS * SECTOR
    path.write_bytes(image)
    return path
