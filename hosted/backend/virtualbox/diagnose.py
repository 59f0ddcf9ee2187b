"""`hosted doctor`'s checks: is VirtualBox usable here, and if not, what to do.

``diagnose()`` never raises for an expected failure: every problem becomes a
Check with status "fail" (or "warn") and a hint.  A check that depends on an
earlier one that failed (no install -> no bindings -> no VBoxSVC) is left out
rather than reported as a second failure.  The host-specific parts are the
``Probe``'s functions, so the logic is tested without VirtualBox.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from hosted import hostinfo, networks
from hosted.backend.virtualbox import compat, connection, driverless, hostchecks, locate
from hosted.backend.virtualbox.extradata import read_tags
from hosted.errors import HostedError
from hosted.model import DRIVER_NIC_KINDS

Status = Literal["ok", "warn", "fail"]
# Checks whose failure means VirtualBox cannot be used at all (exit code 3).
CORE = ("install", "bindings", "vboxsvc", "api")
PATH_VARS = ("VBOX_PROGRAM_PATH", "VBOX_SDK_PATH")


@dataclass(frozen=True)
class Check:
    """One check of `hosted doctor`: what was checked, how it went, and what to do about it."""
    name: str  # stable id: install, bindings, vboxsvc, api, kernel-driver, hostonly-ranges, machine-folder,
    # machines, ssh
    status: Status
    detail: str
    hint: str = ""
    error: str = ""  # the HostedError behind a failure, by its type's name (not in the JSON)

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "hint": self.hint}


def _connect(_module: ModuleType) -> tuple[Any, Any]:
    from hosted.backend.virtualbox import connection

    mgr, _ = connection.manager()
    return mgr, connection.virtualbox(mgr)


@dataclass
class Probe:
    """What diagnose asks the host; tests replace these with fakes."""

    system: str = field(default_factory=platform.system)
    environ: dict[str, str] | os._Environ[str] = field(default_factory=lambda: os.environ)
    find_install: Callable[[], locate.Install | None] = locate.find_install
    import_vboxapi: Callable[[locate.Install], ModuleType] = locate.import_vboxapi
    connect: Callable[[ModuleType], tuple[Any, Any]] = _connect  # (VirtualBoxManager, IVirtualBox)
    has_kernel_driver: Callable[[str], bool] = driverless.has_kernel_driver
    which: Callable[[str], str | None] = shutil.which
    read_networks_conf: Callable[[], str | None] = lambda: _read(networks.NETWORKS_CONF)
    has_module: Callable[[str], bool] = lambda name: importlib.util.find_spec(name) is not None
    native_arch: Callable[[], str] = lambda: hostinfo.native_under_emulation() or platform.machine()
    hypervisor_present: Callable[[], bool | None] = hostchecks.hypervisor_present  # Windows
    kext_loaded: Callable[[], bool | None] = hostchecks.kext_loaded  # macOS on Intel


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None
    except OSError:
        return ""


def unavailable(checks: list[Check]) -> bool:
    """VirtualBox cannot be used: a core check failed (or was never reached)."""
    return any(c.status == "fail" and c.name in CORE for c in checks) or \
        not {c.name for c in checks} >= set(CORE)


def diagnose(probe: Probe | None = None) -> list[Check]:
    probe = probe or Probe()
    checks: list[Check] = []
    found = probe.find_install()
    checks.append(check_install(found))
    if found is not None:
        module = _bindings(probe, found, checks)
        if module is not None:
            _service(probe, module, checks)
        checks.append(check_kernel_driver(probe))
        checks.append(check_hostonly_ranges(probe))
    checks.append(check_ssh(probe))
    return checks


def check_install(found: locate.Install | None) -> Check:
    if found is None:
        return Check("install", "fail", "VirtualBox is not installed (no VBoxSVC found)",
                     locate._INSTALL_HINT)
    return Check("install", "ok", f"VirtualBox found in {found.program_dir}")


def _bindings(probe: Probe, found: locate.Install, checks: list[Check]) -> ModuleType | None:
    before = {var: probe.environ.get(var) for var in PATH_VARS}
    try:
        module = probe.import_vboxapi(found)
    except HostedError as exc:
        checks.append(Check("bindings", "fail", exc.message, exc.hint))
        return None
    except Exception as exc:  # a broken copy of the bindings
        checks.append(Check("bindings", "fail", f"vboxapi could not be loaded: {exc}",
                            locate._BINDINGS_HINT))
        return None
    if probe.system == "Windows" and not probe.has_module("win32com"):
        checks.append(Check("bindings", "fail", "VirtualBox's Python bindings need pywin32 on Windows, and "
                            "it is not installed (no module win32com)", connection.PYWIN32_HINT))
        return None
    paths = ", ".join(
        f"{var}={probe.environ.get(var, '')} ({'from the environment' if before[var] else 'set by hosted'})"
        for var in PATH_VARS if probe.environ.get(var)
    )
    detail = f"{bindings_origin(module, found)}; {paths}" if paths else bindings_origin(module, found)
    checks.append(Check("bindings", "ok", detail))
    return module


def bindings_origin(module: ModuleType, found: locate.Install) -> str:
    """'system vboxapi in DIR' or 'vbox-sdk X in DIR' (PyPI)."""
    where = Path(getattr(module, "__file__", None) or "?").parent
    if where.parent in locate.system_bindings_dirs(found):
        return f"system vboxapi in {where}"
    try:
        from importlib.metadata import version

        return f"vbox-sdk {version('vbox-sdk')} (PyPI) in {where}"
    except Exception:
        return f"vboxapi in {where}"


def _service(probe: Probe, module: ModuleType, checks: list[Check]) -> None:
    try:
        mgr, vbox = probe.connect(module)
        version, api_version = str(vbox.version), str(vbox.APIVersion)
        revision = str(vbox.revision)
    except HostedError as exc:
        checks.append(Check("vboxsvc", "fail", exc.message, exc.hint, type(exc).__name__))
        return
    except Exception as exc:
        checks.append(Check("vboxsvc", "fail", f"cannot reach VBoxSVC: {exc}", locate.service_hint()))
        return
    checks.append(Check("vboxsvc", "ok", f"VBoxSVC answers: VirtualBox {version} r{revision}"))
    checks.append(check_api(version, api_version))
    for fn in (check_machine_folder, check_machines):
        try:
            checks.append(fn(mgr, vbox))
        except Exception as exc:  # VBoxSVC went away meanwhile, or a machine vanished
            checks.append(Check(fn.__name__.removeprefix("check_").replace("_", "-"), "fail",
                                f"could not be read: {exc}", locate.service_hint()))


def check_api(version: str, api_version: str) -> Check:
    known = compat.KNOWN_RANGE
    try:
        _, support = compat.classify_api(api_version)
    except HostedError as exc:
        return Check("api", "fail", exc.message, exc.hint)
    if support == "too old":
        return Check("api", "fail",
                     f"VirtualBox {version} (API {api_version}) is too old; hosted knows {known}",
                     compat.UPGRADE_HINT)
    if support == "newer":
        return Check("api", "warn", f"API {api_version} is newer than hosted knows ({known}); "
                                    f"hosted proceeds as with {compat.NEWEST_NAME}",
                     "if something fails, report it with `hosted doctor --json` attached")
    return Check("api", "ok", f"API {api_version} (hosted knows {known})")


def check_kernel_driver(probe: Probe) -> Check:
    """Can VMs use the CPU's virtualisation, at full speed?"""
    if probe.system == "Windows":
        return Check("kernel-driver", *hostchecks.hyperv(probe.hypervisor_present()))
    if probe.system == "Darwin":
        return Check("kernel-driver", *hostchecks.mac(probe.native_arch(), probe.kext_loaded))
    if probe.has_kernel_driver(probe.system):
        return Check("kernel-driver", "ok", "/dev/vboxdrv present: VMs use hardware virtualisation")
    return Check("kernel-driver", "warn",
                 "no /dev/vboxdrv: VMs run driverless (guest code interpreted, very slow); machines with "
                 f"{', '.join(DRIVER_NIC_KINDS)} NICs cannot start (nat and link NICs can)",
                 "install your distribution's virtualbox-dkms (or VirtualBox's own package) and "
                 "load the driver: `sudo modprobe vboxdrv`; Secure Boot may need the module signed")


