"""Value types of the profile schema: names, sizes, ports, addresses and paths.

Each is an ``Annotated`` pydantic type whose errors are ``PydanticCustomError``
with a clear message, so the loader can pass them on as they are.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import yaml
from pydantic import AfterValidator, BeforeValidator, Field, PlainValidator, ValidationInfo, WithJsonSchema
from pydantic_core import PydanticCustomError

from hosted.paths import windows_problem
from hosted.profile import recorded
from hosted.profile.source import safe_load
from hosted.profile.variables import Substituted

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"  # for the JSON Schema; matched with fullmatch below
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# Control characters (tab and newline included) and the Unicode bidi overrides: never in a
# one-line value that reaches a file name, an ssh_config, a command line or an answer file.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
USER_PATTERN = r"[A-Za-z_][A-Za-z0-9_.-]{0,31}"
_SIZE = re.compile(r"(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>[KMGT]?)(?:i?B)?", re.IGNORECASE)
_UNIT_MB = {"K": 1 / 1024, "": 1, "M": 1, "G": 1024, "T": 1024 * 1024}

MEMORY_MIN_MB, MEMORY_MAX_MB = 4, 2 * 1024 * 1024  # VirtualBox's limit: 2 TB of guest RAM
DISK_MIN_MB, DISK_MAX_MB = 1, 64 * 1024 * 1024


def _from_variable(value: Any) -> Any:
    """``cpus: ${CPUS}``: a substituted number is a number (plain YAML strings are not)."""
    if isinstance(value, Substituted):
        text = value.strip()
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        if re.fullmatch(r"[+-]?\d+\.\d*", text):
            return float(text)
        if text.lower() in ("true", "yes", "on", "false", "no", "off"):
            return text.lower() in ("true", "yes", "on")
    return value


def _check_name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise PydanticCustomError(
            "name", "'{value}' is not a valid name", {"value": value, "pattern": NAME_PATTERN},
        )
    problem = windows_problem(value)  # names become folder names (hosted's, VirtualBox's) on every OS
    if problem:
        raise PydanticCustomError("name_windows", "'{value}' {problem}", {"value": value, "problem": problem})
    return value


def _size(minimum: int, maximum: int) -> PlainValidator:
    def parse(value: Any) -> int:
        mb = _size_mb(_from_variable(value))
        if mb is None:
            raise PydanticCustomError(
                "size", "'{value}' is not a size", {"value": value, "min": minimum, "max": maximum},
            )
        if not minimum <= mb <= maximum:
            raise PydanticCustomError(
                "size_range", "{mb} MB is out of range ({min}..{max} MB)",
                {"mb": mb, "min": minimum, "max": maximum},
            )
        return mb

    return PlainValidator(parse)


def _size_mb(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        return None
    match = _SIZE.fullmatch(value.strip())
    if match is None:
        return None
    mb = float(match.group("num")) * _UNIT_MB[match.group("unit").upper()]
    return int(mb) if mb == int(mb) else None


def _size_schema(minimum: int) -> WithJsonSchema:
    return WithJsonSchema({
        "anyOf": [
            {"type": "integer", "minimum": minimum, "description": "megabytes"},
            {"type": "string", "pattern": r"^\d+(\.\d+)?\s*[KkMmGgTt]?(i?[Bb])?$",
             "examples": ["512M", "2G"]},
        ],
    })


def _host_port(value: Any) -> int | None:
    value = _from_variable(value)
    if value == "auto":
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535:
        return value
    raise PydanticCustomError("host_port", "'{value}' is not a port (1..65535) or 'auto'", {"value": value})


def _ip(allow_all: bool, v4_only: bool) -> AfterValidator:
    def check(value: str) -> str:
        if value == "" and allow_all:
            return value
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            address = None
        if address is None or (v4_only and address.version != 4):
            kind = "an IPv4 address" if v4_only else "an IP address"
            raise PydanticCustomError("ip", "'{value}' is not " + kind, {"value": value})
        return value

    return AfterValidator(check)


PREFIX_MIN, PREFIX_MAX, DEFAULT_PREFIX = 8, 30, 24  # a link may be a /30; other networks /29 (checks)


def _guest_address(value: Any) -> str:
    """``auto``, or an IPv4 address with an optional prefix (default /24): "10.20.0.11/24"."""
    if value == "auto":
        return "auto"
    if not isinstance(value, str):
        raise PydanticCustomError("guest_address", "'{value}' is not an IPv4 address or 'auto'",
                                  {"value": value})
    text = value.strip()
    if "/" not in text:
        text += f"/{DEFAULT_PREFIX}"
    try:
        iface = ipaddress.IPv4Interface(text)
    except ValueError:
        raise PydanticCustomError("guest_address", "'{value}' is not an IPv4 address such as 10.20.0.11/24 "
                                  "or 'auto'", {"value": value}) from None
    if not PREFIX_MIN <= iface.network.prefixlen <= PREFIX_MAX:
        raise PydanticCustomError("guest_address", "'{value}': the prefix must be /{min} to /{max}",
                                  {"value": value, "min": PREFIX_MIN, "max": PREFIX_MAX})
    if iface.ip in (iface.network.network_address, iface.network.broadcast_address):
        raise PydanticCustomError("guest_address", "'{value}' is the network's own or its broadcast address, "
                                  "not a machine's", {"value": value})
    return f"{iface.ip}/{iface.network.prefixlen}"


def _cidr(value: Any) -> str:  # a NAT Network's range
    if not isinstance(value, str):
        raise PydanticCustomError("cidr", "'{value}' is not a network such as 10.0.2.0/24", {"value": value})
    try:
        network = ipaddress.IPv4Network(value.strip(), strict=True)
    except ValueError:
        raise PydanticCustomError("cidr", "'{value}' is not a network such as 10.0.2.0/24 (address bits "
                                  "beyond the prefix must be 0)", {"value": value}) from None
    if not PREFIX_MIN <= network.prefixlen <= PREFIX_MAX - 1:
        raise PydanticCustomError("cidr", "'{value}': the prefix must be /{min} to /{max}",
                                  {"value": value, "min": PREFIX_MIN, "max": PREFIX_MAX - 1})
    return str(network)


def _existing(kind: str) -> AfterValidator:
    """A path relative to the profile's directory (``context['base']``) that must exist."""

    def check(value: str, info: ValidationInfo) -> str:
        return _existing_path(kind, value, info)

    return AfterValidator(check)


