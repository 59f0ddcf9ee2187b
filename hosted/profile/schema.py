"""The profile format (version 1) as pydantic models: validation and JSON Schema.

These models describe the YAML as written; ``build`` turns them into
``hosted.model`` dataclasses.  Every machine key is optional so that the same
model serves ``defaults`` and each machine; ``None`` means "not given here".
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from hosted.profile.types import (
    CloudInit,
    Cpus,
    DiskMB,
    ExistingDir,
    ExistingFile,
    ExistingPath,
    Flag,
    GuestIp,
    GuestPath,
    HostIp,
    HostPort,
    ImageSource,
    Line,
    MemoryMB,
    Name,
    Port,
    Seconds,
    Sha256,
    Text,
    UserName,
)

Adapter = Literal["Am79C970A", "Am79C973", "82540EM", "82543GC", "82545EM", "virtio", "Am79C960"]
NIC_KINDS = ("nat", "internal", "hostonly", "bridged")
MAX_NICS = 8  # VirtualBox's network adapter slots with the default (PIIX3) chipset


class Strict(BaseModel):
    """No unknown keys, no silent type coercion."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        data = cls.normalize(data)
        if isinstance(data, dict):
            for key in data:
                if key not in cls.model_fields:
                    # Reported at the key itself, with the allowed keys for a did-you-mean.
                    raise PydanticCustomError(
                        "unknown_key", "unknown key '{key}'",
                        {"key": key, "allowed": list(cls.model_fields)},
                    )
        return data

    @classmethod
    def normalize(cls, data: Any) -> Any:
        return data


def _one_of(model: BaseModel, keys: tuple[str, ...], what: str) -> None:
    given = [k for k in keys if getattr(model, k) is not None]
    if len(given) != 1:
        names = ", ".join(keys)
        found = f"got {', '.join(given)}" if given else "got none"
        raise PydanticCustomError("one_of", "{what} needs exactly one of {names} ({found})",
                                  {"what": what, "names": names, "found": found})


def _fullmatch(pattern: str, value: str, what: str) -> str:
    if not re.fullmatch(pattern, value):
        raise PydanticCustomError("pattern", "'{value}' is not {what}", {"value": value[:60], "what": what})
    return value


def _matching(pattern: str, what: str) -> AfterValidator:
    return AfterValidator(lambda value: _fullmatch(pattern, value, what))


# pydantic matches `pattern` with Rust's regex, whose `$` is the end of the text only (no
# trailing newline slips through, unlike Python's `re.match`).
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class Forward(Strict):
    name: Name | None = Field(None, description="rule name, unique per NIC (default: tcp<guest>)")
    guest: Port = Field(description="guest port")
    host: HostPort = Field(None, description="host port, or 'auto' (the default) for a free one",
                           json_schema_extra={"default": "auto"})
    host_ip: HostIp = Field("127.0.0.1", description="host address to listen on ('' = all)")
    guest_ip: GuestIp = ""
    protocol: Literal["tcp", "udp"] = "tcp"


class Nat(Strict):
    forwards: list[Forward] = Field(default_factory=list)
    adapter: Adapter | None = None


class Internal(Strict):
    network: Name = Field(description="internal network name")
    adapter: Adapter | None = None


class HostOnly(Strict):
    interface: Line | None = Field(None, description="host-only interface, e.g. vboxnet0")
    adapter: Adapter | None = None


class Bridged(Strict):
    interface: Line | None = Field(None, description="host interface to bridge, e.g. eth0")
    adapter: Adapter | None = None


