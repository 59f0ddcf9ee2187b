"""What a bundle needs from a profile: its image sources rewritten, and the files it refers to."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from hosted.errors import ImageError
from hosted.model import Environment


def rewrite_sources(text: str, file: str, sources: dict[str, str]) -> str:
    """``text`` with ``images.NAME.source`` replaced by ``sources[NAME]`` (and a ``sha256: file:``
    reference of those images by null); the rest as written."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ImageError(f"cannot read {file}: {exc}", "Run `hosted validate` on the profile.") from None
    spans: list[tuple[int, int, str]] = []
    unlisted: dict[int, tuple[int, int, str]] = {}
    images = _value(root, "images")
    for name, new in sources.items():
        node = _value(_value(images, name), "source")
        if not isinstance(node, yaml.ScalarNode):
            raise ImageError(f"{file}: cannot find images.{name}.source to point it into the bundle",
                             "Write the image's `source:` as a plain value (not an alias).")
        spans.append((node.start_mark.index, node.end_mark.index, json.dumps(new)))
        # `sha256: file:URL` would need the network where the bundle is used; the bundle's
        # manifest carries and checks the image's digest instead.
        listed = _value(_value(images, name), "sha256")
        if isinstance(listed, yaml.ScalarNode) and str(listed.value).startswith("file:"):
            unlisted[listed.start_mark.index] = (listed.start_mark.index, listed.end_mark.index, "null")
    if len({start for start, _, _ in spans}) != len(spans):
        raise ImageError(f"{file}: two images share one `source:` value (a YAML alias)",
                         "Write each image's `source:` out.")
    for start, end, new in sorted([*spans, *unlisted.values()], reverse=True):
        text = text[:start] + new + text[end:]
    return text


def _value(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node  # type: ignore[no-any-return]
    return None


def referenced_paths(env: Environment) -> tuple[list[Path], list[Path]]:
    """Host paths the machines refer to: (those under the profile's directory, those outside)."""
    base = Path(env.path).parent
    found: list[Path] = []
    for m in env.machines:
        found += [Path(p) for p in (m.dvd, m.ssh.private_key) if p]
        found += [Path(f.host) for f in m.shared_folders or ()]
        found += [Path(p) for step in m.provision for p in (step.script, step.source) if p]
    inside: list[Path] = []
    outside: list[Path] = []
    for path in dict.fromkeys(found):
        (inside if path.is_relative_to(base) and path != base else outside).append(path)
    return inside, outside