def _existing_path(kind: str, value: str, info: ValidationInfo) -> str:
    if not value:
        raise PydanticCustomError("path_empty", "the path is empty", {})
    _one_line(value)
    base = (info.context or {}).get("base")
    if base is None:  # validating without a profile file: nothing to resolve against
        return value
    path = Path(base, Path(value).expanduser())
    resolved = os.path.normpath(path.absolute())
    _one_line(resolved)  # `~` may expand to anything
    found = recorded.kind_of(path)  # one stat, noted for the compiled-profile cache
    if found == "missing":
        raise PydanticCustomError("path_missing", "{path} does not exist", {"path": resolved})
    if kind == "dir" and found != "dir":
        raise PydanticCustomError("path_kind", "{path} is not a directory", {"path": resolved})
    if found == "other":  # /dev/zero, a FIFO, a socket: never read
        raise PydanticCustomError("path_special", "{path} is not a regular file", {"path": resolved})
    if kind == "file" and found != "file":
        raise PydanticCustomError("path_kind", "{path} is not a file", {"path": resolved})
    return resolved


def _one_line(value: str) -> str:
    """A value without control characters (newline, escape...) or bidi overrides."""
    found = _CONTROL.search(value)
    if found is not None:
        raise PydanticCustomError("control_character", "the value holds the control character {char}",
                                  {"char": f"U+{ord(found.group(0)):04X}"})
    return value


def _user_name(value: str) -> str:
    _one_line(value)
    if not re.fullmatch(USER_PATTERN, value):
        raise PydanticCustomError("user_name", "'{value}' is not a user name", {"value": value[:40]})
    return value


def _guest_path(value: str) -> str:
    """A path in the guest: one line, no NUL; shell quoting does the rest."""
    return _one_line(value)


