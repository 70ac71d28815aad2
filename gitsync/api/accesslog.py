"""The Deploy API access log, in the JSON-lines format of Vespa's config server.

Vespa's container writes one JSON object per request (``JsonAccessLog``): client
address, time, request line (method, uri, version), status, response size, user
agent and duration. We write the same keys, one line each, to
``<state-dir>/logs/access-json.log``, rotated by size.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
from dataclasses import dataclass
from pathlib import Path

ACCESS_LOG_NAME = "access-json.log"


@dataclass(frozen=True, slots=True)
class AccessRecord:
    """One request, as the access log shows it."""

    client: str
    client_port: int
    time: float  # seconds since the epoch, when the request arrived
    method: str
    uri: str  # path and query, as sent
    version: str  # "HTTP/1.1"
    status: int
    request_bytes: int
    response_bytes: int
    user_agent: str
    host: str
    local_port: int
    duration: float  # seconds

    def to_json(self) -> str:
        return json.dumps(
            {
                "ip": self.client,
                "time": round(self.time, 3),
                "duration": round(self.duration, 3),
                "responsesize": self.response_bytes,
                "requestsize": self.request_bytes,
                "code": self.status,
                "method": self.method,
                "uri": self.uri,
                "version": self.version,
                "agent": self.user_agent,
                "host": self.host,
                "scheme": "http",
                "localport": self.local_port,
                "peeraddr": self.client,
                "peerport": self.client_port,
            },
            separators=(",", ":"),
        )


class AccessLog:
    """A size-rotated access log file; one per app instance (its own logger)."""

    def __init__(self, path: Path, *, max_bytes: int = 10 * 1024 * 1024, backups: int = 5) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8", delay=True
        )
        self._handler.setFormatter(logging.Formatter("%(message)s"))
        # A private logger per instance: no propagation into the root logger.
        self._logger = logging.Logger(f"gitsync.access.{id(self)}", logging.INFO)
        self._logger.propagate = False
        self._logger.addHandler(self._handler)

    def write(self, record: AccessRecord) -> None:
        self._logger.info(record.to_json())

    def close(self) -> None:
        self._logger.removeHandler(self._handler)
        self._handler.close()
