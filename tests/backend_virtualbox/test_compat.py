"""Version logic and the install seam: pure, no VirtualBox needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hosted.backend.virtualbox import compat, driverless, locate
from hosted.backend.virtualbox.compat import Api, classify_api, parse_api_version, select_api
from hosted.errors import UnsupportedVirtualBox
from hosted.events import Recorder


class Obj:
    def __init__(self, **attrs: Any) -> None:
        self.__dict__.update(attrs)
        self.calls: list[tuple[Any, ...]] = []

    def createMachine(self, *args: Any) -> tuple[Any, ...]:
        return args

    def getMaxNetworkAdapters(self, chipset: int) -> int:
        return {1: 8, 2: 36}[chipset]


CONST = Obj(PlatformArchitecture_x86=1, PlatformArchitecture_ARM=2)


@pytest.mark.parametrize(("text", "parsed"), [("7_0", (7, 0)), ("7_1", (7, 1)), ("7_2", (7, 2)),
                                              ("8_0_r3", (8, 0)), ("6_1", (6, 1))])
def test_parse_api_version(text: str, parsed: tuple[int, int]) -> None:
    assert parse_api_version(text) == parsed


def test_unreadable_api_version_is_unsupported() -> None:
    with pytest.raises(UnsupportedVirtualBox):
        parse_api_version("banana")


@pytest.mark.parametrize(("api", "support"), [("6_1", "too old"), ("7_0", "known"), ("7_1", "known"),
                                               ("7_2", "known"), ("7_3", "newer"), ("8_0", "newer")])
def test_classify_api(api: str, support: str) -> None:
    assert classify_api(api) == (parse_api_version(api), support)


def test_the_hints_name_the_versions_hosted_knows() -> None:
    for hint in (compat.UPGRADE_HINT, f"install VirtualBox {compat.KNOWN_VERSIONS}"):
        assert compat.OLDEST_NAME in hint and compat.NEWEST_NAME in hint
    assert compat.UPGRADE_HINT == "upgrade VirtualBox to 7.0, 7.1 or 7.2"  # while 7.2 is the newest known
    with pytest.raises(UnsupportedVirtualBox) as err:
        parse_api_version("banana")
    assert err.value.hint == f"install VirtualBox {compat.KNOWN_VERSIONS}"


def test_older_than_7_0_is_refused_with_a_hint() -> None:
    with pytest.raises(UnsupportedVirtualBox) as err:
        select_api("6_1", "6.1.50", Recorder())
    assert "6.1.50" in err.value.message and "upgrade" in err.value.hint


@pytest.mark.parametrize("api", ["7_0", "7_1", "7_2"])
def test_known_versions_do_not_warn(api: str) -> None:
    rec = Recorder()
    assert select_api(api, "7.x", rec).version == parse_api_version(api)
    assert rec.events == []


def test_unknown_newer_version_warns_and_proceeds_with_the_newest_layout() -> None:
    rec = Recorder()
    api = select_api("7_3", "7.3.0", rec)
    assert api.has_platform
    assert len(rec.messages("warning")) == 1 and "7.3.0" in rec.messages("warning")[0]


def test_7_0_create_machine_has_no_architecture_argument() -> None:
    vbox = Obj()
    args = Api((7, 0)).create_machine(vbox, CONST, "vm", "Linux_64")
    assert args == ("", "vm", [], "Linux_64", "", "", "", "")


def test_7_1_create_machine_passes_the_architecture() -> None:
    args = Api((7, 1)).create_machine(Obj(), CONST, "vm", "Linux_64")
    assert args == ("", "vm", 1, [], "Linux_64", "", "", "", "")


@pytest.mark.parametrize("arch", ["x86_64", "arm64"])
def test_7_0_create_machine_makes_x86_whatever_the_architecture(arch: str) -> None:
    args = Api((7, 0)).create_machine(Obj(), CONST, "vm", "Linux_64", arch)
    assert args == ("", "vm", [], "Linux_64", "", "", "", "")


@pytest.mark.parametrize(("version", "arch", "platform"), [
    ((7, 1), "x86_64", 1), ((7, 1), "arm64", 2), ((7, 2), "arm64", 2), ((7, 2), "anything else", 1),
])
def test_7_1_and_later_create_machine_for_the_architecture(
    version: tuple[int, int], arch: str, platform: int
) -> None:
    args = Api(version).create_machine(Obj(), CONST, "vm", "Ubuntu_arm64", arch)
    assert args == ("", "vm", platform, [], "Ubuntu_arm64", "", "", "", "")


def test_architecture_of_a_machine_per_version() -> None:
    arm, x86 = Obj(platform=Obj(architecture=2)), Obj(platform=Obj(architecture=1))
    assert Api((7, 0)).architecture(CONST, Obj()) == "x86_64"  # 7.0 has no IMachine.platform
    assert Api((7, 1)).architecture(CONST, x86) == "x86_64"
    assert Api((7, 2)).architecture(CONST, arm) == "arm64"
    # What architecture() reads back, create_machine() makes again.
    assert Api((7, 2)).create_machine(Obj(), CONST, "vm", "L", Api((7, 2)).architecture(CONST, arm))[2] == 2


def test_firmware_lives_on_the_machine_in_7_0_and_in_firmware_settings_later() -> None:
    old = Obj(firmwareType=1)
    Api((7, 0)).set_firmware_type(old, 2)
    assert old.firmwareType == 2 and Api((7, 0)).firmware_type(old) == 2
    new = Obj(firmwareSettings=Obj(firmwareType=1))
    Api((7, 2)).set_firmware_type(new, 2)
    assert new.firmwareSettings.firmwareType == 2 and Api((7, 2)).firmware_type(new) == 2


def test_chipset_and_adapter_limits_per_version() -> None:
    props = Obj()
    old_vbox, new_vbox = Obj(systemProperties=props), Obj(systemProperties=Obj(platform=props))
    assert Api((7, 0)).chipset(Obj(chipsetType=2)) == 2
    assert Api((7, 1)).chipset(Obj(platform=Obj(chipsetType=1))) == 1
    assert Api((7, 0)).max_network_adapters(old_vbox, 2) == 36
    assert Api((7, 1)).max_network_adapters(new_vbox, 1) == 8


@pytest.mark.parametrize(("system", "env", "expected"), [
    ("Linux", {}, Path("/usr/lib/virtualbox")),
    ("Darwin", {}, Path("/Applications/VirtualBox.app/Contents/MacOS")),
    ("Windows", {"ProgramFiles": "C:\\Program Files"}, Path("C:\\Program Files") / "Oracle" / "VirtualBox"),
    ("Windows", {"VBOX_MSI_INSTALL_PATH": "D:\\VB"}, Path("D:\\VB")),
])
def test_install_candidates_per_platform(system: str, env: dict[str, str], expected: Path) -> None:
    assert locate.candidate_program_dirs(system, env)[0] == expected


def test_find_install_uses_the_first_directory_with_vboxsvc(tmp_path: Path) -> None:
    (tmp_path / "VBoxSVC").write_text("")
    found = locate.find_install("Linux", {"VBOX_INSTALL_PATH": str(tmp_path)})
    assert found == locate.Install(tmp_path, tmp_path / "sdk")


def test_no_install_found(tmp_path: Path) -> None:
    assert locate.find_install("Linux", {"VBOX_INSTALL_PATH": str(tmp_path / "nope")}) is None or \
        Path("/usr/lib/virtualbox/VBoxSVC").exists()


def test_driverless_extradata_only_without_the_kernel_driver() -> None:
    assert driverless.driverless_extradata("Windows") == ()
    assert driverless.driverless_extradata("Darwin") == ()
    expected = () if Path("/dev/vboxdrv").exists() else driverless.DRIVERLESS_EXTRADATA
    assert driverless.driverless_extradata("Linux") == expected


def test_importing_the_package_does_not_import_vboxapi() -> None:
    import subprocess
    import sys

    code = ("import sys, hosted.backend.virtualbox as v; "
            "assert 'vboxapi' not in sys.modules and callable(v.connect)")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_an_inaccessible_machine_is_reported_not_raised() -> None:
    from hosted.backend.virtualbox.observe import observe

    broken = Obj(accessible=False, id="u-1", settingsFilePath="/vms/old/old.vbox")
    m = observe(None, broken)  # type: ignore[arg-type]  # nothing but the machine is touched
    assert (m.uuid, m.vm_name, m.accessible, m.tags) == ("u-1", "old", False, None)


def test_redirect_strings_parse_into_forwards() -> None:
    from hosted.backend.virtualbox.observe import parse_redirect
    from hosted.model import Forward

    assert parse_redirect("ssh,1,127.0.0.1,2222,,22") == Forward("ssh", 22, 2222, "127.0.0.1", "tcp", "")
    assert parse_redirect("dns,0,,5353,10.0.2.15,53") == Forward("dns", 53, 5353, "", "udp", "10.0.2.15")
