"""The ``runtime`` lease on both stores: one holder at a time, a higher epoch for each
new one, and a holder that lost it can no longer record a send (so it sends nothing)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitsync.engine.records import AppId
from gitsync.engine.runtime_lease import RUNTIME_LEASE, RuntimeLease
from gitsync.engine.store import Store, locate

UNIT = AppId("default", "default", "default")
TTL = 0.6


@pytest.fixture
def store(tmp_path: Path, store_url: str | None) -> Iterator[Store]:
    opened = Store(locate(tmp_path / "state", store_url))
    opened.open(time.time())
    try:
        yield opened
    finally:
        opened.close()


def test_one_holder_at_a_time_and_the_next_one_gets_a_higher_epoch(store: Store) -> None:
    first, second = RuntimeLease(store, "a", ttl=TTL), RuntimeLease(store, "b", ttl=TTL)
    assert first.renew() == 1 and first.held()
    assert second.renew() is None and not second.held()
    assert first.renew() == 1  # renewing keeps the epoch
    assert first.current() is not None and first.current().holder == "a"  # type: ignore[union-attr]
    time.sleep(TTL + 0.1)  # the first stops renewing, as a killed engine does
    assert not first.held()  # its own clock stopped it first
    assert second.renew() == 2 and second.held()
    assert first.renew() is None  # it comes back: the lease is taken


def test_a_holder_records_sends_under_its_epoch(store: Store) -> None:
    lease = RuntimeLease(store, "a", ttl=TTL)
    assert not lease.record_sent(UNIT, 2)  # not claimed yet: no send
    lease.renew()
    assert lease.record_sent(UNIT, 2)
    assert lease.record_sent(UNIT, 3)
    assert store.sent_generations() == {UNIT: (3, 1)}


def test_a_stale_holder_cannot_record_a_send(store: Store) -> None:
    stale, fresh = RuntimeLease(store, "a", ttl=TTL), RuntimeLease(store, "b", ttl=TTL)
    stale.renew()
    assert stale.record_sent(UNIT, 2)
    time.sleep(TTL + 0.1)
    assert fresh.renew() == 2
    # Even with its epoch in hand and its own clock ignored, the store refuses it.
    assert not store.record_sent(UNIT, 3, RUNTIME_LEASE, "a", 1, time.time())
    assert not stale.record_sent(UNIT, 3)
    assert fresh.record_sent(UNIT, 3)
    assert store.sent_generations() == {UNIT: (3, 2)}


def test_an_expired_lease_records_nothing_even_for_its_holder(store: Store) -> None:
    lease = RuntimeLease(store, "a", ttl=TTL)
    epoch = lease.renew()
    assert epoch == 1
    time.sleep(TTL + 0.1)
    assert not store.record_sent(UNIT, 2, RUNTIME_LEASE, "a", epoch, time.time())
    assert store.sent_generations() == {}


def test_a_released_lease_is_taken_at_once(store: Store) -> None:
    first, second = RuntimeLease(store, "a", ttl=30.0), RuntimeLease(store, "b", ttl=30.0)
    first.renew()
    first.release()
    assert not first.held()
    assert second.renew() == 2
