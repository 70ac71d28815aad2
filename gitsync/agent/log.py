"""The agent's logs: one line per event, as text or as JSON (``--log-format json``).

JSON lines carry ``time``, ``level``, ``logger``, ``message`` and any structured field
a log call passes in ``extra`` (``sync``, ``drift``), so a log shipper can index them.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from gitsync.output import safe_text
from gitsync.redact import redact_text

#: Attributes every LogRecord has; anything else came in through ``extra``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class RedactingFormatter(logging.Formatter):
    """Any formatter's line with credentials redacted and control characters escaped:
    a log line never carries a secret or a terminal escape from the outside world."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return safe_text(redact_text(self.inner.format(record)))


def configure_logging(
    log_format: str, *, level: int = logging.INFO, stream: TextIO | None = None
) -> None:
    """Route gitsync's loggers to ``stream`` (stderr) in the chosen format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if log_format == "json":
        inner: logging.Formatter = JsonFormatter()
    else:
        inner = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler.setFormatter(RedactingFormatter(inner))
    root = logging.getLogger("gitsync")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
