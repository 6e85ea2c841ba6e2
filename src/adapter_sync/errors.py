"""The one family of errors a user sees.

Every failure a user can cause ends as an :class:`AdapterSyncError`: the CLI prints
``str(error)`` (one line per problem, with ``file:line:col`` where there is one) and exits 1.
Messages must never contain the API key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """A position in a config file; line and column are 1-based."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Problem:
    """One validation problem, printed as ``file:line:col: message``."""

    message: str
    location: Location | None = None

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class AdapterSyncError(Exception):
    """An error a user can cause and fix. The CLI prints it as one line and exits 1."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class ConfigError(AdapterSyncError):
    """The configuration is invalid. Carries every problem found, not only the first, and the
    ``warnings`` (``warning`` policy rules broken) found with them, shown too."""

    def __init__(self, problems: Iterable[Problem], warnings: Iterable[Problem] = ()) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.warnings: tuple[Problem, ...] = tuple(warnings)
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid configuration")


class ApiError(AdapterSyncError):
    """The API refused a call or could not be reached (after retries where they apply)."""

    def __init__(self, message: str, status: int | None = None, request_id: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.request_id = request_id


class OutcomeUnknown(ApiError):
    """A write whose answer was lost: it may or may not have happened. Resolve by re-listing."""


class StalePlanError(AdapterSyncError):
    """A saved plan no longer matches the live state (or was made against another API)."""


class SafetyError(AdapterSyncError):
    """A plan that trips a safety check (mass deactivation) without ``--force``."""


class ProtectedError(AdapterSyncError):
    """A plan that would deactivate a protected connector: refused, ``--force`` or not."""
