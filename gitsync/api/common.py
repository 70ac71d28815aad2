"""What every route module shares: the per-app context, body reading, JSON replies.

Only ``gitsync/api`` and the agent's HTTP modules import Starlette (docs/architecture.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from gitsync.api.metrics import ApiMetrics
from gitsync.api.rendered import Renderings
from gitsync.config import values
from gitsync.config.issues import format_path
from gitsync.engine import Engine
from gitsync.errors import BadRequest, GitsyncError, PayloadTooLarge

T = TypeVar("T")

#: The Vespa version we answer as: the CLI release this API was checked against.
VESPA_VERSION = "8.763.13"
#: The Ray release whose Serve REST API this mirrors.
RAY_VERSION = "2.60.0"
DEFAULT_MAX_BODY = 64 * 1024 * 1024


@dataclass
class ApiContext:
    """Everything a route needs, stored on ``app.state.ctx``."""

    engine: Engine
    metrics: ApiMetrics
    max_body: int
    node_id: str  # stable per state directory: Ray-shaped (56 hex digits)
    renderings: Renderings  # bodies of the engine's reads, kept per state version


def node_id_for(state_dir: Path) -> str:
    return hashlib.sha224(str(state_dir.resolve()).encode()).hexdigest()


def context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


async def call(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run an engine call off the event loop (the engine serialises calls itself)."""
    return await run_in_threadpool(func, *args, **kwargs)


async def read_body(request: Request) -> bytes:
    """The whole request body (chunked or not), refused past the configured cap (413)."""
    limit = context(request).max_body
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(too_large_message(int(declared), limit))
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise PayloadTooLarge(too_large_message(total, limit))
        chunks.append(chunk)
    return b"".join(chunks)


def too_large_message(size: int, limit: int) -> str:
    return f"Request body is too large ({size} > {limit} bytes)"


def json_bytes(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), allow_nan=False).encode()


def json_response(data: Any, status: int = 200) -> Response:
    return Response(json_bytes(data), status_code=status, media_type="application/json")


def error_body(code: str, message: str) -> dict[str, str]:
    return {"error-code": code, "message": message}


def error_response(exc: GitsyncError) -> Response:
    return json_response(error_body(exc.error_code, exc.message), exc.http_status)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value - value != 0.0:  # 1e999 overflows to infinity
        raise ValueError("a number too large for a 64-bit float is not allowed")
    return value


def parse_json(body: bytes | str, what: str = "Request body") -> Any:
    """Strict JSON under the rules of :mod:`gitsync.config.values`: NaN, Infinity and
    overflowing numbers are refused, integers fit in 64 bits, nesting is capped, and
    the text is UTF-8. Errors say what is wrong, never echo the input."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError as exc:
        raise BadRequest(f"{what} is nested too deeply") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"{what} is not valid JSON: {_short(str(exc))}") from exc
    problem = values.first_problem(value)
    if problem is not None:
        path, message = problem
        raise BadRequest(f"{what} is refused at {format_path(path)}: {message}")
    return value


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def float_param(request: Request, name: str) -> float | None:
    """A numeric query parameter (Vespa's ``timeout``), 400 when not a number."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError as exc:
        raise BadRequest(f"Parameter '{name}' must be a number, but got: '{raw}'") from exc
    if value != value or value in (float("inf"), float("-inf")) or value < 0:
        raise BadRequest(f"Parameter '{name}' must be a non-negative number, but got: '{raw}'")
    return value


def bool_param(request: Request, name: str) -> bool:
    """Vespa reads boolean parameters as ``"true"`` or not."""
    return request.query_params.get(name, "").lower() == "true"
