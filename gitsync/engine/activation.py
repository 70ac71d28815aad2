"""Activation helpers: from a prepared session to the store's Activation record, a
small cache of prepared packages, and the results the facade returns."""

from __future__ import annotations

from collections import OrderedDict

from gitsync.engine.prepare import PreparedPackage
from gitsync.engine.records import ActivateResult, DeploySource, PrepareResult, SessionInfo
from gitsync.engine.store import Activation, Store

_CACHE_SIZE = 8


class PreparedCache:
    """Prepared packages by (tenant, session id): activation normally follows prepare in
    the same process, so it need not decode the stored record again."""

    def __init__(self) -> None:
        self._items: OrderedDict[tuple[str, int], PreparedPackage] = OrderedDict()

    def put(self, tenant: str, session_id: int, prepared: PreparedPackage) -> None:
        self._items[(tenant, session_id)] = prepared
        self._items.move_to_end((tenant, session_id))
        while len(self._items) > _CACHE_SIZE:
            self._items.popitem(last=False)

    def drop(self, tenant: str, session_id: int) -> None:
        self._items.pop((tenant, session_id), None)

    def drop_tenant(self, tenant: str) -> None:
        """A deleted tenant's ids come back if it is created again."""
        for key in [key for key in self._items if key[0] == tenant]:
            del self._items[key]

    def get(self, store: Store, tenant: str, session_id: int) -> PreparedPackage:
        cached = self._items.get((tenant, session_id))
        if cached is None:
            cached = PreparedPackage.from_json(store.prepared_json(tenant, session_id))
            self.put(tenant, session_id, cached)
        return cached


def build_activation(
    info: SessionInfo,
    active: int | None,
    now: float,
    prepared: PreparedPackage,
    kind: str,
    source: DeploySource | None,
    rollback_of: int | None,
    health: str = "",
) -> Activation:
    return Activation(
        app=info.app,
        session_id=info.session_id,
        previous_session=active,
        now=now,
        digests=prepared.app_digests,
        route_prefixes=prepared.route_prefixes,
        app_configs=prepared.app_configs(),
        checksum=prepared.checksum,
        kind=kind,
        revision=source.revision if source and source.revision else prepared.revision,
        summary=prepared.actions.summary(),
        meta=dict(source.meta) if source else {},
        rollback_of=rollback_of,
        health=health,
    )


def dry_run_result(prepared: PrepareResult, stored: PreparedPackage) -> ActivateResult:
    info = prepared.session
    return ActivateResult(
        session=info,
        app=info.app,
        generation=info.session_id,
        previous_active_generation=info.previous_active_generation,
        checksum=stored.checksum,
        activated=False,
        log=prepared.log,
        actions=prepared.actions,
    )


def with_prepare(result: ActivateResult, prepared: PrepareResult) -> ActivateResult:
    """An activation result carrying the prepare log and actions (prepareandactivate)."""
    return ActivateResult(
        session=result.session,
        app=result.app,
        generation=result.generation,
        previous_active_generation=result.previous_active_generation,
        checksum=result.checksum,
        activated=result.activated,
        log=[*prepared.log, *result.log],
        actions=prepared.actions,
    )
