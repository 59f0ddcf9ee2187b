"""hosted's pytest plugin: real machines from a hosted profile as pytest fixtures.

Registered through the ``pytest11`` entry point, and inert unless a profile is
given (``--hosted-profile PATH``, or ``hosted_profile`` in the pytest ini).
Then:

* ``hosted_env`` (session): the environment, brought up once and destroyed at
  the end (``--hosted-keep`` keeps it); ``hosted_env.machine("web")``;
* ``machine`` (a factory: ``machine("web")``) and ``hosted_machine`` (the
  profile's first running machine): ``.run``, ``.put``, ``.get``, ``.port``, ``.reset``;
* ``@pytest.mark.hosted_reset`` (or ``--hosted-reset`` / ``hosted_reset = true``
  for every test): the machines earlier tests used go back to their ``baseline``
  snapshot, in parallel, before the test starts;
* under pytest-xdist each worker has its own environment (``NAME-gw0``...);
* a failed test's report shows, for each machine it used, VBox.log's path, the
  serial console's tail and the last provisioning output.

This module imports only pytest and the standard library until a profile is
given: every pytest run of a project that has hosted installed loads it.
See docs/pytest.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from hosted.pytest_plugin.handle import Machine
    from hosted.pytest_plugin.session import HostedSession

PLUGIN_NAME = "hosted-session"
NO_PROFILE = "no hosted profile: give --hosted-profile PATH, or set hosted_profile in the pytest ini"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hosted", "machines from a hosted profile (VirtualBox)")
    group.addoption("--hosted-profile", metavar="PATH", default=None,
                    help="the hosted profile whose machines the tests use (enables the plugin)")
    group.addoption("--hosted-keep", action="store_true", default=None,
                    help="keep the environment at the end instead of destroying it")
    group.addoption("--hosted-reset", action="store_true", default=None,
                    help="before every test, restore the machines earlier tests used to 'baseline'")
    parser.addini("hosted_profile", "the hosted profile (relative to this ini file)", default="")
    parser.addini("hosted_keep", "keep the environment at the end", type="bool", default=False)
    parser.addini("hosted_reset", "reset used machines to 'baseline' before every test", type="bool",
                  default=False)
    parser.addini("hosted_log_lines", "lines of each log in a failed test's report", default="40")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "hosted_reset: before this test, restore every machine that earlier tests used "
                   "to its 'baseline' snapshot (in parallel)")
    profile = _profile(config)
    if profile is not None:
        config.pluginmanager.register(HostedPlugin(config, profile), PLUGIN_NAME)


def _profile(config: pytest.Config) -> Path | None:
    given = config.getoption("hosted_profile")
    if given:
        return (config.invocation_params.dir / str(given)).resolve()
    ini = str(config.getini("hosted_profile"))
    if ini:
        base = config.inipath.parent if config.inipath is not None else config.rootpath
        return (base / ini).resolve()
    return None


def _setting(config: pytest.Config, name: str) -> bool:
    given = config.getoption(name)
    return bool(given) if given is not None else bool(config.getini(name))


def _active(config: pytest.Config) -> HostedPlugin | None:
    plugin = config.pluginmanager.get_plugin(PLUGIN_NAME)
    return plugin if isinstance(plugin, HostedPlugin) else None


class HostedPlugin:
    """The plugin while a profile is given: the session's environment and the reports."""

    def __init__(self, config: pytest.Config, profile: Path) -> None:
        self.config = config
        self.profile = profile
        self.keep = _setting(config, "hosted_keep")
        self.reset_every_test = _setting(config, "hosted_reset")
        self.log_lines = int(str(config.getini("hosted_log_lines")))
        self.worker = str(getattr(config, "workerinput", {}).get("workerid", ""))
        self.session: HostedSession | None = None
        self.failed_up = False
        self.kept: list[str] = []

    def open(self) -> HostedSession:
        import hosted
        from hosted.errors import HostedError
        from hosted.pytest_plugin.naming import for_worker
        from hosted.pytest_plugin.session import HostedSession, SessionError

        try:
            self.session = HostedSession(for_worker(hosted.load(self.profile), self.worker), keep=self.keep)
            self.session.start()
        except (HostedError, SessionError) as exc:
            self.failed_up = True
            pytest.fail(_describe(exc), pytrace=False)
        return self.session

    def close(self) -> None:
        session, self.session = self.session, None
        if session is None:
            return
        if session.started and self.keep:
            self.kept.append(f"{session.env.name} ({', '.join(m.vm_name for m in session.env.machines)})")
            workeroutput = getattr(self.config, "workeroutput", None)
            if workeroutput is not None:
                workeroutput["hosted_kept"] = self.kept
        session.stop()

    def reset(self, request: pytest.FixtureRequest) -> None:
        wanted = self.reset_every_test or request.node.get_closest_marker("hosted_reset") is not None
        if not wanted:
            return
        if self.session is None and "hosted_env" in request.fixturenames:
            request.getfixturevalue("hosted_env")
        if self.session is not None and self.session.started:
            from hosted.errors import HostedError
            from hosted.pytest_plugin.session import SessionError

            try:
                self.session.reset_dirty()
            except (HostedError, SessionError) as exc:
                pytest.fail(_describe(exc), pytrace=False)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if self.session is not None:
            self.session.used = set()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
        outcome = yield
        report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
        if not report.failed or self.session is None:
            return
        from hosted.pytest_plugin.report import machine_section

        names = sorted(self.session.used)
        if self.failed_up and report.when == "setup":
            names, self.failed_up = list(self.session.machines), False  # once, not for every later test
        for name in names:
            report.sections.append(machine_section(name, self.session.log_paths(name), self.log_lines,
                                                   self.session.serial_before.get(name, "")))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for kept in self.kept:
            terminalreporter.write_line(f"hosted: kept environment {kept} (--hosted-keep)")

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        self.kept.extend(getattr(node, "workeroutput", {}).get("hosted_kept", []))


def _describe(exc: BaseException) -> str:
    message, hint = getattr(exc, "message", str(exc)), getattr(exc, "hint", "")
    return f"{message}\n  hint: {hint}" if hint else str(message)


@pytest.fixture(scope="session")
def hosted_env(request: pytest.FixtureRequest) -> Iterator[HostedSession]:
    """The profile's environment, up and ready for the whole session (destroyed at its end)."""
    active = _active(request.config)
    if active is None:
        pytest.skip(NO_PROFILE)
    try:
        yield active.open()
    finally:
        active.close()


@pytest.fixture
def machine(hosted_env: HostedSession) -> Callable[[str], Machine]:
    """``machine("web")``: that machine of the environment."""
    return hosted_env.machine


@pytest.fixture
def hosted_machine(hosted_env: HostedSession) -> Machine:
    """The profile's first running machine."""
    first = next(iter(hosted_env.machines), None)
    if first is None:
        pytest.fail(f"profile {hosted_env.env.path} has no machine with state: running", pytrace=False)
    return hosted_env.machine(first)


@pytest.fixture(autouse=True)
def _hosted_reset(request: pytest.FixtureRequest) -> None:
    active = _active(request.config)
    if active is not None:
        active.reset(request)
