"""The error tree: every expected failure is a named HostedError with a hint.

The CLI prints ``message`` and ``hint`` and exits with ``exit_code``; anything
that is not a HostedError is a bug.  ``retryable`` marks temporary conditions
(kopf's temporary/permanent split): a caller may try the same thing again.
"""

from __future__ import annotations

from collections.abc import Iterable

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_UNAVAILABLE = 3


class HostedError(Exception):
    exit_code: int = EXIT_FAILED
    retryable: bool = False

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ProfileError(HostedError):
    """The profile is not valid: names the file, the line/column and the key path.

    ``problems`` lists every problem found in the same run, in file order; the
    first is the error itself, so a caller that reads one problem reads the first.
    """

    exit_code = EXIT_INVALID

    def __init__(
        self,
        message: str,
        hint: str = "",
        *,
        file: str = "",
        line: int | None = None,
        column: int | None = None,
        key: str = "",
    ) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        where = file
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        prefix = where + ": " if where else ""
        keypart = f"{key}: " if key else ""
        super().__init__(f"{prefix}{keypart}{message}", hint)
        self.reason = message
        self.problems: list[ProfileError] = [self]

    @staticmethod
    def of_all(problems: Iterable[ProfileError]) -> ProfileError:
        """The first of ``problems`` (at least one) in file order, carrying them all, one per place."""
        ordered: dict[tuple[str, int | None, int | None, str], ProfileError] = {}
        for problem in sorted(problems, key=lambda p: (p.line or 0, p.column or 0)):
            ordered.setdefault((problem.file, problem.line, problem.column, problem.key), problem)
        first, *_ = ordered.values()
        first.problems = list(ordered.values())
        return first


class UsageError(HostedError):
    exit_code = EXIT_INVALID


class BackendUnavailable(HostedError):
    exit_code = EXIT_UNAVAILABLE


class UnsupportedVirtualBox(HostedError):
    exit_code = EXIT_UNAVAILABLE


class ServiceRefused(BackendUnavailable):
    """VBoxSVC did not answer this process's first call.  Besides a broken install, it happens
    when VBoxSVC was shutting down as the process connected (it exits 5 s after its last client
    on Linux and macOS): the process's connection is then lost for good, and only a new process
    reaches the new VBoxSVC (the console script runs itself once more, hosted.cli.reconnect)."""

    retryable = True


class ServiceGone(BackendUnavailable):
    """VBoxSVC went away while hosted used it (it crashed, was restarted, or the user logged off)."""

    retryable = True


class ComThreadError(HostedError):
    """A VirtualBox object was called from a thread COM does not allow (another apartment, or a
    thread COM was not set up on): a bug in how hosted, or the program it runs in, uses threads."""

    def __init__(self, message: str, hint: str = "", *, result_code: int | None = None) -> None:
        super().__init__(message, hint)
        self.result_code = result_code


class MachineNotFound(HostedError):
    pass


class UnknownMachine(MachineNotFound):
    """A machine name the profile does not declare: invalid input, found before VirtualBox is asked."""

    exit_code = EXIT_INVALID


class NameConflict(HostedError):
    """A VirtualBox name the profile wants is taken by a machine hosted does not own."""

    exit_code = EXIT_INVALID


class MachineLocked(HostedError):
    retryable = True


class OperationFailed(HostedError):
    def __init__(self, message: str, hint: str = "", *, result_code: int | None = None) -> None:
        super().__init__(message, hint)
        self.result_code = result_code


class ConfirmationRequired(HostedError):
    """A destructive or restart-needing step was not confirmed (no terminal, no --yes)."""


class ReadinessTimeout(HostedError):
    retryable = True

    def __init__(self, message: str, hint: str = "", *, stage: str = "", waited: float = 0.0) -> None:
        super().__init__(message, hint)
        self.stage = stage
        self.waited = waited


class SshError(HostedError):
    pass


class HostKeyMismatch(SshError):
    pass


class ProvisionError(HostedError):
    def __init__(
        self, message: str, hint: str = "", *, step: str = "", exit_status: int | None = None,
        output_tail: str = "",
    ) -> None:
        super().__init__(message, hint)
        self.step = step
        self.exit_status = exit_status
        self.output_tail = output_tail


class ImageError(HostedError):
    pass


class SnapshotError(HostedError):
    pass


class UnknownSnapshot(SnapshotError):
    """A snapshot name none of the chosen machines has (or a named machine lacks): invalid input."""

    exit_code = EXIT_INVALID


class PortConflict(HostedError):
    """A fixed host port the profile asks for is already taken (by another VM or program)."""

    exit_code = EXIT_INVALID


class NetworkConflict(HostedError):
    """A network the profile declares cannot be had on this host as declared (found while planning)."""

    exit_code = EXIT_INVALID


class DriverMissing(HostedError):
    """A machine would start with NICs that need VirtualBox's kernel driver, which is not loaded."""
