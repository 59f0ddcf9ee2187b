"""`hosted up`'s live view in a real terminal: tmux, 80 columns, the screen captured as it
changes.  A download, a template import, two clones, starts and readiness waits each show a
progress bar on their machine's line, cut to the width; nothing is left of the view when it
ends; and without a terminal the same run prints plain lines.  The double reports progress
slowly (cli_support:slow) and the image comes from a slow local HTTP server."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from images.imagekit import serving, sha, vdi

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = ROOT / "tests" / "hosted_double.py"  # the CLI against the double, as a test process
WIDTH, HEIGHT = 80, 40
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
# spinner, name (at most 16), what it does, then a bar with its figure, and the seconds spent
LIVE_ROW = re.compile(rf"^[{SPINNER}] (\S.{{0,15}}?) +(.+?)(?: +([━╸╺ ]{{16}}) +(\d+%|\d+/\d+s))? +(\d+)s$")


def is_live(line: str) -> bool:
    return bool(line) and line[0] in SPINNER


@pytest.fixture
def project(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    data = vdi(2 * 1024 * 1024)
    with serving({"/base.vdi": data}) as server:
        server.chunk_delay = 0.03  # 32 chunks: about a second of downloading
        (tmp_path / "hosted.yaml").write_text(f"""\
version: 1
name: live
images:
  base: {{source: '{server.url('/base.vdi')}', sha256: {sha(data)}}}
machines:
  web:
    image: base
    ready: {{tcp: 3, ssh: 3}}
    nics: [{{nat: {{forwards: [{{name: ssh, guest: 22, host: auto}}]}}}}]
  database-server-with-a-long-name:
    image: base
    ready: {{tcp: 4, ssh: 4}}
    nics: [{{nat: {{forwards: [{{name: ssh, guest: 22, host: auto}}]}}}}]
""")
        unset = ("COLUMNS", "LINES", "NO_COLOR", "HOSTED_FILE")  # the terminal's own size, and colour
        env = {k: v for k, v in os.environ.items() if k not in unset}
        env.update(HOSTED_BACKEND="cli_support:slow", PYTHONPATH=str(ROOT / "tests"),
                   HOSTED_CACHE_DIR=str(tmp_path / "cache"), HOSTED_DATA_DIR=str(tmp_path / "data"))
        yield tmp_path, env


def test_up_in_tmux(project: tuple[Path, dict[str, str]]) -> None:
    if shutil.which("tmux") is None:
        pytest.skip("needs tmux (Debian: apt-get install tmux)")
    where, env = project
    socket = f"hosted-test-{os.getpid()}"  # a tmux server of our own
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(LAUNCHER))} up; echo EXIT=$?; sleep 60"
    tmux = ["tmux", "-L", socket, "-f", os.devnull]
    subprocess.run([*tmux, "new-session", "-d", "-x", str(WIDTH), "-y", str(HEIGHT), "-c", str(where),
                    command], check=True, env={**env, "TERM": "xterm-256color"})
    screens: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            screen = subprocess.run([*tmux, "capture-pane", "-p"], capture_output=True, text=True,
                                    check=True).stdout
            screens.append(screen)
            if "EXIT=" in screen:
                break
            time.sleep(0.05)
    finally:
        subprocess.run([*tmux, "kill-server"], check=False)
    final = screens[-1]
    assert "EXIT=1" in final, final  # the double's guests never answer SSH: the waits time out

    rows: list[tuple[str, str, str | None, str | None]] = []
    doubled: list[str] = []  # the last screen's machines on two lines
    for screen in screens:
        lines = screen.splitlines()
        assert all(len(line) <= WIDTH for line in lines)
        live = [line for line in lines if is_live(line)]
        for line in live:
            match = LIVE_ROW.match(line)
            assert match, f"a garbled line in the live view: {line!r}\n{screen}"
            rows.append((match[1], match[2], match[3], match[4]))
        names = [line.split()[1] for line in live]
        # A screen captured while rich redraws the view can hold a line of the view before; a
        # machine on two lines on two screens running is the view's own doing.
        now_doubled = sorted({n for n in names if names.count(n) > 1})
        assert not (now_doubled and now_doubled == doubled), f"a machine on two lines:\n{screen}"
        doubled = now_doubled
        assert live == lines[len(lines) - len(live):] or not live or \
            all(not line.strip() for line in lines[lines.index(live[-1]) + 1:]), \
            f"the live view is the last thing on the screen:\n{screen}"

    def bars(name: str, text: str) -> list[str | None]:
        return [figure for n, t, bar, figure in rows if n.startswith(name) and text in t and bar]

    assert bars("images", "downloading base:"), "the download has a bar"
    assert bars("images", "importing base.vdi"), "the template import has a bar"
    assert bars("web", "cloning live-web"), "the clone has a bar, on the machine's own line"
    assert bars("database-server…", "cloning live-data"), "a long name is cut, not wrapped"
    assert bars("web", "starting live-web")
    waits = bars("web", "tcp: waiting (up to 3 s)")
    assert waits and all(re.fullmatch(r"[0-3]/3s", w or "") for w in waits), \
        "a wait's bar counts to its limit"

    assert not any(is_live(line) or "━" in line for line in final.splitlines()), \
        f"the live view leaves nothing behind:\n{final}"
    text = " ".join(final.split())  # lines wrapped at words, between them a space
    for expected in ("web clone live-web from base (linked clone): nat",
                     "✗ web (live-web): web: stage", "failed after",
                     "✗ database-server-with-a-long-name (live-database-server-with-a-long-name):"):
        assert expected in text, final


def test_without_a_terminal_plain_lines(project: tuple[Path, dict[str, str]]) -> None:
    where, env = project
    proc = subprocess.run([sys.executable, str(LAUNCHER), "up"], capture_output=True, text=True,
                          env={**env, "COLUMNS": "80"}, cwd=where, timeout=120)
    assert proc.returncode == 1
    out = proc.stdout
    assert "\x1b" not in out and not any(c in out for c in SPINNER + "━"), "no escape codes, spinners, bars"
    lines = out.splitlines()
    assert any(re.fullmatch(r"downloading base: .* \((25|50|75|100)%\)", line) for line in lines) or \
        any(re.fullmatch(r"downloading base: .*: (25|50|75|100)%", line) for line in lines), out
    assert "web cloning live-web: 0%" in lines and "web tcp: waiting (up to 3 s)" in lines
    assert "web clone live-web from base (linked clone): nat (" in out
    assert any(line.startswith("✗ web (live-web): web: stage ") for line in lines), \
        "each line whole, however long"
