"""hosted doctor's checks: the logic with fakes (no VirtualBox needed), then on real VirtualBox."""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from hosted.backend.virtualbox.diagnose import Check, Probe, diagnose, unavailable
from hosted.backend.virtualbox.locate import Install
from hosted.errors import BackendUnavailable


class FakeMachine:
    def __init__(self, extradata: dict[str, str] | None = None, accessible: bool = True) -> None:
        self.accessible = accessible
        self._extra = extradata or {}

    def getExtraData(self, key: str) -> str:
        return self._extra.get(key, "")


def owned(env: str, machine: str) -> FakeMachine:
    return FakeMachine({"hosted/environment": env, "hosted/machine": machine})


def fake_service(folder: Path, api: str = "7_2", machines: list[FakeMachine] | None = None) -> Any:
    vbox = SimpleNamespace(version=api.replace("_", ".") + ".4", APIVersion=api, revision="170000",
                           systemProperties=SimpleNamespace(defaultMachineFolder=str(folder)))
    mgr = SimpleNamespace(getArray=lambda obj, attr: list(machines or []))
    return lambda module: (mgr, vbox)


def fake_vboxapi(found: Install) -> ModuleType:
    """'vboxapi' as if loaded from the install's own SDK directory (a system copy)."""
    module = ModuleType("vboxapi")
    module.__file__ = str(found.sdk_dir / "installer/python/vboxapi/src/vboxapi/__init__.py")
    Path(module.__file__).parent.mkdir(parents=True, exist_ok=True)
    Path(module.__file__).write_text("", encoding="utf-8")
    return module


def probe(tmp_path: Path, **overrides: Any) -> Probe:
    install = Install(tmp_path / "vbox", tmp_path / "vbox" / "sdk")
    environ: dict[str, str] = {}

    def load(found: Install) -> ModuleType:
        environ.setdefault("VBOX_PROGRAM_PATH", str(found.program_dir))
        environ.setdefault("VBOX_SDK_PATH", str(found.sdk_dir))
        return fake_vboxapi(found)

    fields: dict[str, Any] = {
        "system": "Linux", "environ": environ, "find_install": lambda: install, "import_vboxapi": load,
        "connect": fake_service(tmp_path / "machines"), "has_kernel_driver": lambda system: True,
        "which": lambda exe: f"/usr/bin/{exe}", "read_networks_conf": lambda: None,
    }
    fields.update(overrides)
    return Probe(**fields)


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def test_everything_in_place(tmp_path: Path) -> None:
    (tmp_path / "machines").mkdir()
    machines = [owned("demo", "web"), owned("demo", "db"), FakeMachine()]
    p = probe(tmp_path, connect=fake_service(tmp_path / "machines", machines=machines))
    checks = by_name(diagnose(p))
    assert [c for c in checks.values() if c.status != "ok"] == []
    assert list(checks) == ["install", "bindings", "vboxsvc", "api", "machine-folder", "machines",
                            "kernel-driver", "hostonly-ranges", "ssh"]
    assert "system vboxapi" in checks["bindings"].detail
    assert "VBOX_SDK_PATH=" in checks["bindings"].detail and "(set by hosted)" in checks["bindings"].detail
    assert checks["machines"].detail == "3 registered, 2 created by hosted in 1 environment"
    assert not unavailable(list(checks.values()))


def test_paths_from_the_environment_are_reported_as_such(tmp_path: Path) -> None:
    p = probe(tmp_path)
    assert isinstance(p.environ, dict)
    p.environ["VBOX_PROGRAM_PATH"] = "/opt/vbox"
    detail = by_name(diagnose(p))["bindings"].detail
    assert "VBOX_PROGRAM_PATH=/opt/vbox (from the environment)" in detail
    assert "VBOX_SDK_PATH=" in detail and "(set by hosted)" in detail


def test_missing_install_fails_and_skips_what_depends_on_it(tmp_path: Path) -> None:
    checks = diagnose(probe(tmp_path, find_install=lambda: None))
    assert [(c.name, c.status) for c in checks] == [("install", "fail"), ("ssh", "ok")]
    assert "install VirtualBox" in checks[0].hint
    assert unavailable(checks)


def test_missing_bindings_fail_with_the_hint(tmp_path: Path) -> None:
    def no_bindings(found: Install) -> ModuleType:
        raise BackendUnavailable("VirtualBox's Python bindings (vboxapi) could not be loaded: none",
                                 "pip install hosted[vbox]")

    checks = by_name(diagnose(probe(tmp_path, import_vboxapi=no_bindings)))
    assert checks["bindings"].status == "fail" and checks["bindings"].hint == "pip install hosted[vbox]"
    assert "vboxsvc" not in checks and "api" not in checks
    assert unavailable(list(checks.values()))


def test_a_broken_copy_of_the_bindings_does_not_raise(tmp_path: Path) -> None:
    def broken(found: Install) -> ModuleType:
        raise ImportError("undefined symbol: PyFoo")

    check = by_name(diagnose(probe(tmp_path, import_vboxapi=broken)))["bindings"]
    assert check.status == "fail" and "undefined symbol" in check.detail and check.hint