def check_hostonly_ranges(probe: Probe) -> Check:
    """The ranges host-only networks may use (VirtualBox 6.1.28+ on Linux and macOS)."""
    if probe.system not in ("Linux", "Darwin"):
        return Check("hostonly-ranges", "ok", f"host-only networks may use any range on {probe.system}")
    text = probe.read_networks_conf()
    ranges = ", ".join(str(r) for r in networks.hostonly_ranges(text)) or "none"
    how = (f"to allow others, list them in {networks.NETWORKS_CONF}, e.g. `* 10.0.0.0/8 192.168.0.0/16`")
    if text is None:
        return Check("hostonly-ranges", "ok", f"host-only networks may use {ranges} (VirtualBox's default: "
                     f"no {networks.NETWORKS_CONF}); {how}")
    if ranges == "none":
        return Check("hostonly-ranges", "warn",
                     f"{networks.NETWORKS_CONF} allows host-only networks no range", how)
    return Check("hostonly-ranges", "ok", f"host-only networks may use {ranges} ({networks.NETWORKS_CONF}); "
                 f"{how}")


def check_machine_folder(mgr: Any, vbox: Any) -> Check:
    folder = Path(str(vbox.systemProperties.defaultMachineFolder))
    hint = (f"make {folder} writable for this user, or choose another folder: "
            "`VBoxManage setproperty machinefolder DIR`")
    if folder.is_dir():
        if os.access(folder, os.W_OK | os.X_OK):
            return Check("machine-folder", "ok", f"{folder} exists and is writable")
        return Check("machine-folder", "fail", f"{folder} is not writable", hint)
    parent = next((p for p in folder.parents if p.exists()), None)
    if parent is not None and parent.is_dir() and os.access(parent, os.W_OK | os.X_OK):
        return Check("machine-folder", "ok", f"{folder} does not exist yet; VirtualBox creates it")
    return Check("machine-folder", "fail", f"{folder} does not exist and cannot be created", hint)


