"""What a failed test's report says about each machine it used: where VBox.log is,
the tail of the serial console, and the last provisioning step's output."""

from __future__ import annotations

import os
import re
from pathlib import Path

READ_AT_MOST = 256 * 1024  # of a log's end: enough for any tail asked for
_STEP_HEADER = re.compile(r"^=== \d{4}-\d\d-\d\d \d\d:\d\d:\d\d .* step .* ===$", re.M)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]|\x1b\[[0-9;?]*[A-Za-z]")


def machine_section(name: str, paths: dict[str, str], lines: int, serial_before: str = "") -> tuple[str, str]:
    """(title, text) of the report section about machine ``name``; ``serial_before``: the serial
    log's lines from before the machine was last restored (VirtualBox started it afresh)."""
    parts = [f"VBox.log: {paths.get('vbox') or 'unknown (the machine does not exist)'}"]
    serial = paths.get("serial")
    if serial:
        joined = "\n".join(x for x in (serial_before, log_tail(Path(serial), lines)) if x)
        tail = "\n".join(joined.splitlines()[-lines:])
        parts.append(f"serial log: {serial} " + (f"(last {lines} lines)" if tail else "(empty or missing)"))
        parts.extend("  | " + line for line in tail.splitlines())
    provision = paths.get("provision")
    if provision:
        last = provision_tail(Path(provision), lines)
        parts.append(f"last provisioning output: {provision}" + ("" if last else " (none yet)"))
        parts.extend("  | " + line for line in last.splitlines())
    return f"hosted: {name}", "\n".join(parts)


def log_tail(path: Path, lines: int) -> str:
    """The last ``lines`` lines of a log, control characters removed; "" if unreadable."""
    text = _read_end(path)
    kept = [clean for line in text.splitlines() if (clean := _CONTROL.sub("", line)).strip()]
    return "\n".join(kept[-lines:])


def provision_tail(path: Path, lines: int) -> str:
    """The last provisioning step in ``path``, from its header line: at most ``lines`` lines."""
    text = _read_end(path)
    headers = list(_STEP_HEADER.finditer(text))
    last = text[headers[-1].start():] if headers else text
    return "\n".join(_CONTROL.sub("", line) for line in last.splitlines()[-lines:])


def _read_end(path: Path) -> str:
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(size - READ_AT_MOST, 0))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
