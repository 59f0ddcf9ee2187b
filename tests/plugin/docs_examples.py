"""The files docs/pytest.md shows (each after a ``<!-- file: NAME -->`` line), which
the plugin's tests write and run as they are."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "pytest.md"


def doc_files() -> dict[str, str]:
    found = re.findall(r"<!-- file: (\S+) -->\n```\w+\n(.*?)```", DOC.read_text(), re.S)
    return dict(found)


def write_doc_files(where: Path) -> dict[str, str]:
    files = doc_files()
    for name, text in files.items():
        (where / name).write_text(text)
    return files