def test_vboxsvc_not_starting(tmp_path: Path) -> None:
    def refuse(module: ModuleType) -> Any:
        raise BackendUnavailable("cannot reach VirtualBox's service (VBoxSVC): timeout", "start it")

    checks = by_name(diagnose(probe(tmp_path, connect=refuse)))
    assert (checks["vboxsvc"].status, checks["vboxsvc"].hint) == ("fail", "start it")
    assert unavailable(list(checks.values()))


def test_old_version_fails(tmp_path: Path) -> None:
    checks = by_name(diagnose(probe(tmp_path, connect=fake_service(tmp_path, api="6_1"))))
    assert checks["api"].status == "fail" and "too old" in checks["api"].detail
    assert "upgrade" in checks["api"].hint
    assert unavailable(list(checks.values()))


def test_newer_version_warns_but_is_usable(tmp_path: Path) -> None:
    checks = by_name(diagnose(probe(tmp_path, connect=fake_service(tmp_path, api="7_3"))))
    assert checks["api"].status == "warn" and "newer than hosted knows" in checks["api"].detail
    assert not unavailable(list(checks.values()))


def test_no_kernel_driver_warns_on_linux(tmp_path: Path) -> None:
    linux = by_name(diagnose(probe(tmp_path, has_kernel_driver=lambda system: False)))["kernel-driver"]
    assert linux.status == "warn" and "driverless" in linux.detail and "vboxdrv" in linux.hint


# --- Windows and macOS hosts (issue 16, 2 and 9): doctor said "ok" there, unchecked ---


@pytest.mark.parametrize(("present", "status", "words"), [
    (True, "warn", "much more slowly"), (False, "ok", "VT-x/AMD-V"), (None, "warn", "could not ask")])
def test_hyper_v_beneath_windows_is_said(tmp_path: Path, present: bool | None, status: str,
                                        words: str) -> None:
    check = by_name(diagnose(probe(tmp_path, system="Windows", hypervisor_present=lambda: present,
                                   has_module=lambda name: True)))["kernel-driver"]
    assert check.status == status and words in check.detail
    if present:
        assert "hypervisorlaunchtype off" in check.hint


@pytest.mark.parametrize(("arch", "loaded", "status", "words"), [
    ("arm64", None, "ok", "arm64 machines only"),
    ("x86_64", True, "ok", "kernel extension is loaded"),
    ("x86_64", False, "fail", "no machine can start"),
    ("x86_64", None, "warn", "could not ask macOS"),
])
def test_the_kernel_extension_of_an_intel_mac_is_checked(tmp_path: Path, arch: str, loaded: bool | None,
                                                         status: str, words: str) -> None:
    check = by_name(diagnose(probe(tmp_path, system="Darwin", native_arch=lambda: arch,
                                   kext_loaded=lambda: loaded)))["kernel-driver"]
    assert check.status == status and words in check.detail
    if status == "fail":
        assert "Privacy & Security" in check.hint


def test_without_pywin32_doctor_says_what_to_install(tmp_path: Path) -> None:
    checks = by_name(diagnose(probe(tmp_path, system="Windows", hypervisor_present=lambda: False,
                                    has_module=lambda name: name != "win32com")))
    assert checks["bindings"].status == "fail" and "pywin32" in checks["bindings"].detail
    assert "vbox" in checks["bindings"].hint and "pywin32" in checks["bindings"].hint
    assert "vboxsvc" not in checks and unavailable(list(checks.values()))


def test_machine_folder_missing_but_creatable_and_not_creatable(tmp_path: Path) -> None:
    creatable = by_name(diagnose(probe(tmp_path, connect=fake_service(tmp_path / "new" / "vms"))))
    assert creatable["machine-folder"].status == "ok" and "creates it" in creatable["machine-folder"].detail
    (tmp_path / "afile").write_text("")
    blocked = by_name(diagnose(probe(tmp_path, connect=fake_service(tmp_path / "afile" / "vms"))))
    assert blocked["machine-folder"].status == "fail" and "setproperty machinefolder" in \
        blocked["machine-folder"].hint
    assert not unavailable(list(blocked.values()))


def test_inaccessible_machines_warn(tmp_path: Path) -> None:
    service = fake_service(tmp_path, machines=[owned("a", "x"), FakeMachine(accessible=False)])
    check = by_name(diagnose(probe(tmp_path, connect=service)))["machines"]
    assert check.status == "warn" and "1 inaccessible" in check.detail


def test_no_ssh_client_warns(tmp_path: Path) -> None:
    check = by_name(diagnose(probe(tmp_path, which=lambda exe: None)))["ssh"]
    assert check.status == "warn" and "openssh-client" in check.hint


# --- real VirtualBox ---


@pytest.mark.vbox
def test_on_real_virtualbox(virtualbox_backend: Any, maker: Any) -> None:
    made = maker.create(maker.spec("doctor"))
    checks = by_name(diagnose())
    for name in ("install", "bindings", "vboxsvc", "api", "machine-folder", "machines", "ssh"):
        assert checks[name].status == "ok", checks[name]
    assert str(virtualbox_backend.info().version) in checks["vboxsvc"].detail
    driver = "ok" if os.path.exists("/dev/vboxdrv") else "warn"
    assert checks["kernel-driver"].status == driver
    ctx = virtualbox_backend._ctx
    registered = len(ctx.array(ctx.vbox, "machines"))
    assert checks["machines"].detail.startswith(f"{registered} registered, ")
    assert made.uuid and "0 created by hosted" not in checks["machines"].detail
    assert not unavailable(list(checks.values()))
