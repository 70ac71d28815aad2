"""Counting what validation does not explain: findings stop at a bounded number, but
the answer still says how many entries are wrong beyond them.

Counting is cheaper than explaining: the compiled validator answers yes or no for
each application and each deployment (no message built), within a time budget, so a
million bad items cost well under a second and the answer stays small.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from gitsync.config.issues import JsonPath

COUNT_BUDGET_S = 2.0  # beyond it the count is a lower bound ("at least N more")
_CHECK_EVERY = 4096  # items between two looks at the clock

IsValid = Callable[[Any], bool]
Entry = tuple[int, int | None] | None  # (application, deployment or None); None: top level


class Validators(NamedTuple):
    """Yes-or-no checks of one part each: the config without its applications, one
    application without its deployments, one deployment."""

    top: IsValid
    application: IsValid
    deployment: IsValid


class Tally(NamedTuple):
    failing: int  # entries (top level, applications, deployments) that fail validation
    complete: bool  # False when the budget ran out: ``failing`` is a lower bound


def entry_of(path: JsonPath) -> Entry:
    """Which entry a finding's path is about."""
    if len(path) < 2 or path[0] != "applications" or not isinstance(path[1], int):
        return None
    if len(path) >= 4 and path[2] == "deployments" and isinstance(path[3], int):
        return (path[1], path[3])
    return (path[1], None)


def count_failing(config: Any, checks: Validators, budget_s: float = COUNT_BUDGET_S) -> Tally:
    """The entries of ``config`` that fail their schema, counted within ``budget_s``."""
    deadline = time.monotonic() + budget_s
    if not isinstance(config, Mapping):
        return Tally(1, True)
    apps = config.get("applications")
    failing = 0 if checks.top({**config, "applications": []}) else 1
    if not isinstance(apps, list):
        return Tally(failing + (apps is not None), True)
    for seen, app in enumerate(apps, 1):
        failing += _failing_in_app(app, checks)
        if seen % _CHECK_EVERY == 0 and time.monotonic() > deadline:
            return Tally(failing, False)
    return Tally(failing, True)


def _failing_in_app(app: Any, checks: Validators) -> int:
    if not isinstance(app, Mapping):
        return 1
    deployments = app.get("deployments")
    if not isinstance(deployments, list):
        return 0 if checks.application(app) else 1
    own = {key: value for key, value in app.items() if key != "deployments"}
    failing = 0 if checks.application(own) else 1
    return failing + sum(1 for item in deployments if not checks.deployment(item))


def not_shown(tally: Tally, shown: Iterable[JsonPath]) -> int:
    """Failing entries that no shown finding is about."""
    return max(tally.failing - len({entry_of(path) for path in shown}), 0)
