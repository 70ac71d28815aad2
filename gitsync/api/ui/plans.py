"""Plans between generations, for the history's "plan" pages and rollback's preview.

A generation never changes once active, so the plan between two of them is computed
once and kept (a few, least recently used first out).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from gitsync.config import model
from gitsync.engine import Engine
from gitsync.engine.records import AppId, HistoryEntry
from gitsync.errors import NotFound
from gitsync.plan.diff import Plan, diff
from gitsync.plan.render import render_text

_KEEP = 16


@dataclass(frozen=True)
class GenerationPlan:
    entry: HistoryEntry
    predecessor: int | None  # None: the unit's first generation (planned against nothing)
    text: str  # as ``gitsync diff`` prints it


class PlanStore:
    def __init__(self) -> None:
        self._plans: OrderedDict[tuple[AppId, int, int], Plan] = OrderedDict()
        self._lock = threading.Lock()

    def between(self, engine: Engine, unit: AppId, new: int, old: int | None) -> Plan:
        """The plan that takes generation ``old`` (None: nothing) to ``new``."""
        key = (unit, new, old or 0)
        with self._lock:
            cached = self._plans.get(key)
            if cached is not None:
                self._plans.move_to_end(key)
                return cached
        desired = _model(engine, unit, new)
        live = _model(engine, unit, old) if old else model.DeployConfig()
        plan = diff(desired, live)
        with self._lock:
            self._plans[key] = plan
            while len(self._plans) > _KEEP:
                self._plans.popitem(last=False)
        return plan

    def of_generation(
        self, engine: Engine, history: list[HistoryEntry], unit: AppId, generation: int
    ) -> GenerationPlan:
        """A generation's plan against the generation it replaced: the one it was
        prepared with while its session lives, else computed from both packages."""
        for index, entry in enumerate(history):
            if entry.generation == generation:
                before = history[index + 1].generation if index + 1 < len(history) else None
                text = engine.generation_plan_text(
                    unit.tenant, unit.application, entry.session_id, unit.instance
                )
                if text is None:
                    text = render_text(self.between(engine, unit, generation, before))
                return GenerationPlan(entry, before, text)
        raise NotFound(f"Generation {generation} of {unit.full_string()} was not found")


def _model(engine: Engine, unit: AppId, generation: int) -> model.DeployConfig:
    return engine.generation_model(unit.tenant, unit.application, generation, unit.instance)
