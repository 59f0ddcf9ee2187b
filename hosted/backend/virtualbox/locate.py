"""Finding VirtualBox and its Python bindings on this host.

Everything that depends on the host operating system's install layout (install
paths, where a system copy of ``vboxapi`` sits) is here, so the rest of the
backend is the same on Linux, macOS and Windows.  Whether the kernel driver is
loaded is ``driverless``'s question.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from hosted.errors import BackendUnavailable

_INSTALL_HINT = (
    "install VirtualBox 7.0 or newer from https://www.virtualbox.org/wiki/Downloads "
    "(on Linux also your distribution's 'virtualbox' package)"
)
_BINDINGS_HINT = (
    "install VirtualBox's Python bindings: your distribution's package (e.g. 'virtualbox' on Debian "
    "ships /usr/lib/python3/dist-packages/vboxapi) or 'pip install hosted[vbox]' (PyPI vbox-sdk)"
)


@dataclass(frozen=True)
class Install:
    """A VirtualBox installation: its program directory and SDK directory."""

    program_dir: Path
    sdk_dir: Path


def candidate_program_dirs(system: str, env: dict[str, str] | os._Environ[str],
                           registry: Callable[[], str | None] | None = None) -> list[Path]:
    """Where VirtualBox's programs may be, most specific first.

    Windows: the installer's ``VBOX_MSI_INSTALL_PATH``, then the ``InstallDir`` it records
    in the registry (``registry``: a reader of it, for tests), then Program Files.  macOS:
    /Applications, then the user's own ~/Applications.
    """
    found: list[Path] = []
    for var in ("VBOX_PROGRAM_PATH", "VBOX_INSTALL_PATH", "VBOX_MSI_INSTALL_PATH"):
        if env.get(var):
            found.append(Path(env[var]))
    if system == "Darwin":
        found.append(Path("/Applications/VirtualBox.app/Contents/MacOS"))
        home = env.get("HOME") or str(Path.home())
        found.append(Path(home) / "Applications" / "VirtualBox.app" / "Contents" / "MacOS")
    elif system == "Windows":
        recorded = (registry or _registry_install_dir)()
        if recorded:
            found.append(Path(recorded))
        for var in ("ProgramFiles", "ProgramW6432"):
            if env.get(var):
                found.append(Path(env[var]) / "Oracle" / "VirtualBox")
    else:
        found += [Path("/usr/lib/virtualbox"), Path("/usr/lib64/virtualbox"), Path("/opt/VirtualBox")]
    return found


def _registry_install_dir() -> str | None:
    """``InstallDir`` under HKLM\\SOFTWARE\\Oracle\\VirtualBox, where VirtualBox's installer records it."""
    if sys.platform != "win32":
        return None
    import winreg

    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\Oracle\VirtualBox") as key:
            value, _ = winreg.QueryValueEx(key, "InstallDir")
    except OSError:
        return None
    return str(value) if value else None


def _looks_installed(path: Path, system: str) -> bool:
    exe = "VBoxSVC.exe" if system == "Windows" else "VBoxSVC"
    return (path / exe).exists()


def find_install(system: str | None = None, env: dict[str, str] | None = None) -> Install | None:
    system = system or platform.system()
    environ = os.environ if env is None else env
    for path in candidate_program_dirs(system, environ):
        if _looks_installed(path, system):
            sdk = Path(environ["VBOX_SDK_PATH"]) if environ.get("VBOX_SDK_PATH") else path / "sdk"
            return Install(program_dir=path, sdk_dir=sdk)
    return None


def system_bindings_dirs(install: Install, system: str | None = None) -> list[Path]:
    """Directories where the operating system's own copy of ``vboxapi`` may be."""
    system = system or platform.system()
    # 7.1 and later: sdk/installer/python/vboxapi/src/vboxapi; 7.0: sdk/installer/vboxapi.
    dirs = [install.sdk_dir / "installer" / "python" / "vboxapi" / "src", install.sdk_dir / "installer"]
    if system not in ("Windows", "Darwin"):
        ver = f"python{sys.version_info.major}.{sys.version_info.minor}"
        dirs += [
            Path("/usr/lib/python3/dist-packages"),
            Path(f"/usr/lib/{ver}/site-packages"),
            Path(f"/usr/lib64/{ver}/site-packages"),
            Path(f"/usr/local/lib/{ver}/dist-packages"),
        ]
    return [d for d in dirs if (d / "vboxapi" / "__init__.py").exists()]


def _load_from(directory: Path) -> ModuleType:
    # Load only the vboxapi package from that directory: putting a whole
    # dist-packages on sys.path would shadow this interpreter's own packages.
    spec = importlib.machinery.PathFinder.find_spec("vboxapi", [str(directory)])
    if spec is None or spec.loader is None:
        raise ImportError(f"no vboxapi in {directory}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["vboxapi"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules["vboxapi"]
        raise
    return module


def import_vboxapi(install: Install) -> ModuleType:
    """The system's ``vboxapi`` if there is one, else an importable one (PyPI vbox-sdk).

    vboxapi reads VBOX_PROGRAM_PATH / VBOX_SDK_PATH when imported; the PyPI
    copy has unfilled placeholders instead of defaults, so set them from the
    install found.
    """
    if "vboxapi" in sys.modules:
        return sys.modules["vboxapi"]
    os.environ.setdefault("VBOX_PROGRAM_PATH", str(install.program_dir))
    os.environ.setdefault("VBOX_SDK_PATH", str(install.sdk_dir))
    errors: list[str] = []
    for directory in system_bindings_dirs(install):
        try:
            return _load_from(directory)
        except Exception as exc:  # a broken copy: try the next one
            errors.append(f"{directory}: {exc}")
    try:
        return importlib.import_module("vboxapi")
    except Exception as exc:
        errors.append(f"vboxapi: {exc}")
    raise BackendUnavailable(
        "VirtualBox's Python bindings (vboxapi) could not be loaded: " + "; ".join(errors),
        _BINDINGS_HINT,
    )


def require_install() -> Install:
    install = find_install()
    if install is None:
        raise BackendUnavailable("VirtualBox is not installed (VBoxSVC not found)", _INSTALL_HINT)
    return install


def service_hint() -> str:
    if platform.system() == "Linux":
        return ("check that VirtualBox works for this user ('VBoxManage list vms'); "
                "VBoxSVC is started on demand and may need a minute after an upgrade")
    return "start VirtualBox once, or check its installation ('VBoxManage list vms')"
