"""One agent per deployment unit, across machines: a lease on (tenant, application).

An agent claims the lease through its engine (embedded or remote) with a holder id and a
TTL, renews it well inside the TTL, and lets it go on a clean stop. A second agent's
claim is refused with the current holder (409) until the lease expires, then it takes
over with a higher ``epoch``. Requests fenced with (holder, epoch) are refused once that
pair no longer holds the lease. The rows live in the store's ``leases`` table, so this
works alike on SQLite and on a PostgreSQL shared by several engines.

No engine lock is taken here: a renewal must not wait behind a long activation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gitsync.engine import sessions
from gitsync.errors import BadRequest, LeaseHeld

if TYPE_CHECKING:
    from gitsync.engine.context import EngineContext

PREFIX = "agent/"
MIN_TTL_S = 1.0
MAX_TTL_S = 600.0
MAX_HOLDER = 200
MAX_INFO = 2000  # bytes of the holder's JSON info (host, pid, URL)


def lease_name(tenant: str, application: str) -> str:
    return f"{PREFIX}{tenant}/{application}"


@dataclass(frozen=True)
class UnitLease:
    """Who holds a unit's lease: ``holder`` (an agent's id), ``info`` (its host, pid and
    API URL), until ``expires`` (seconds since the epoch); ``epoch`` grows with each holder."""

    tenant: str
    application: str
    holder: str
    expires: float
    epoch: int
    info: Mapping[str, Any] = field(default_factory=dict)
    now: float = 0.0  # the engine's clock when it answered

    @property
    def held(self) -> bool:
        return self.expires > self.now

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "application": self.application,
            "holder": self.holder,
            "info": dict(self.info),
            "epoch": self.epoch,
            "expires": self.expires,
            "expiresAt": datetime.fromtimestamp(self.expires, UTC).isoformat(timespec="seconds"),
            "expiresInSeconds": round(max(0.0, self.expires - self.now), 3),
            "held": self.held,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UnitLease:
        expires = float(data["expires"])
        remaining = float(data.get("expiresInSeconds", 0.0))
        info = data.get("info") or {}
        return cls(
            str(data["tenant"]),
            str(data["application"]),
            str(data["holder"]),
            expires,
            int(data["epoch"]),
            dict(info) if isinstance(info, Mapping) else {},
            # Held as the engine saw it: keep its verdict whatever this machine's clock says.
            now=expires - remaining if data.get("held") else expires,
        )

    def describe(self) -> str:
        """For log lines: ``holder (url)``."""
        url = self.info.get("url")
        return f"{self.holder} ({url})" if url else self.holder


def check_claim(holder: str, ttl_s: float, info: Mapping[str, Any]) -> str:
    """400 for a claim no agent would send; the info as stored JSON."""
    if not holder or len(holder) > MAX_HOLDER or not holder.isprintable():
        raise BadRequest(f"holder must be 1 to {MAX_HOLDER} printable characters")
    if not MIN_TTL_S <= ttl_s <= MAX_TTL_S:
        raise BadRequest(f"ttlSeconds must be between {MIN_TTL_S:g} and {MAX_TTL_S:g}")
    text = json.dumps(dict(info), sort_keys=True, default=str)
    if len(text) > MAX_INFO:
        raise BadRequest(f"info must be at most {MAX_INFO} bytes of JSON")
    return text


class UnitLeases:
    """The agents' leases of one engine (``Engine.unit_leases``)."""

    def __init__(self, ctx: EngineContext) -> None:
        self._ctx = ctx

    def current(self, tenant: str, application: str) -> UnitLease | None:
        """The unit's lease row (held or expired), None when no agent ever claimed it."""
        sessions.check_name("tenant", tenant)
        sessions.check_name("application", application)
        name = lease_name(tenant, application)
        now = self._ctx.clock()
        for row in self._ctx.open_store().leases(name):
            if row.name == name:  # the prefix match also finds longer names
                try:
                    info = json.loads(row.info or "{}")
                except ValueError:
                    info = {}
                info = info if isinstance(info, dict) else {}
                return UnitLease(tenant, application, row.holder, row.expires, row.epoch, info, now)
        return None

    def claim(
        self,
        tenant: str,
        application: str,
        *,
        holder: str,
        ttl_s: float,
        epoch: int | None = None,
        info: Mapping[str, Any] | None = None,
    ) -> UnitLease:
        """Take the lease if it is free or expired, or renew it (``epoch``: the one we
        hold); LeaseHeld with the holder's lease when another agent holds it."""
        sessions.check_name("tenant", tenant)
        sessions.check_name("application", application)
        text = check_claim(holder, ttl_s, info or {})
        now = self._ctx.clock()
        name = lease_name(tenant, application)
        taken = self._ctx.open_store().claim_lease(name, holder, text, now, ttl_s, epoch)
        if taken is None:
            current = self.current(tenant, application)
            raise LeaseHeld(
                f"tenant '{tenant}', application '{application}' is held by another agent"
                + (f": {current.describe()}" if current is not None else ""),
                current.to_json() if current is not None else None,
            )
        return UnitLease(tenant, application, holder, now + ttl_s, taken, dict(info or {}), now)

    def release(self, tenant: str, application: str, *, holder: str, epoch: int) -> None:
        """Let the lease go now (a no-op unless ``holder`` holds it at ``epoch``)."""
        sessions.check_name("tenant", tenant)
        sessions.check_name("application", application)
        self._ctx.open_store().release_lease(lease_name(tenant, application), holder, epoch)

    def check(self, tenant: str, application: str, *, holder: str, epoch: int) -> None:
        """Fencing: LeaseHeld unless ``holder`` holds the unit's lease at ``epoch`` now."""
        current = self.current(tenant, application)
        if current is None or not (
            current.held and current.holder == holder and current.epoch == epoch
        ):
            raise LeaseHeld(
                f"the agent lease on tenant '{tenant}', application '{application}' "
                f"is no longer held by {holder} (epoch {epoch}): refusing to apply",
                current.to_json() if current is not None else None,
            )
