"""The agent's side of the unit lease, in-process on both stores with manual clocks: who
is active, what a standby sees and when it tries again, takeover after expiry, an agent
that lost its lease refused by the fence, release on a clean stop."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gitsync.agent.lease import LeaseKeeper
from gitsync.engine import DeploySource, Engine
from gitsync.errors import LeaseHeld
from gitsync.sync.target import EmbeddedTarget, LeaseToken
from tests.testing.clock import ManualClock
from tests.testing.configs import package_files

TTL = 9.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def shared(tmp_path: Path, clock: ManualClock, store_url: str | None) -> Iterator[EmbeddedTarget]:
    engine = Engine(tmp_path / "state", clock=clock, store=store_url)
    with EmbeddedTarget(tmp_path / "state", engine=engine) as opened:
        yield opened


def keeper(
    target: EmbeddedTarget, name: str, clock: ManualClock, acquired: list[str]
) -> LeaseKeeper:
    return LeaseKeeper(
        target,
        "default",
        "shop",
        ttl_s=TTL,
        holder=name,
        on_acquired=lambda: acquired.append(name),
        clock=clock,
    )


def test_one_active_one_standby_then_takeover_and_fencing(
    shared: EmbeddedTarget, clock: ManualClock
) -> None:
    acquired: list[str] = []
    first, second = keeper(shared, "a", clock, acquired), keeper(shared, "b", clock, acquired)
    first.info["url"] = "http://a:1"
    assert first.claim_once() and not second.claim_once()
    assert acquired == ["a"]
    assert first.to_json()["role"] == "active" and first.token is not None
    standby = second.to_json()
    assert standby["role"] == "standby" and standby["epoch"] is None
    assert standby["holder"]["holder"] == "a"
    assert second.held_by() == "a (http://a:1)"
    assert second._next_claim_s() == pytest.approx(TTL / 3)  # a's lease has 9 s left

    clock.advance(7)  # a renews nothing (killed); 2 s left: b tries again right then
    assert not second.claim_once()
    assert second._next_claim_s() == pytest.approx(2.05)
    clock.advance(2.1)
    assert second.claim_once()
    assert acquired == ["a", "b"] and second.token is not None and second.token.epoch == 2

    # a, frozen rather than dead, thinks its lease lasts until its own clock says no:
    assert first.token is None  # 9.1 s on a's clock since its claim: it stopped itself
    files = package_files(("app1", "/a"))
    with pytest.raises(LeaseHeld, match="no longer held by a"):  # and the engine agrees
        stale = LeaseToken("a", 1)
        shared.deploy(
            files, tenant="default", application="shop", source=DeploySource(), lease=stale
        )
    assert shared.deploy(
        files, tenant="default", application="shop", source=DeploySource(), lease=second.token
    ).activated
    assert not first.claim_once()  # a's renewal: refused, it stands by
    assert first.to_json()["role"] == "standby"


def test_a_clean_stop_releases_so_the_standby_takes_over_at_once(
    shared: EmbeddedTarget, clock: ManualClock
) -> None:
    acquired: list[str] = []
    first, second = keeper(shared, "a", clock, acquired), keeper(shared, "b", clock, acquired)
    assert first.claim_once() and not second.claim_once()
    first.stop(release=True)
    assert first.token is None
    assert second.claim_once() and acquired == ["a", "b"]
    lease = shared.lease("default", "shop")
    assert lease is not None and (lease.holder, lease.epoch) == ("b", 2)
