"""The agent's lease on its unit: acquire before acting, renew, stand by, take over.

A thread claims the unit's lease through the engine (``Target.claim_lease``) every third
of the TTL (a standby: also the moment the holder's lease runs out). While the lease is ours the agent reconciles, fencing each apply with
(holder, epoch); while another agent holds it, this one is a standby that logs the
holder once and keeps polling, and when the holder dies (its lease expires) the next
claim wins and the agent reconciles at once. A lease is counted as ours only until the
TTL has run out since the claim that last succeeded (measured from before it was sent),
so an agent cut off from its engine stops applying before anyone else can take over.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from gitsync.engine.unit_leases import UnitLease
from gitsync.errors import GitsyncError, LeaseHeld
from gitsync.sync.target import LeaseToken, Target

log = logging.getLogger("gitsync.agent")

DEFAULT_TTL_S = 10.0


def new_holder_id() -> str:
    """Unique per agent process: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaseKeeper:
    """Holds (or waits for) the lease on ``tenant``/``application`` for one agent."""

    def __init__(
        self,
        target: Target,
        tenant: str,
        application: str,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        holder: str | None = None,
        on_acquired: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.target = target
        self.tenant = tenant
        self.application = application
        self.ttl_s = ttl_s
        self.holder = holder or new_holder_id()
        self.info: dict[str, Any] = {"host": socket.gethostname(), "pid": os.getpid()}
        self.on_acquired = on_acquired
        self._clock = clock
        self._lock = threading.Lock()
        self._epoch: int | None = None
        self._valid_until = 0.0  # on self._clock
        self._seen: UnitLease | None = None  # the last lease the engine showed us
        self._error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- what the agent asks --------------------------------------------------------

    @property
    def token(self) -> LeaseToken | None:
        """Our (holder, epoch) while the lease is ours, else None: do not apply."""
        with self._lock:
            if self._epoch is None or self._clock() >= self._valid_until:
                return None
            return LeaseToken(self.holder, self._epoch)

    def held_by(self) -> str:
        """Who holds the unit, for messages: the other agent, or "unknown"."""
        with self._lock:
            seen = self._seen
        return seen.describe() if seen is not None else "unknown"

    def to_json(self) -> dict[str, Any]:
        """The status's ``lease``: our role, and who holds the unit."""
        token = self.token
        with self._lock:
            seen, error = self._seen, self._error
        role = "active" if token is not None else "standby"
        return {
            "role": role,
            "me": self.holder,
            "ttlSeconds": self.ttl_s,
            "epoch": token.epoch if token is not None else None,
            "holder": seen.to_json() if seen is not None else None,
            "error": error,
        }

    def lost(self, exc: LeaseHeld) -> None:
        """An apply was refused by the fence: the lease is gone, stand by."""
        with self._lock:
            self._epoch = None
        log.warning("lease lost: %s; standing by", exc.message)

    # -- claiming -------------------------------------------------------------------

    def claim_once(self) -> bool:
        """One claim or renewal now; True when the lease is ours afterwards."""
        with self._lock:
            epoch = self._epoch
        sent = self._clock()
        try:
            lease = self.target.claim_lease(
                self.tenant,
                self.application,
                holder=self.holder,
                ttl_s=self.ttl_s,
                epoch=epoch,
                info=self.info,
            )
        except LeaseHeld as exc:
            self._standby(exc)
            return False
        except GitsyncError as exc:  # the engine is away: ours only until the TTL runs out
            with self._lock:
                first = self._error != exc.message
                self._error = exc.message
            if first:
                log.warning("lease: cannot reach the engine to claim or renew: %s", exc.message)
            return self.token is not None
        with self._lock:
            # Ours again after a while without (a new epoch, or the engine back in time).
            acquired = self._epoch != lease.epoch or sent >= self._valid_until
            self._epoch = lease.epoch
            self._valid_until = sent + self.ttl_s
            self._seen = lease
            self._error = None
        if acquired:
            log.info(
                "lease acquired on %s/%s (epoch %s, TTL %g s): reconciling",
                self.tenant,
                self.application,
                lease.epoch,
                self.ttl_s,
            )
            self.on_acquired()
        return True

    def _standby(self, exc: LeaseHeld) -> None:
        seen = UnitLease.from_json(exc.lease) if exc.lease else None
        with self._lock:
            was_ours = self._epoch is not None
            self._epoch = None
            before = self._seen
            self._seen = seen
            self._error = None
        if was_ours:
            log.warning(
                "lease lost to %s: standing by", seen.describe() if seen else "another agent"
            )
        elif (
            before is None
            or seen is None
            or (before.holder, before.epoch)
            != (
                seen.holder,
                seen.epoch,
            )
        ):
            log.info(
                "standby: unit %s/%s held by %s",
                self.tenant,
                self.application,
                seen.describe() if seen is not None else "another agent",
            )

    # -- the thread -----------------------------------------------------------------

    def start(self) -> None:
        """Claim once now (so the first reconcile knows its role), then keep claiming."""
        self.claim_once()
        self._thread = threading.Thread(target=self._run, name="gitsync-lease", daemon=True)
        self._thread.start()

    def _next_claim_s(self) -> float:
        """A third of the TTL; a standby tries again as soon as the holder's lease runs
        out, so a takeover is bounded by the TTL, not the TTL plus a claim period."""
        period = self.ttl_s / 3
        with self._lock:
            seen, ours = self._seen, self._epoch is not None
        if ours or seen is None or not seen.held:
            return period
        return min(period, max(0.05, seen.expires - seen.now + 0.05))

    def _run(self) -> None:
        while not self._stop.wait(self._next_claim_s()):
            try:
                self.claim_once()
            except Exception:  # a bug must not end the renewals silently
                log.exception("lease renewal failed unexpectedly")

    def stop(self, *, release: bool = True) -> None:
        """Stop renewing; with ``release``, let the lease go so a standby takes over now."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.ttl_s)
        with self._lock:
            epoch, self._epoch = self._epoch, None
        if release and epoch is not None:
            try:
                self.target.release_lease(
                    self.tenant, self.application, holder=self.holder, epoch=epoch
                )
                log.info("lease released")
            except GitsyncError as exc:
                log.warning("lease not released (it expires in %g s): %s", self.ttl_s, exc.message)
