"""One agent per unit: the engine's leases on (tenant, application), on both stores, with
a manual clock: claim, refusal with the holder, renewal, expiry and takeover, release,
and the fence an apply carries."""

from __future__ import annotations

import pytest

from gitsync.engine import Engine
from gitsync.errors import BadRequest, InvalidName, LeaseHeld
from tests.testing.clock import ManualClock


def test_a_second_agent_is_refused_with_the_holder_until_the_lease_expires(
    engine: Engine, clock: ManualClock
) -> None:
    leases = engine.unit_leases
    assert leases.current("default", "shop") is None
    first = leases.claim("default", "shop", holder="a", ttl_s=10, info={"url": "http://a"})
    assert (first.holder, first.epoch, first.held) == ("a", 1, True)
    assert first.expires == clock() + 10

    with pytest.raises(LeaseHeld) as refused:
        leases.claim("default", "shop", holder="b", ttl_s=10)
    assert refused.value.http_status == 409
    assert refused.value.lease is not None
    assert refused.value.lease["holder"] == "a"
    assert refused.value.lease["info"] == {"url": "http://a"}
    assert "held by another agent: a (http://a)" in refused.value.message

    clock.advance(6)
    renewed = leases.claim("default", "shop", holder="a", ttl_s=10, epoch=1)
    assert renewed.epoch == 1 and renewed.expires == clock() + 10
    clock.advance(9)
    with pytest.raises(LeaseHeld):  # renewed: still a's 9 s after the claim before
        leases.claim("default", "shop", holder="b", ttl_s=10)

    clock.advance(2)  # a stopped renewing (killed): the lease runs out
    seen = leases.current("default", "shop")
    assert seen is not None and not seen.held and seen.holder == "a"
    taken = leases.claim("default", "shop", holder="b", ttl_s=10)
    assert (taken.holder, taken.epoch) == ("b", 2)
    with pytest.raises(LeaseHeld):  # a, back from the dead, renews its old epoch: no
        leases.claim("default", "shop", holder="a", ttl_s=10, epoch=1)


def test_release_lets_a_standby_in_at_once_and_units_are_independent(engine: Engine) -> None:
    leases = engine.unit_leases
    held = leases.claim("default", "shop", holder="a", ttl_s=60)
    other = leases.claim("default", "shop2", holder="b", ttl_s=60)  # a longer name: its own row
    assert other.epoch == 1
    leases.release("default", "shop", holder="b", epoch=held.epoch)  # not b's: no-op
    with pytest.raises(LeaseHeld):
        leases.claim("default", "shop", holder="c", ttl_s=60)
    leases.release("default", "shop", holder="a", epoch=held.epoch)
    taken = leases.claim("default", "shop", holder="c", ttl_s=60)
    assert (taken.holder, taken.epoch) == ("c", 2)
    current = leases.current("default", "shop2")
    assert current is not None and current.holder == "b"


def test_the_fence_passes_only_the_current_holder_at_its_epoch(
    engine: Engine, clock: ManualClock
) -> None:
    leases = engine.unit_leases
    leases.claim("default", "shop", holder="a", ttl_s=5)
    leases.check("default", "shop", holder="a", epoch=1)
    for holder, epoch in (("a", 2), ("b", 1)):
        with pytest.raises(LeaseHeld, match="no longer held by"):
            leases.check("default", "shop", holder=holder, epoch=epoch)
    clock.advance(6)
    with pytest.raises(LeaseHeld):  # expired, even if nobody took it yet
        leases.check("default", "shop", holder="a", epoch=1)
    with pytest.raises(LeaseHeld):  # never claimed
        leases.check("default", "other", holder="a", epoch=1)


@pytest.mark.parametrize(
    ("holder", "ttl", "error"),
    [
        ("", 10.0, BadRequest),
        ("x" * 201, 10.0, BadRequest),
        ("a\nb", 10.0, BadRequest),
        ("a", 0.5, BadRequest),
        ("a", 601.0, BadRequest),
    ],
)
def test_bad_claims_are_refused_clearly(
    engine: Engine, holder: str, ttl: float, error: type[Exception]
) -> None:
    with pytest.raises(error):
        engine.unit_leases.claim("default", "shop", holder=holder, ttl_s=ttl)
    with pytest.raises(InvalidName):
        engine.unit_leases.claim("default", "bad name", holder="a", ttl_s=10)
    with pytest.raises(BadRequest, match="info"):
        engine.unit_leases.claim("default", "shop", holder="a", ttl_s=10, info={"x": "y" * 3000})
