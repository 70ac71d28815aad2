"""The GitsyncError tree.

Every error the project raises on purpose is a GitsyncError. Each class carries the
Vespa error-code and HTTP status the API answers with, and the exit code the CLI
ends with. Foreign exceptions (git, sqlite3, jsonschema, httpx, yaml) are converted
where they enter, with ``raise ... from exc``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gitsync.config.issues import Issue


class GitsyncError(Exception):
    """Base of every expected failure."""

    error_code = "INTERNAL_SERVER_ERROR"
    http_status = 500
    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(GitsyncError):
    """The request or input is malformed (Vespa BAD_REQUEST)."""

    error_code = "BAD_REQUEST"
    http_status = 400


class InvalidName(BadRequest):
    """A tenant, application or instance name outside [a-zA-Z0-9_-]{1,256}."""


class UnsafeInput(BadRequest):
    """Input refused for safety: archive escapes, bombs, YAML alias bombs, oversized files."""


class PayloadTooLarge(GitsyncError):
    error_code = "BAD_REQUEST"
    http_status = 413


class NotFound(GitsyncError):
    error_code = "NOT_FOUND"
    http_status = 404


class MethodNotAllowed(GitsyncError):
    error_code = "METHOD_NOT_ALLOWED"
    http_status = 405


class Unauthorized(GitsyncError):
    error_code = "UNAUTHORIZED"
    http_status = 401


class Forbidden(GitsyncError):
    error_code = "FORBIDDEN"
    http_status = 403


class RequestTimeout(GitsyncError):
    error_code = "REQUEST_TIMEOUT"
    http_status = 408


class ActivationConflict(GitsyncError):
    """A session's base is stale, or it is older than the active one (HTTP 409)."""

    error_code = "ACTIVATION_CONFLICT"
    http_status = 409


class LockHeld(GitsyncError):
    """Another process holds the state directory or the (tenant, application) lock."""

    error_code = "APPLICATION_LOCK_FAILURE"
    http_status = 409


class PruneRefused(GitsyncError):
    """A plan would remove too many applications (DESIGN.md §6)."""

    error_code = "PRECONDITION_FAILED"
    http_status = 412
    exit_code = 4


class InvalidConfig(GitsyncError):
    """A snapshot has validation issues; nothing is applied.

    ``issues`` holds every problem found (errors and warnings); the message lists the
    errors one per line as ``file:line:col: error: path: message``.
    """

    error_code = "INVALID_APPLICATION_PACKAGE"
    http_status = 400
    exit_code = 3  # > 1: an error, in the kubectl-diff sense (1 means "changes")

    def __init__(self, issues: Sequence[Issue], message: str | None = None) -> None:
        self.issues = list(issues)
        if message is None:
            errors = [i.render() for i in self.issues if i.severity == "error"]
            message = "Invalid application package:\n" + "\n".join(errors)
        super().__init__(message)


class SourceError(GitsyncError):
    """The source (directory or git) could not be read."""

    error_code = "SOURCE_UNAVAILABLE"
    http_status = 503


class RuntimeUnavailable(GitsyncError):
    """The runtime (e.g. a Ray cluster) could not be reached."""

    error_code = "RUNTIME_UNAVAILABLE"
    http_status = 503


class EngineUnavailable(GitsyncError):
    """A remote engine could not be reached or answered with something unexpected."""

    error_code = "ENGINE_UNAVAILABLE"
    http_status = 503