def check_machines(mgr: Any, vbox: Any) -> Check:
    machines = list(mgr.getArray(vbox, "machines") or [])
    owned: set[str] = set()
    broken = 0
    for machine in machines:
        if not machine.accessible:
            broken += 1
            continue
        tags = read_tags(machine)
        if tags is not None:
            owned.add(f"{tags.environment}/{tags.machine}")
    envs = len({o.split("/", 1)[0] for o in owned})
    detail = (f"{len(machines)} registered, {len(owned)} created by hosted"
              + (f" in {envs} environment{'s' if envs != 1 else ''}" if owned else ""))
    if broken:
        return Check("machines", "warn", f"{detail}; {broken} inaccessible (settings unreadable)",
                     "see `VBoxManage list vms` and fix or unregister the inaccessible machines")
    return Check("machines", "ok", detail)


def check_ssh(probe: Probe) -> Check:
    exe = "ssh.exe" if probe.system == "Windows" else "ssh"
    path = probe.which(exe)
    if path:
        return Check("ssh", "ok", f"OpenSSH client at {path} (for `hosted ssh`)")
    return Check("ssh", "warn", "no `ssh` on PATH: `hosted ssh` cannot open a shell",
                 "install the OpenSSH client (Debian/Ubuntu: openssh-client; Windows: the OpenSSH Client "
                 "optional feature)")
