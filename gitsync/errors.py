"""Every error gitsync raises on purpose, in one tree.

Each class carries the Vespa ``error-code`` and the HTTP status the API answers with,
and the exit code the CLI ends with. Foreign exceptions (git, sqlite3, jsonschema,
httpx, YAML parsers, JSON bodies) are converted where they enter the project, with
``raise ... from exc``; anything else that escapes is a bug.

The hierarchy::

    GitsyncError                    any expected failure (500, exit 2)
    ├── BadRequest                  malformed request or input (400)
    │   ├── InvalidName             a tenant/application/instance name out of pattern
    │   └── UnsafeInput             refused for safety: archive escapes, bombs,
    │                               size, depth and alias caps
    ├── PayloadTooLarge             a body over --max-body (413)
    ├── NotFound                    (404)
    ├── MethodNotAllowed            (405)
    ├── Unauthorized                no or wrong bearer token (401)
    ├── Forbidden                   not allowed (403)
    ├── RequestTimeout              (408)
    ├── ActivationConflict          a stale or out-of-order activation (409)
    ├── LockHeld                    the state directory or an agent lock is taken (409)
    │   └── LeaseHeld               another agent holds the unit's lease, or ours is lost
    ├── PruneRefused                a plan removes too much (412, exit 4)
    ├── InvalidConfig               validation issues; nothing applied (400, exit 3)
    │   └── YamlError               one file is not usable YAML (its ``issue`` says where)
    ├── SourceError                 the source cannot be read (503)
    │   └── GitSourceError          a git command or object read failed (``reason``)
    ├── RuntimeUnavailable          the runtime (Ray) cannot be reached (503)
    └── EngineUnavailable           a remote engine or agent cannot be reached, or
                                    answered something that is not its API (503)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

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
    """A request body over the configured cap."""

    error_code = "BAD_REQUEST"
    http_status = 413


class NotFound(GitsyncError):
    """No such tenant, application, session, generation or file."""

    error_code = "NOT_FOUND"
    http_status = 404


class MethodNotAllowed(GitsyncError):
    """The route exists, the method does not."""

    error_code = "METHOD_NOT_ALLOWED"
    http_status = 405


class Unauthorized(GitsyncError):
    """A mutating route without the right bearer token."""

    error_code = "UNAUTHORIZED"
    http_status = 401


class Forbidden(GitsyncError):
    """Authenticated, but not allowed to do this."""

    error_code = "FORBIDDEN"
    http_status = 403


class TooManyRequests(GitsyncError):
    """A per-tenant cap is reached (open sessions); retry once some are gone (429)."""

    error_code = "TOO_MANY_REQUESTS"
    http_status = 429


class RequestTimeout(GitsyncError):
    """The request took longer than it may."""

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


class LeaseHeld(LockHeld):
    """Another agent holds the (tenant, application) lease, or the lease a request was
    fenced with is no longer the caller's. ``lease``: the holder's lease as JSON, when known."""

    error_code = "LEASE_HELD"

    def __init__(self, message: str, lease: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.lease = lease


class StoreError(GitsyncError):
    """The engine's state store failed underneath it: SQLite reported an error (disk
    full, a corrupted database, a schema newer than this gitsync understands)."""


class StoreUnavailable(StoreError):
    """The engine's database cannot be reached (a shared PostgreSQL down or restarting):
    requests are refused until it answers again."""

    error_code = "STORE_UNAVAILABLE"
    http_status = 503


class PruneRefused(GitsyncError):
    """A plan would remove too many applications (the prune safety rules)."""

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


class YamlError(InvalidConfig):
    """One file is not usable YAML (or not the shape its reader needs); ``issue`` says
    where and why. A cap exceeded on hostile input is :class:`UnsafeInput` instead."""

    def __init__(self, issue: Issue) -> None:
        super().__init__([issue], issue.render())
        self.issue = issue


class SourceError(GitsyncError):
    """The source (directory or git) could not be read."""

    error_code = "SOURCE_UNAVAILABLE"
    http_status = 503


GitSourceReason = Literal[
    "unreachable", "auth", "not-found", "unknown-ref", "corrupt", "timeout", "failed"
]


class GitSourceError(SourceError):
    """A git source failed. ``reason`` sorts the failure for status and metrics."""

    def __init__(self, message: str, reason: GitSourceReason = "failed") -> None:
        super().__init__(message)
        self.reason: GitSourceReason = reason


class RuntimeUnavailable(GitsyncError):
    """The runtime (e.g. a Ray cluster) could not be reached."""

    error_code = "RUNTIME_UNAVAILABLE"
    http_status = 503


class EngineUnavailable(GitsyncError):
    """A remote engine (or agent) could not be reached or answered with something that
    is not its API."""

    error_code = "ENGINE_UNAVAILABLE"
    http_status = 503
