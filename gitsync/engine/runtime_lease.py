"""Which engine drives the runtime when several share one store: the holder of the
``runtime`` lease, a row with a TTL in the store.

Every engine with a managed runtime (Ray) on a shared store runs a ``RuntimeLeader``
thread. It claims or renews the lease every third of the TTL; the holder drives Ray
(sends the generations any engine activated, runs the health gate and the automatic
rollback), the others only read Ray. An engine that dies stops renewing, and another
takes the lease once its TTL has passed. The lease's epoch grows with each new holder
and fences a stale one: before a generation goes to Ray its driver records it in the
store's ``runtime_sent``, in a transaction that checks the lease is still its own at
that epoch; a holder that lost the lease cannot record, so it does not send. A new
holder resumes from those records: a generation recorded as sent is adopted, not sent
again (and sent after all only if Ray turns out not to run it).

A holder also stops acting on its own clock a third of the TTL before its lease could
end, so it has stepped down before another engine may take over.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid

from gitsync.engine.records import AppId
from gitsync.engine.store import LeaseRow, Store, StoreError

log = logging.getLogger("gitsync.engine")

#: The lease's name: one driver per store, so per Ray cluster the engines share.
RUNTIME_LEASE = "runtime"
#: How long a holder's claim lasts without renewal: a dead driver's successor takes
#: over after at most this (plus one poll).
LEASE_TTL_S = 5.0


def engine_identity() -> str:
    """This engine process, as lease holders are named: host, pid, a random tag."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class RuntimeLease:
    """The ``runtime`` lease as one engine sees it: claim or renew, the epoch held, and
    whether it may act now (its own clock's deadline, before the store's expiry)."""

    def __init__(
        self, store: Store, holder: str, *, ttl: float = LEASE_TTL_S, name: str = RUNTIME_LEASE
    ) -> None:
        self.store = store
        self.holder = holder
        self.ttl = ttl
        self.name = name
        self.epoch: int | None = None
        self._act_until = 0.0  # monotonic: stop acting here unless renewed
        self._failure = ""  # the last renewal failure logged (an outage logs once)

    def renew(self) -> int | None:
        """Claim the lease, or renew it; the epoch held, None when another engine holds
        it. A store failure keeps the current claim until its own deadline."""
        started = time.monotonic()
        try:
            epoch = self.store.claim_lease(
                self.name, self.holder, "", time.time(), self.ttl, self.epoch
            )
        except StoreError as exc:
            if exc.message != self._failure:
                log.warning("cannot renew the %s lease: %s", self.name, exc.message)
            self._failure = exc.message
            return self.epoch if self.held() else None
        self._failure = ""
        self.epoch = epoch
        self._act_until = started + self.ttl * 2 / 3 if epoch is not None else 0.0
        return epoch

    def free_in(self) -> float:
        """Seconds until another holder's claim runs out (when to try again)."""
        row = self.current()
        return self.ttl if row is None else max(0.0, row.expires - time.time())

    def held(self) -> bool:
        return self.epoch is not None and time.monotonic() < self._act_until

    def record_sent(self, app: AppId, generation: int) -> bool:
        """Record that this holder hands ``generation`` of ``app`` to the runtime (0: its
        removal); False (send nothing) when the lease is no longer ours."""
        if self.epoch is None or not self.held():
            return False
        try:
            return self.store.record_sent(
                app, generation, self.name, self.holder, self.epoch, time.time()
            )
        except StoreError as exc:
            log.warning("cannot record what goes to the runtime: %s", exc.message)
            return False

    def release(self) -> None:
        """Let the lease go at once (a clean shutdown), so another engine need not wait."""
        if self.epoch is None:
            return
        epoch, self.epoch, self._act_until = self.epoch, None, 0.0
        try:
            self.store.release_lease(self.name, self.holder, epoch)
        except StoreError as exc:
            log.warning("cannot release the %s lease: %s", self.name, exc.message)

    def current(self) -> LeaseRow | None:
        """The lease row as the store has it (any holder), None before the first claim."""
        return next((row for row in self.store.leases(self.name) if row.name == self.name), None)