class NicEntry(Strict):
    """``- nat`` or ``- nat: {...}`` / ``- internal: {...}`` / ..."""

    nat: Nat | None = None
    internal: Internal | None = None
    hostonly: HostOnly | None = None
    bridged: Bridged | None = None

    @classmethod
    def normalize(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {data: {}}
        if isinstance(data, dict):
            return {k: ({} if v is None else v) for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> NicEntry:
        _one_of(self, NIC_KINDS, "a NIC")
        return self


class SharedFolder(Strict):
    host: ExistingDir = Field(description="host directory, relative to the profile file")
    guest: GuestPath = Field("", description="mount point in the guest")
    name: Name | None = Field(None, description="VirtualBox share name (default: from the guest path)")
    readonly: Flag = Field(True, description="the guest may not write (default); false makes it writable")
    allow_sensitive: Flag = Field(False, description="allow sharing /, your home directory (or a directory "
                                  "holding it) or a credentials directory such as ~/.ssh")


class Ssh(Strict):
    user: UserName | None = Field(None, description="login user (default root)")
    port: Port | None = Field(None, description="guest SSH port (default 22)")
    private_key: ExistingFile | None = Field(None, description="private key, relative to the profile")


class Ready(Strict):
    vm_running: Seconds | None = None
    guest_network: Seconds | None = None
    tcp: Seconds | None = None
    ssh: Seconds | None = None
    command: Text | None = Field(None, description="a guest command that must succeed")
    command_timeout: Seconds | None = None


class Shell(Strict):
    inline: str | None = None
    script: ExistingFile | None = None

    @classmethod
    def normalize(cls, data: Any) -> Any:
        return {"inline": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _exactly_one(self) -> Shell:
        _one_of(self, ("inline", "script"), "a shell step")
        return self


class CopyFile(Strict):
    source: ExistingPath = Field(description="host file or directory, relative to the profile")
    destination: Line = Field(description="path in the guest")
    allow_sensitive: Flag = Field(False, description="allow copying from a credentials directory "
                                  "such as ~/.ssh, your home directory or /")


EnvValue = str | int | float


class ProvisionEntry(Strict):
    shell: Shell | None = None
    file: CopyFile | None = None
    name: Name | None = Field(None, description="stable label (default: shell-1, file-2, ...)")
    run: Literal["once", "always"] = "once"
    env: dict[EnvName, EnvValue] = Field(default_factory=dict)
    privileged: Flag = False

    @model_validator(mode="after")
    def _exactly_one(self) -> ProvisionEntry:
        _one_of(self, ("shell", "file"), "a provision step")
        return self


InstallUser = Annotated[str, _matching(r"[a-z_][a-z0-9_-]{0,31}",
                                       "a user name (lower case, digits, _ and -)")]
Hostname = Annotated[str, _matching(r"(?=.{2,253}\Z)[A-Za-z0-9][A-Za-z0-9-]{1,62}(\.[A-Za-z0-9-]{1,63})*",
                                    "a host name (letters, digits and -, dot-separated, at least "
                                    "two characters before the first dot)")]
Locale = Annotated[str, _matching(r"[a-z]{2,3}_[A-Z]{2}", "a locale such as en_US or de_DE")]
TimeZone = Annotated[str, _matching(r"[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*",
                                    "a time zone such as Europe/Berlin")]


class Install(Strict):
    """``install:`` of a machine whose image is an installer ISO (VirtualBox's unattended install)."""

    user: InstallUser | None = Field(None, description="the user the installer creates (default hosted)")
    password: Line | None = Field(None, description="the user's password (default: generated once, "
                                  "kept in hosted's data directory)")
    full_name: Line | None = Field(None, description="the user's full name (default: the user name)")
    hostname: Hostname | None = Field(None, description="host name (default: the machine name); "
                                      "without a domain it gets .localdomain")
    guest_additions: Flag | None = Field(None, description="install the Guest Additions (default false)")
    locale: Locale | None = Field(None, description="locale (default en_US)")
    time_zone: TimeZone | None = Field(None, description="time zone, e.g. Europe/Berlin (default Etc/UTC)")


class Machine(Strict):
    """One machine; also the shape of ``defaults``."""

    vm_name: Name | None = Field(None, description="VirtualBox name (default: ENV-MACHINE)")
    os_type: Line | None = Field(None, description="VirtualBox guest OS type id, e.g. Debian_64")
    cpus: Cpus | None = None
    memory: MemoryMB | None = Field(None, description="MB, or a size such as 512M / 2G")
    disk: DiskMB | None = Field(None, description="size of a new empty disk: MB or 10G")
    firmware: Literal["bios", "efi"] | None = None
    state: Literal["running", "poweroff"] | None = Field(None, description="desired power state")
    nics: list[NicEntry] | None = Field(None, max_length=MAX_NICS)
    shared_folders: list[SharedFolder] | None = None
    dvd: ExistingFile | None = Field(None, description="ISO image, relative to the profile")
    ssh: Ssh | None = None
    ready: Ready | None = None
    provision: list[ProvisionEntry] | None = None
    baseline: Flag | None = None
    image: Name | None = Field(None, description="an image named under `images:`: the machine starts from it")
    linked: Flag | None = Field(None, description="with an image: a linked clone of its template "
                                "(default true); false for a full clone")
    cloud_init: CloudInit | None = Field(
        None, description="cloud-init user-data for the NoCloud seed: a mapping (cloud-config) or text "
        "starting with a cloud-init header such as #cloud-config")
    install: Install | None = Field(None, description="with an installer ISO image: the unattended "
                                    "install's user, password, host name, locale")


ImageKind = Literal["auto", "box", "ova", "ovf", "disk", "iso"]


class Image(Strict):
    """One base image under ``images:``."""

    source: ImageSource = Field(description="path (relative to the profile; a file, or a directory such "
                                "as a Vagrant box store entry) or an http(s) URL")
    sha256: Sha256 | None = Field(None, description="expected sha256 of the file (required for URLs)")
    kind: ImageKind = Field("auto", description="what the file is; auto detects it from its content")
    arch: Literal["x86_64", "arm64"] | None = Field(
        None, description="CPU architecture of the image (default: what the image says)")
    cloud_init: Flag = Field(False, description="the image expects a cloud-init NoCloud seed")


class Profile(Strict):
    SUPPORTED_VERSIONS: ClassVar[tuple[int, ...]] = (1,)

    version: Literal[1] = Field(description="profile format version")
    name: Name = Field(description="environment name; every machine is tagged with it")
    secrets: list[EnvName] | None = Field(None, description="names of the ${VARIABLES} whose values are "
                                          "secret: never written to logs, bundles or JSON")
    defaults: Machine | None = Field(None, description="machine keys applied under every machine")
    images: dict[Name, Image] | None = Field(None, description="image name -> base image")
    machines: dict[Name, Machine] = Field(min_length=1, description="machine name -> machine")

    @classmethod
    def normalize(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("machines"), dict):
            machines = {k: ({} if v is None else v) for k, v in data["machines"].items()}
            return {**data, "machines": machines}
        return data
