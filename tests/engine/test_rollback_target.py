"""Automatic rollback goes to the generation active right before the failed one, never
further back (which could revive applications deleted since)."""

from __future__ import annotations

from gitsync.engine.health import rollback_target
from gitsync.engine.records import AppId, HistoryEntry

APP = AppId("default")


def entry(generation: int, health: str, kind: str = "deploy") -> HistoryEntry:
    return HistoryEntry(APP, generation, generation, 0.0, kind, "r", {}, {}, health=health)


def test_the_generation_right_before_is_the_target_even_when_it_is_empty() -> None:
    entries = [entry(7, "failed"), entry(5, "healthy"), entry(3, "healthy")]
    decision = rollback_target(entries, 7, 7, previous=5)
    assert decision.target is not None and decision.target.generation == 5


def test_nothing_active_before_means_no_rollback_and_a_reason() -> None:
    # 3 was deleted (serve shutdown); 7 came when nothing was active: 3 must not return.
    entries = [entry(7, "failed"), entry(3, "healthy")]
    decision = rollback_target(entries, 7, 7, previous=0)
    assert decision.target is None
    assert decision.reason == "no automatic rollback: nothing was active before this generation"


def test_an_unhealthy_generation_before_stops_the_rollback() -> None:
    entries = [entry(7, "failed"), entry(5, "failed"), entry(3, "healthy")]
    decision = rollback_target(entries, 7, 7, previous=5)
    assert decision.target is None
    assert decision.reason == (
        "no automatic rollback: generation 5 before it was failed too; not reaching further back"
    )


def test_superseded_and_ungated_generations_may_be_rolled_back_to() -> None:
    for health in ("superseded", "healthy", ""):
        entries = [entry(7, "failed"), entry(5, health)]
        target = rollback_target(entries, 7, 7, previous=5).target
        assert target is not None and target.generation == 5


def test_no_rollback_without_a_word_when_newer_came_or_it_was_a_rollback() -> None:
    entries = [entry(8, "pending"), entry(7, "failed"), entry(5, "healthy")]
    assert rollback_target(entries, 7, 8, previous=5).target is None
    assert rollback_target(entries, 7, 8, previous=5).reason == ""
    rollback = [entry(7, "failed", kind="rollback"), entry(5, "healthy")]
    assert rollback_target(rollback, 7, 7, previous=5).target is None
