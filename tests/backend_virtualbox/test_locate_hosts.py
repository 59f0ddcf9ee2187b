"""Finding VirtualBox on Windows and macOS hosts (issue 16, 9), with their layouts simulated:
the Windows registry's InstallDir, the user's own ~/Applications on macOS, and the SDK layout
of VirtualBox 7.0 next to that of 7.1 and later."""

from __future__ import annotations

from pathlib import Path, PureWindowsPath

from hosted.backend.virtualbox import locate


def test_windows_finds_the_install_the_registry_records() -> None:
    found = locate.candidate_program_dirs("Windows", {"ProgramFiles": r"C:\Program Files"},
                                          registry=lambda: r"E:\Apps\VirtualBox")
    assert [PureWindowsPath(p) for p in found[:2]] == [PureWindowsPath(r"E:\Apps\VirtualBox"),
                                                       PureWindowsPath(r"C:\Program Files\Oracle\VirtualBox")]


def test_the_installers_variable_still_comes_first_and_no_registry_is_fine() -> None:
    found = locate.candidate_program_dirs("Windows", {"VBOX_MSI_INSTALL_PATH": r"D:\VB"},
                                          registry=lambda: r"E:\Apps\VirtualBox")
    assert PureWindowsPath(found[0]) == PureWindowsPath(r"D:\VB")
    assert locate.candidate_program_dirs("Windows", {}, registry=lambda: None) == []
    assert locate._registry_install_dir() is None  # not Windows: no registry to read


def test_macos_looks_in_the_users_own_applications_too(tmp_path: Path) -> None:
    app = tmp_path / "Applications" / "VirtualBox.app" / "Contents" / "MacOS"
    app.mkdir(parents=True)
    (app / "VBoxSVC").write_bytes(b"")
    assert app in locate.candidate_program_dirs("Darwin", {"HOME": str(tmp_path)})
    found = locate.find_install("Darwin", {"HOME": str(tmp_path)})
    assert found is None or found.program_dir in (app, Path("/Applications/VirtualBox.app/Contents/MacOS"))
    if not Path("/Applications/VirtualBox.app").exists():
        assert found == locate.Install(app, app / "sdk")


def test_the_bindings_of_virtualbox_7_0_and_7_1_are_found_in_the_sdk(tmp_path: Path) -> None:
    for sdk, where in ((tmp_path / "70" / "sdk", "installer"),
                       (tmp_path / "72" / "sdk", "installer/python/vboxapi/src")):
        package = sdk / where / "vboxapi"
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("", encoding="utf-8")
        install = locate.Install(sdk.parent, sdk)
        assert locate.system_bindings_dirs(install, "Windows") == [sdk / where]
