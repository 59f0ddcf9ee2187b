"""What a bundle needs from a profile: its image sources rewritten, and the files it refers to."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from hosted.errors import ImageError
from hosted.model import BoxRef, Environment


def rewrite_sources(text: str, file: str, sources: dict[str, str],
                    boxes: dict[str, BoxRef] | None = None) -> str:
    """``text`` with ``images.NAME.source`` replaced by ``sources[NAME]`` (and a ``sha256: file:``
    reference of those images by null); the rest as written.  A box by name (``boxes``, under
    ``images:`` or given in place by a machine) becomes ``{source: ..., kind: box}``: the file
    it was resolved to, so nothing is looked up where the bundle is used."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ImageError(f"cannot read {file}: {exc}", "Run `hosted validate` on the profile.") from None
    spans: list[tuple[int, int, str]] = []
    unlisted: dict[int, tuple[int, int, str]] = {}
    images = _value(root, "images")
    boxes = boxes or {}
    for name, box in boxes.items():
        spans += [_pinned(node, sources[name]) for node in _box_nodes(root, images, name, box)]
    for name, new in sources.items():
        if name in boxes:
            continue
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


def _box_nodes(root: yaml.Node | None, images: yaml.Node | None, name: str,
               box: BoxRef) -> list[yaml.MappingNode]:
    """The mappings that declare the box: ``images.NAME``, or machines' (and defaults') ``image:``."""
    listed = _value(images, name)
    if isinstance(listed, yaml.MappingNode):
        return [listed]
    places = [_value(root, "defaults")]
    machines = _value(root, "machines")
    if isinstance(machines, yaml.MappingNode):
        places += [value for _, value in machines.value]
    found: list[yaml.MappingNode] = []
    for place in places:
        node = _value(place, "image")
        if not isinstance(node, yaml.MappingNode):
            continue
        given = _scalars(node)
        if (given.get("box", ""), given.get("box_url"), given.get("version")) == \
                (box.name, box.metadata_url, box.version):
            found.append(node)
    return found


def _scalars(node: yaml.MappingNode) -> dict[str, str | None]:
    return {str(k.value): str(v.value) for k, v in node.value if isinstance(v, yaml.ScalarNode)}


def _pinned(node: yaml.MappingNode, source: str) -> tuple[int, int, str]:
    """``node`` replaced by a flow mapping with the bundled file and the image's other keys."""
    keep = {k: v for k, v in _scalars(node).items() if k in ("kind", "arch", "cloud_init")}
    items = [f"source: {json.dumps(source)}", *(f"{k}: {json.dumps(v)}" for k, v in keep.items())]
    if "kind" not in keep:
        items.append("kind: box")
    flow = "{" + ", ".join(items) + "}"
    # A block mapping ends at the start of the line after it: keep that line break.
    return node.start_mark.index, node.end_mark.index, flow if node.flow_style else flow + "\n"


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
    found: list[Path] = [Path(p) for p in env.includes]
    for m in env.machines:
        found += [Path(p) for p in (m.dvd, m.ssh.private_key) if p]
        found += [Path(f.host) for f in m.shared_folders or ()]
        found += [Path(p) for step in m.provision for p in (step.script, step.source) if p]
    inside: list[Path] = []
    outside: list[Path] = []
    for path in dict.fromkeys(found):
        (inside if path.is_relative_to(base) and path != base else outside).append(path)
    return inside, outside
