"""COM's threading rules as Windows enforces them, over any Python objects.

``Com`` is a process's COM runtime: each thread joins an apartment with
``CoInitializeEx`` (a single-threaded apartment, STA, of its own with
COINIT_APARTMENTTHREADED; the one multi-threaded apartment, MTA, with
COINIT_MULTITHREADED), and asking a thread for the other kind fails with
RPC_E_CHANGED_MODE.  Every object ``wrap`` hands out belongs to the apartment of
the thread that got it.  Calling it, or reading or setting an attribute, from a
thread of another apartment fails with RPC_E_WRONG_THREAD; from a thread that
never joined one, with CO_E_NOTINITIALIZED (unless the MTA exists: then such a
thread is in the implicit MTA, as on Windows).  Objects an object returns belong
to the caller's apartment (COM marshals them there).

The modules pywin32 and vboxapi put in ``sys.modules`` are faked as Windows has
them: ``install_pythoncom`` runs when vboxapi's VirtualBoxManager is made, and
like pywin32's import, joins the importing thread to an apartment chosen by
``sys.coinit_flags`` (an STA unless it says 0).  ``ComManager`` is vboxapi's
MSCOM platform over any manager (a tiny fake, or real VirtualBox's XPCOM
manager in the sandbox): ``getVirtualBox`` keeps the client of the first thread
that asks, as vboxapi does, and ``initPerThread`` is ``CoInitializeEx(0)``.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
import threading
import types
from collections.abc import Callable, Iterator
from typing import Any

COINIT_MULTITHREADED = 0x0
COINIT_APARTMENTTHREADED = 0x2
RPC_E_WRONG_THREAD = 0x8001010E
CO_E_NOTINITIALIZED = 0x800401F0
RPC_E_CHANGED_MODE = 0x80010106
MTA = "MTA"
_PLAIN = (str, int, float, bool, bytes, type(None))


def signed(code: int) -> int:
    """An HRESULT as pywin32 gives it (a negative int)."""
    return code - (1 << 32) if code & 0x80000000 else code


def error_class(base: type[BaseException] = Exception) -> type[BaseException]:
    """pywintypes.com_error's stand-in, derived from ``base`` (the real bindings' exception class,
    so that code catching that catches this too)."""

    class ComError(base):  # type: ignore[valid-type,misc]
        def __init__(self, hresult: int, text: str) -> None:
            try:
                super().__init__(hresult, text)
            except TypeError:
                super().__init__(text)
            self.hresult = signed(hresult)
            self.strerror = text
            self.excepinfo = None

    return ComError


class Com:
    """One process's COM runtime: apartments and the rule that binds objects to them."""

    def __init__(self, error: type[BaseException] | None = None) -> None:
        self.error = error or error_class()
        self._lock = threading.Lock()
        self._local = threading.local()  # this thread's apartment (gone with the thread, as on Windows)
        self._mta: set[threading.Thread] = set()
        self._stas = itertools.count(1)
        self.violations: list[str] = []  # what was refused, for the tests' messages

    def fail(self, code: int, text: str) -> BaseException:
        self.violations.append(f"{threading.current_thread().name}: {text}")
        return self.error(code, text)  # type: ignore[call-arg]

    def CoInitializeEx(self, flags: int) -> None:
        have = getattr(self._local, "apartment", None)
        sta = bool(flags & COINIT_APARTMENTTHREADED)
        if have is not None:
            if (have != MTA) != sta:
                wanted = 'an STA' if sta else MTA
                raise self.fail(RPC_E_CHANGED_MODE, f"thread is in {have}, asked for {wanted}")
            return
        self._local.apartment = f"STA {next(self._stas)}" if sta else MTA
        if not sta:
            with self._lock:
                self._mta.add(threading.current_thread())

    def CoUninitialize(self) -> None:
        self._local.apartment = None
        with self._lock:
            self._mta.discard(threading.current_thread())

    def current(self) -> str:
        apartment = getattr(self._local, "apartment", None)
        if apartment is not None:
            return str(apartment)
        with self._lock:
            if any(t.is_alive() for t in self._mta):
                return MTA  # the implicit MTA: a thread that never called CoInitializeEx joins it
        raise self.fail(CO_E_NOTINITIALIZED, "CoInitialize has not been called on this thread")

    def check(self, owner: str, what: str) -> None:
        here = self.current()
        if here != owner:
            raise self.fail(RPC_E_WRONG_THREAD, f"{what}: object of {owner} called from {here}")

    def wrap(self, value: Any) -> Any:
        """``value`` as the calling thread gets it: plain data as it is, objects bound to its apartment."""
        if isinstance(value, (*_PLAIN, Bound)):
            return value
        if isinstance(value, list | tuple):
            return [self.wrap(v) for v in value]
        return Bound(self, value, self.current())