def _image_source(value: str, info: ValidationInfo) -> str:
    """An http(s) URL as given, or a path (file or directory) relative to the profile."""
    if not value:
        raise PydanticCustomError("path_empty", "the path is empty", {})
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", value)
    if scheme is None:
        return _existing_path("any", value, info)
    if scheme.group(1).lower() not in ("http", "https"):
        raise PydanticCustomError("url_scheme", "'{scheme}://' sources are not supported",
                                  {"scheme": scheme.group(1)})
    return _one_line_with_host(value)


def _cloud_config(value: Any) -> Any:
    """``cloud_init:`` as a mapping (cloud-config), or text with a header cloud-init knows."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        return value  # the union's own type error follows
    first = value.lstrip().split("\n", 1)[0].strip()
    if first.startswith("#cloud-config"):
        try:
            data = safe_load(value)
        except yaml.YAMLError as exc:
            problem = str(exc).strip().splitlines() or ["syntax error"]
            raise PydanticCustomError("cloud_config_yaml", "the #cloud-config text is not valid YAML: "
                                      "{problem}", {"problem": problem[0]}) from None
        except (ValueError, OverflowError) as exc:  # a date such as 2024-13-45
            raise PydanticCustomError("cloud_config_yaml", "the #cloud-config text is not valid YAML: "
                                      "{problem}", {"problem": str(exc)}) from None
        if data is not None and not isinstance(data, dict):
            raise PydanticCustomError("cloud_config_yaml", "the #cloud-config text is not a mapping", {})
        return value
    if not first.startswith(CLOUD_INIT_HEADERS):
        raise PydanticCustomError("cloud_config_header", "user-data text must start with #cloud-config "
                                  "or another cloud-init header, not '{first}'", {"first": first[:30]})
    return value


def _sha256(value: str, info: ValidationInfo) -> str:
    """64 hex digits, or ``file:`` and the URL or path of a checksum file that lists the digest."""
    if value.startswith(CHECKSUM_FILE_PREFIX):
        location = value.removeprefix(CHECKSUM_FILE_PREFIX)
        scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", location)
        if scheme is not None and scheme.group(1).lower() not in ("http", "https"):
            raise PydanticCustomError("url_scheme", "'{scheme}://' checksum files are not supported",
                                      {"scheme": scheme.group(1)})
        if scheme is None:
            location = _existing_path("file", location, info)
        return CHECKSUM_FILE_PREFIX + location
    if not re.fullmatch(SHA256_PATTERN, value):
        raise PydanticCustomError("sha256", "'{value}' is not a sha256 digest", {"value": value[:80]})
    return value.lower()


SHA256_PATTERN = r"^[0-9a-fA-F]{64}$"
CHECKSUM_FILE_PREFIX = "file:"  # `sha256: file:URL-of-SHA256SUMS` (hosted.images.checksums)
# file: and an http(s) URL, or a path (anything but another scheme's URL)
CHECKSUM_FILE_PATTERN = r"^file:([Hh][Tt][Tt][Pp][Ss]?://.+|(?![A-Za-z][A-Za-z0-9+.-]*://).+)$"
CLOUD_INIT_HEADERS = ("#cloud-config", "#!", "#include", "#cloud-boothook", "#part-handler",
                      "#cloud-config-archive", "#template:", "Content-Type:")

_Lax = BeforeValidator(_from_variable)

Name = Annotated[str, Field(json_schema_extra={"pattern": NAME_PATTERN}), AfterValidator(_check_name)]
Text = Annotated[str, Field(min_length=1)]  # free text (a command): may span lines
Line = Annotated[str, Field(min_length=1), AfterValidator(_one_line)]  # one line, no control characters
UserName = Annotated[str, Field(json_schema_extra={"pattern": f"^{USER_PATTERN}$"}),
                     AfterValidator(_user_name)]
GuestPath = Annotated[str, AfterValidator(_guest_path)]
Cpus = Annotated[int, Field(ge=1, le=64), _Lax]
MAX_COUNT = 64
Count = Annotated[int, Field(ge=1, le=MAX_COUNT), _Lax]
SataPort = Annotated[int, Field(ge=0, le=29), _Lax]
VramMB = Annotated[int, Field(ge=1, le=256), _Lax]
Port = Annotated[int, Field(ge=1, le=65535), _Lax]
Seconds = Annotated[float, Field(ge=0, le=7 * 24 * 3600), _Lax]
Flag = Annotated[bool, _Lax]
MemoryMB = Annotated[int, _size(MEMORY_MIN_MB, MEMORY_MAX_MB), _size_schema(MEMORY_MIN_MB)]
DiskMB = Annotated[int, _size(DISK_MIN_MB, DISK_MAX_MB), _size_schema(DISK_MIN_MB)]
HostPort = Annotated[
    int | None, PlainValidator(_host_port),
    WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 1, "maximum": 65535}, {"const": "auto"}]}),
]
HostIp = Annotated[str, _ip(allow_all=True, v4_only=False), WithJsonSchema(
    {"anyOf": [{"const": ""}, {"type": "string", "format": "ipv4"}, {"type": "string", "format": "ipv6"}]})]
GuestIp = Annotated[str, _ip(allow_all=True, v4_only=True),
                    WithJsonSchema({"anyOf": [{"const": ""}, {"type": "string", "format": "ipv4"}]})]
GuestAddress = Annotated[str, PlainValidator(_guest_address), WithJsonSchema({"anyOf": [
    {"const": "auto"},
    {"type": "string", "pattern": r"^\d{1,3}(\.\d{1,3}){3}(/\d{1,2})?$", "examples": ["10.20.0.11/24"]},
]})]
Cidr = Annotated[str, PlainValidator(_cidr), WithJsonSchema(
    {"type": "string", "pattern": r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$", "examples": ["10.0.2.0/24"]})]
ExistingFile = Annotated[str, _existing("file")]
ExistingDir = Annotated[str, _existing("dir")]
ExistingPath = Annotated[str, _existing("any")]
ImageSource = Annotated[str, AfterValidator(_image_source)]
Sha256 = Annotated[
    str, AfterValidator(_sha256),
    WithJsonSchema({"anyOf": [
        {"type": "string", "pattern": SHA256_PATTERN, "description": "the file's sha256: 64 hex digits"},
        {"type": "string", "pattern": CHECKSUM_FILE_PATTERN, "examples": ["file:https://host/path/SHA256SUMS"],
         "description": "file: and the URL (or path) of a checksum file such as SHA256SUMS that lists the "
                        "image's file name"},
    ]}),
]
CloudInit = Annotated[dict[str, Any] | str, BeforeValidator(_cloud_config), WithJsonSchema({"anyOf": [
    {"type": "object", "description": "cloud-config, merged over hosted's"},
    {"type": "string", "pattern": "^\\s*(" + "|".join(CLOUD_INIT_HEADERS) + ")",
     "description": "user-data text with a cloud-init header: #cloud-config, #!, #include, ..."},
]})]


def _url(value: str) -> str:
    """An http(s) URL (a box catalog, a box's metadata)."""
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", value)
    if scheme is None or scheme.group(1).lower() not in ("http", "https"):
        raise PydanticCustomError("url_scheme", "'{value}' is not an http:// or https:// URL",
                                  {"value": value[:80], "scheme": scheme.group(1) if scheme else ""})
    return _one_line_with_host(value)


BOX_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*"
BOX_VERSION = r"[0-9A-Za-z][0-9A-Za-z.+_-]*"
Url = Annotated[str, Field(json_schema_extra={"pattern": "^[Hh][Tt][Tt][Pp][Ss]?://"}), AfterValidator(_url)]
BoxName = Annotated[str, Field(json_schema_extra={"pattern": f"^{BOX_NAME}$"}), AfterValidator(
    lambda v: v if re.fullmatch(BOX_NAME, v) else _bad("box_name", v, "a box name such as bento/debian-12"))]
BoxVersion = Annotated[str, Field(json_schema_extra={"pattern": f"^{BOX_VERSION}$"}), AfterValidator(
    lambda v: v if re.fullmatch(BOX_VERSION, v) else _bad("box_version", v, "a box version such as "
                                                                            "202401.31.0"))]


def _bad(kind: str, value: str, what: str) -> str:
    raise PydanticCustomError(kind, "'{value}' is not " + what, {"value": value[:60]})


def _one_line_with_host(value: str) -> str:
    """An http(s) URL's other checks: one line, and a host to reach."""
    _one_line(value)
    try:
        host = urlsplit(value).hostname
    except ValueError:
        host = None
    if not host:
        raise PydanticCustomError("url_host", "the URL names no host it can reach", {})
    return value
