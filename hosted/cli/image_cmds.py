"""images list/pull/prune, and bundle."""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from hosted.backend.base import Backend
from hosted.cli.console import OPTIONS, EventPrinter, asker, console, print_json
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
    if not console.is_terminal or OPTIONS.json or OPTIONS.quiet:
        yield DownloadLines()
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
    if OPTIONS.json:
        print_json(OPTIONS.kind, {"images": [entry_json(e) for e in entries]})
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
    pulled = []
    with _printer() as emit:
        for image in images:
            local = fetch(image, emit)
            pulled.append({"name": image.name, "kind": local.kind, "sha256": local.sha256,
                           "path": str(local.path)})
            emit(Event("step-finished", f"{image.name}: {local.kind}, sha256 {local.sha256[:12]} "
                       f"({local.path})"))
    if OPTIONS.json:
        print_json(OPTIONS.kind, {"environment": env.name, "images": pulled})
    elif not images:
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
    """Images and templates neither the profile (when there is one) nor any machine on this host
    uses; what goes is shown, and asked for, first."""
    from hosted.images.templates import digests_used_on_host, prune_templates
    from hosted.run.runner import require_confirmation

    env = _profile_if_any(args)
    for_profile = digests_in_use(env.images) if env is not None else set()
    older = None if args.all else args.older_than
    backend = _virtualbox()
    try:
        templates = backend.list_templates()
        in_use = digests_used_on_host(backend, templates)
        keep = for_profile | in_use
        doomed = [t for t in templates if not t.users and t.digest not in for_profile]
        files = prune_cache(keep, older, dry_run=True)
        asked = [f"remove template {t.vm_name} ({t.image_name or 'unknown image'})" for t in doomed]
        asked += [f"remove {r.what} {r.sha256[:12]} {r.source} ({_size(r.bytes)})" for r in files]
        require_confirmation(asked, args.yes, asker())
        # Warnings only: each removal gets its own line below.
        removed_templates = prune_templates(backend, EventPrinter(quiet=True), keep=frozenset(for_profile)) \
            if doomed else []
    finally:
        backend.close()
    removed = prune_cache(keep, older) if files else []
    if OPTIONS.json:
        print_json(OPTIONS.kind, {"removed": [
            {"sha256": r.sha256, "source": r.source, "bytes": r.bytes, "what": r.what} for r in removed],
            "kept_for_profile": sorted(for_profile), "kept_in_use": sorted(in_use),
            "templates_removed": [t.vm_name for t in removed_templates]})
        return 0
    for t in removed_templates:
        console.print(f"removed unused template {escape(t.vm_name)} ({escape(t.image_name or '?')})")
    for r in removed:
        console.print(f"removed {r.what} {r.sha256[:12]} {escape(r.source)} ({_size(r.bytes)})")
    kept = len({e.sha256 for e in list_cache()} & in_use)
    note = f" {kept} kept: machines on this host use them." if kept else ""
    if not removed and not removed_templates:
        console.print("Nothing to remove." + note)
        return 0
    console.print(f"Removed {len(removed)} cached file(s) and {len(removed_templates)} template(s), "
                  f"{_size(sum(r.bytes for r in removed))} freed." + note)
    return 0


def _profile_if_any(args: argparse.Namespace) -> Environment | None:
    """The profile named (-f, $HOSTED_FILE) or found (here or above), if there is one."""
    from hosted.errors import ProfileError

    try:
        path = find_profile(getattr(args, "file", None))
    except ProfileError:
        if getattr(args, "file", None) is not None or os.environ.get("HOSTED_FILE"):
            raise
        return None
    return load_profile(path)


def _virtualbox() -> Backend:
    """VirtualBox, which says what its machines use: without it nothing may be removed."""
    from hosted.compose import open_backend
    from hosted.errors import BackendUnavailable, UnsupportedVirtualBox

    try:
        return open_backend(EventPrinter())
    except (BackendUnavailable, UnsupportedVirtualBox) as exc:
        raise type(exc)(f"{exc.message}; without VirtualBox hosted cannot tell which images its "
                        "machines use, so nothing was removed", exc.hint) from exc


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
    if OPTIONS.json:
        print_json(OPTIONS.kind, {"path": str(summary.path), "bytes": summary.bytes,
                                  "environment": summary.environment,
                                  "images": [name for name, _ in summary.images],
                                  "files": [str(f) for f in summary.files]})
        return 0
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