def unwrap(value: Any) -> Any:
    if isinstance(value, Bound):
        return object.__getattribute__(value, "_target")
    if isinstance(value, list | tuple):
        return type(value)(unwrap(v) for v in value)
    return value


class Bound:
    """An object of one apartment: every use from elsewhere is refused as COM refuses it."""

    __slots__ = ("_apartment", "_com", "_target")

    def __init__(self, com: Com, target: Any, apartment: str) -> None:
        object.__setattr__(self, "_com", com)
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_apartment", apartment)

    def __getattr__(self, name: str) -> Any:
        com: Com = object.__getattribute__(self, "_com")
        apartment: str = object.__getattribute__(self, "_apartment")
        com.check(apartment, name)
        value = getattr(object.__getattribute__(self, "_target"), name)
        if callable(value) and not isinstance(value, type):
            return _Method(com, apartment, name, value)
        return com.wrap(value)

    def __setattr__(self, name: str, value: Any) -> None:
        com: Com = object.__getattribute__(self, "_com")
        com.check(object.__getattribute__(self, "_apartment"), name)
        setattr(object.__getattribute__(self, "_target"), name, unwrap(value))

    def __eq__(self, other: object) -> bool:
        return bool(unwrap(self) == unwrap(other))

    def __hash__(self) -> int:
        return hash(unwrap(self))

    def __repr__(self) -> str:
        return f"<{object.__getattribute__(self, '_apartment')} {unwrap(self)!r}>"


class _Method:
    def __init__(self, com: Com, apartment: str, name: str, fn: Callable[..., Any]) -> None:
        self.com, self.apartment, self.name, self.fn = com, apartment, name, fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.com.check(self.apartment, self.name)
        result = self.fn(*unwrap(list(args)), **{k: unwrap(v) for k, v in kwargs.items()})
        return self.com.wrap(result)


def install_pythoncom(com: Com, modules: dict[str, Any]) -> None:
    """What ``import pythoncom`` does the first time: join the importing thread to an apartment
    (pywin32 reads ``sys.coinit_flags``; an STA without it), and make the module importable."""
    if "pythoncom" in modules:
        return
    com.CoInitializeEx(int(getattr(sys, "coinit_flags", COINIT_APARTMENTTHREADED)))
    module = types.ModuleType("pythoncom")
    module.CoInitializeEx = com.CoInitializeEx  # type: ignore[attr-defined]
    module.CoUninitialize = com.CoUninitialize  # type: ignore[attr-defined]
    module.com_error = com.error  # type: ignore[attr-defined]
    modules["pythoncom"] = module


class _Client:
    """VirtualBox.VirtualBoxClient: holds the IVirtualBox."""

    def __init__(self, vbox: Any) -> None:
        self.virtualBox = vbox


