"""images list/pull/prune, and bundle."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from hosted.cli.console import EventPrinter, console, print_json
from hosted.errors import UsageError
from hosted.events import Emit, Event
from hosted.images import digests_in_use, fetch, list_cache, prune_cache, write_bundle
from hosted.images.store import Entry
from hosted.model import Environment
from hosted.profile import find_profile, load_profile


class DownloadLines(EventPrinter):
    """Plain output: one line per quarter of each download, with its bytes, speed and ETA."""

    def _progress(self, event: Event) -> None:
        label = event.message.split(":", 1)[0]
        pct = int(event.percent or 0)
        last = self._last_percent.get((event.machine, label), -1)
        if pct // 25 > last // 25 or (pct == 100 and last != 100):
            self._last_percent[(event.machine, label)] = pct
            self.out.print(f"[dim]{escape(event.message)} ({pct}%)[/]")


@contextlib.contextmanager
def _printer() -> Iterator[Emit]:
    if not console.is_terminal:
        yield DownloadLines(console)
        return
    from hosted.cli.live import printer

    with printer(console) as emit:
        yield emit


def cmd_images(args: argparse.Namespace) -> int:
    action = args.images_command
    if action == "list":
        return _list(args)
    if action == "pull":
        return _pull(args)
    return _prune(args)


def _list(args: argparse.Namespace) -> int:
    entries = list_cache()
    if args.json:
        print_json("images", {"images": [entry_json(e) for e in entries]})
        return 0
    if not entries:
        console.print("The image cache is empty: `hosted images pull` fetches a profile's images.")
        return 0
    table = Table(box=None, pad_edge=False)
    for column in ("SHA256", "KIND", "SIZE", "NAME", "LAST USED", "SOURCE"):
        table.add_column(column)
    for e in entries:
        table.add_row(e.sha256[:12], e.kind or "?", _size(e.size or e.stored_bytes()), escape(e.name),
                      _when(e.last_used), escape(e.source))
    console.print(table)
    return 0


def entry_json(e: Entry) -> dict[str, Any]:
    return {"sha256": e.sha256, "name": e.name, "kind": e.kind or None, "source": e.source,
            "path": str(e.path), "size": e.size, "stored_bytes": e.stored_bytes(),
            "added": _iso(e.added), "last_used": _iso(e.last_used)}


def _pull(args: argparse.Namespace) -> int:
    env = load_profile(find_profile(args.file))
    images = _chosen(env, args.names)
    with _printer() as emit:
        for image in images:
            local = fetch(image, emit)
            emit(Event("step-finished", f"{image.name}: {local.kind}, sha256 {local.sha256[:12]} "
                       f"({escape(str(local.path))})"))
    if not images:
        console.print("The profile names no images.")
    return 0


def _chosen(env: Environment, names: list[str]) -> list[Any]:
    unknown = [n for n in names if env.image(n) is None]
    if unknown:
        known = ", ".join(i.name for i in env.images) or "none"
        raise UsageError(f"no image named {', '.join(map(repr, unknown))} in {env.path}",
                         f"Images in this profile: {known}.")
    return [i for i in env.images if not names or i.name in names]


def _prune(args: argparse.Namespace) -> int:
    keep: set[str] = set()
    if args.file is not None or Path("hosted.yaml").is_file() or Path("hosted.yml").is_file():
        keep = digests_in_use(load_profile(find_profile(args.file)).images)
    removed = prune_cache(keep, None if args.all else args.older_than)
    templates, note = _prune_templates(keep)
    if args.json:
        print_json("images-prune", {"removed": [
            {"sha256": r.sha256, "source": r.source, "bytes": r.bytes, "what": r.what} for r in removed],
            "kept_for_profile": sorted(keep), "templates_removed": templates, "templates_note": note})
        return 0
    for name in templates:
        console.print(f"removed unused template {escape(name)}")
    if note:
        console.print(f"[dim]{escape(note)}[/]")
    for r in removed:
        console.print(f"removed {r.what} {r.sha256[:12]} {escape(r.source)} ({_size(r.bytes)})")
    total = sum(r.bytes for r in removed)
    console.print(f"{len(removed)} removed, {_size(total)} freed." if removed else "Nothing to remove.")
    return 0


def _prune_templates(keep: set[str]) -> tuple[list[str], str]:
    """VirtualBox templates no machine uses (those of the profile's images stay)."""
    from hosted.compose import backend_session
    from hosted.errors import BackendUnavailable, UnsupportedVirtualBox
    from hosted.images.templates import prune_templates

    try:
        with backend_session(EventPrinter()) as backend:
            removed = prune_templates(backend, EventPrinter(), keep=frozenset(keep))
    except (BackendUnavailable, UnsupportedVirtualBox) as exc:
        return [], f"VirtualBox not reachable ({exc.message}): templates were not pruned"
    return [t.vm_name for t in removed], ""


def cmd_bundle(args: argparse.Namespace) -> int:
    if not args.output:
        raise UsageError("no output file", "Give one: hosted bundle -f PROFILE -o FILE.bundle [--sign KEY]")
    # `--sign KEY` (an OpenSSH private key): the parser in main.py declares it.
    sign = getattr(args, "sign", None)
    key = Path(sign).expanduser() if sign else None
    if key is not None and not key.is_file():
        raise UsageError(f"no signing key at {key}", "Give an OpenSSH private key: --sign ~/.ssh/id_ed25519")
    with _printer() as emit:
        summary = write_bundle(load_profile(find_profile(args.file)), Path(args.output), emit, sign_key=key)
    names = ", ".join(name for name, _ in summary.images) or "no images"
    signed = f", signed with {escape(str(key))}" if summary.signed else ", not signed"
    console.print(f"[green]wrote[/] {escape(str(summary.path))} ({_size(summary.bytes)}): environment "
                  f"{escape(summary.environment)!r}, {escape(names)}, {len(summary.files)} other file(s)"
                  f"{signed}")
    console.print(f"Use it offline with: hosted up -f {escape(str(summary.path))}")
    return 0


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return f"{n} B"


def _iso(t: float) -> str | None:
    return datetime.fromtimestamp(t, tz=UTC).isoformat(timespec="seconds") if t else None


def _when(t: float) -> str:
    return datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M") if t else "-"
