"""Differences between VirtualBox API versions, keyed on ``IVirtualBox.APIVersion``.

7.0: firmware is ``IMachine.firmwareType``, chipset is ``IMachine.chipsetType``,
``createMachine`` has no platform-architecture argument and the maximum
number of network adapters is on ``ISystemProperties``.
7.1 moved chipset/RTC/x86 settings under ``IMachine.platform``, firmware under
``IMachine.firmwareSettings``, added the architecture to ``createMachine`` and
moved adapter limits to ``ISystemProperties.platform``, and split
``IUnattended.password`` into ``userPassword`` / ``adminPassword``.  7.2 is the
same as 7.1 for everything hosted uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from hosted.errors import UnsupportedVirtualBox
from hosted.events import Emit, Event

OLDEST = (7, 0)
NEWEST_KNOWN = (7, 2)
ApiSupport = Literal["too old", "known", "newer"]


def _dotted(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def _known_versions() -> str:
    """``7.0, 7.1 or 7.2``: every version from OLDEST to NEWEST_KNOWN."""
    if OLDEST[0] != NEWEST_KNOWN[0]:
        return f"{_dotted(OLDEST)} to {_dotted(NEWEST_KNOWN)}"
    names = [_dotted((OLDEST[0], minor)) for minor in range(OLDEST[1], NEWEST_KNOWN[1] + 1)]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


OLDEST_NAME, NEWEST_NAME = _dotted(OLDEST), _dotted(NEWEST_KNOWN)
KNOWN_RANGE = f"{OLDEST_NAME} to {NEWEST_NAME}"
KNOWN_VERSIONS = _known_versions()
UPGRADE_HINT = f"upgrade VirtualBox to {KNOWN_VERSIONS}"


def parse_api_version(api_version: str) -> tuple[int, int]:
    """``"7_2"`` (also ``"7_1_r1"``-like suffixes) -> ``(7, 2)``."""
    match = re.match(r"^\s*(\d+)[_.](\d+)", api_version or "")
    if not match:
        raise UnsupportedVirtualBox(
            f"cannot read VirtualBox's API version {api_version!r}",
            f"install VirtualBox {KNOWN_VERSIONS}",
        )
    return int(match.group(1)), int(match.group(2))


def classify_api(api_version: str) -> tuple[tuple[int, int], ApiSupport]:
    """The version and what hosted makes of it: refused ("too old"), known, or
    "newer" (used as the newest known one, with a warning); unreadable raises UnsupportedVirtualBox."""
    parsed = parse_api_version(api_version)
    if parsed < OLDEST:
        return parsed, "too old"
    return parsed, "newer" if parsed > NEWEST_KNOWN else "known"


@dataclass(frozen=True)
class Api:
    """What differs between API versions, as small operations on vboxapi objects."""

    version: tuple[int, int]

    @property
    def has_platform(self) -> bool:
        return self.version >= (7, 1)

    def create_machine(self, vbox: Any, const: Any, name: str, os_type: str, arch: str = "x86_64",
                       groups: tuple[str, ...] = ()) -> Any:
        """An unregistered machine for the CPU architecture ``arch`` (``arm64``; else x86), in
        ``groups`` (VirtualBox keeps a grouped machine's folder under its first group's)."""
        if self.has_platform:
            platform = const.PlatformArchitecture_ARM if arch == "arm64" else const.PlatformArchitecture_x86
            return vbox.createMachine("", name, platform, list(groups), os_type, "", "", "", "")
        return vbox.createMachine("", name, list(groups), os_type, "", "", "", "")  # 7.0: x86 only

    def host_architecture(self, vbox: Any, const: Any) -> str:
        """The computer's CPU family as VirtualBox sees it (7.1+; 7.0 runs x86 only).  VBoxSVC is
        native: unlike platform.machine(), Rosetta does not make an arm64 Mac x86_64 here."""
        if self.has_platform and int(vbox.host.architecture) == int(const.PlatformArchitecture_ARM):
            return "arm64"
        return "x86_64"

    def architecture(self, const: Any, machine: Any) -> str:
        """The machine's CPU architecture, as ``create_machine`` takes it."""
        if self.has_platform and int(machine.platform.architecture) == int(const.PlatformArchitecture_ARM):
            return "arm64"
        return "x86_64"

    def firmware_type(self, machine: Any) -> int:
        if self.has_platform:
            return int(machine.firmwareSettings.firmwareType)
        return int(machine.firmwareType)

    def set_firmware_type(self, machine: Any, value: int) -> None:
        if self.has_platform:
            machine.firmwareSettings.firmwareType = value
        else:
            machine.firmwareType = value

    def nested_virtualization(self, machine: Any, const: Any) -> bool:
        if self.has_platform:
            return bool(machine.platform.x86.getCPUProperty(const.CPUPropertyTypeX86_HWVirt))
        return bool(machine.getCPUProperty(const.CPUPropertyType_HWVirt))

    def set_nested_virtualization(self, machine: Any, const: Any, value: bool) -> None:
        if self.has_platform:
            machine.platform.x86.setCPUProperty(const.CPUPropertyTypeX86_HWVirt, value)
        else:
            machine.setCPUProperty(const.CPUPropertyType_HWVirt, value)

    def firmware_settings(self, machine: Any) -> Any:
        """Where the I/O APIC setting lives: IFirmwareSettings (7.1), IBIOSSettings (7.0)."""
        return machine.firmwareSettings if self.has_platform else machine.BIOSSettings

    def chipset(self, machine: Any) -> int:
        return int(machine.platform.chipsetType if self.has_platform else machine.chipsetType)

    def max_network_adapters(self, vbox: Any, chipset: int) -> int:
        props = vbox.systemProperties.platform if self.has_platform else vbox.systemProperties
        return int(props.getMaxNetworkAdapters(chipset))

    def set_unattended_password(self, unattended: Any, password: str) -> None:
        # Only the user's: without an admin password the installer uses the user's for root too.
        if self.has_platform:
            unattended.userPassword = password
        else:
            unattended.password = password


def select_api(api_version: str, version: str, emit: Emit) -> Api:
    """The Api for this VirtualBox; older than OLDEST is refused, unknown newer warns."""
    parsed, support = classify_api(api_version)
    if support == "too old":
        raise UnsupportedVirtualBox(
            f"VirtualBox {version} (API {api_version}) is too old; hosted needs {OLDEST_NAME} or newer",
            UPGRADE_HINT,
        )
    if support == "newer":
        emit(Event("warning", f"VirtualBox {version} (API {api_version}) is newer than hosted knows "
                              f"(up to {NEWEST_NAME}); proceeding as with {NEWEST_NAME}"))
    return Api(parsed)