class ComManager:
    """vboxapi's VirtualBoxManager on Windows (PlatformMSCOM), over ``inner``'s objects."""

    type = "MSCOM"

    def __init__(self, com: Com, inner: Any, modules: dict[str, Any]) -> None:
        install_pythoncom(com, modules)  # vboxapi's MSCOM platform imports pythoncom here
        self._com = com
        self._inner = inner
        self._client: Any = None
        self.constants = inner.constants
        self.oXcptClass = com.error if not isinstance(getattr(inner, "oXcptClass", None), type) \
            else inner.oXcptClass
        client = types.ModuleType("win32com.client")
        client.Dispatch = self.dispatch  # type: ignore[attr-defined]
        package = types.ModuleType("win32com")
        package.client = client  # type: ignore[attr-defined]
        modules["win32com"], modules["win32com.client"] = package, client

    def dispatch(self, progid: str) -> Any:
        """win32com.client.Dispatch: a new object, of the calling thread's apartment."""
        assert progid == "VirtualBox.VirtualBoxClient", progid
        return self._com.wrap(_Client(self._inner.getVirtualBox()))

    def getVirtualBox(self) -> Any:
        if self._client is None:  # vboxapi keeps the first client (VBoxSDS lives as long)
            self._client = self.dispatch("VirtualBox.VirtualBoxClient")
        return self._client.virtualBox

    def getSessionObject(self) -> Any:
        return self._com.wrap(self._inner.getSessionObject())

    def _use(self, obj: Any, what: str) -> Any:
        if isinstance(obj, Bound):
            self._com.check(object.__getattribute__(obj, "_apartment"), what)
        return unwrap(obj)

    def getArray(self, obj: Any, attr: str) -> Any:
        return self._com.wrap(self._inner.getArray(self._use(obj, attr), attr))

    def setArray(self, obj: Any, attr: str, values: Any) -> Any:
        return self._inner.setArray(self._use(obj, attr), attr, unwrap(values))

    def queryInterface(self, obj: Any, name: str) -> Any:
        return self._com.wrap(self._inner.queryInterface(self._use(obj, "QueryInterface"), name))

    def initPerThread(self) -> None:
        self._com.CoInitializeEx(COINIT_MULTITHREADED)  # vboxapi: pythoncom.CoInitializeEx(0)

    def deinitPerThread(self) -> None:
        self._com.CoUninitialize()

    def xcptGetStatus(self, exc: BaseException) -> Any:
        if hasattr(exc, "hresult"):
            return exc.hresult
        return self._inner.xcptGetStatus(exc)

    def xcptGetMessage(self, exc: BaseException) -> Any:
        if hasattr(exc, "hresult"):
            return getattr(exc, "strerror", str(exc))
        return self._inner.xcptGetMessage(exc)

    def xcptIsDeadInterface(self, exc: BaseException) -> bool:
        return not hasattr(exc, "hresult") and bool(self._inner.xcptIsDeadInterface(exc))

    def deinit(self) -> None:
        self._client = None

    def __getattr__(self, name: str) -> Any:
        """The manager's other helpers (getEnumValueName, ...): plain data in and out."""
        value = getattr(self._inner, name)
        if not callable(value):
            return value
        return lambda *args: self._com.wrap(value(*unwrap(list(args))))


def vboxapi_module(com: Com, inner: Callable[[], Any], modules: dict[str, Any]) -> types.ModuleType:
    """A ``vboxapi`` whose VirtualBoxManager is ``ComManager`` over ``inner()``."""
    module = types.ModuleType("vboxapi")
    module.VirtualBoxManager = lambda *_: ComManager(com, inner(), modules)  # type: ignore[attr-defined]
    return module


FAKE_MODULES = ("pythoncom", "win32com", "win32com.client", "vboxapi")


@contextlib.contextmanager
def installed(com: Com, inner: Callable[[], Any]) -> Iterator[Com]:
    """This process as a Windows one whose pywin32 is not loaded yet, with vboxapi's MSCOM
    manager over ``inner``; every module and ``sys.coinit_flags`` put back afterwards."""
    saved = {name: sys.modules.pop(name, None) for name in FAKE_MODULES}
    flags = sys.__dict__.pop("coinit_flags", None)
    sys.modules["vboxapi"] = vboxapi_module(com, inner, sys.modules)  # type: ignore[assignment]
    try:
        yield com
    finally:
        sys.__dict__.pop("coinit_flags", None)
        if flags is not None:
            sys.coinit_flags = flags  # type: ignore[attr-defined]
        for name, module in saved.items():
            sys.modules.pop(name, None)
            if module is not None:
                sys.modules[name] = module
