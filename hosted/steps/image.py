"""Steps that bring a base image to a machine: fetch it, import it as a template,
clone the machine from it, give it a cloud-init seed, or install its OS from an ISO.

``FetchImage`` and ``ImportTemplate`` are steps of the host (``machine`` is ""):
the runner does them once, before the machines that need the image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from hosted.steps.base import Step


@dataclass(frozen=True, kw_only=True)
class FetchImage(Step):
    """Download (resuming) or hash a local file; verify its sha256; unpack it once."""

    image: str  # the profile's image name
    size: int | None = None  # bytes, when known before fetching
    kind: ClassVar[str] = "fetch-image"
    phase: ClassVar[str] = "image"

    def summary(self) -> str:
        return f"fetch {self.image}"


@dataclass(frozen=True, kw_only=True)
class ImportTemplate(Step):
    """The image imported once as a hidden template machine with a base snapshot."""

    image: str
    kind: ClassVar[str] = "import-template"
    phase: ClassVar[str] = "image"

    def summary(self) -> str:
        return f"import template for {self.image}"


@dataclass(frozen=True, kw_only=True)
class WriteSeed(Step):
    """The NoCloud seed (user, key, hostname, the profile's user-data) of a cloud image."""

    image: str
    hosts: tuple[tuple[str, str], ...] = ()  # (address, name) of the other machines, for /etc/hosts
    kind: ClassVar[str] = "write-seed"
    phase: ClassVar[str] = "configure"

    def summary(self) -> str:
        return "write the cloud-init seed"


@dataclass(frozen=True, kw_only=True)
class Clone(Step):
    """A new machine from the image's template: a linked clone, or a full copy."""

    image: str
    vm_name: str
    linked: bool = True
    template: str = ""  # the template's uuid when it exists at planning time
    what: str = ""  # the declared configuration applied to the clone
    kind: ClassVar[str] = "clone"
    phase: ClassVar[str] = "configure"

    def summary(self) -> str:
        how = "linked clone" if self.linked else "full clone"
        text = f"clone {self.vm_name} from {self.image} ({how})"
        return text + (f": {self.what}" if self.what else "")


@dataclass(frozen=True, kw_only=True)
class InstallFromIso(Step):
    """Prepare the machine to install its OS from the installer ISO, unattended, on first start."""

    image: str
    kind: ClassVar[str] = "install-from-iso"
    phase: ClassVar[str] = "configure"

    def summary(self) -> str:
        return f"prepare the unattended install from {self.image}"
