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
    the same process, so it need not decode the stored record again. On a shared store
    another engine may re-prepare a session, so an entry counts only while the session's
    ``changed`` stamp is the one it was cached with."""

    def __init__(self, shared: bool = False) -> None:
        self._items: OrderedDict[tuple[str, int], PreparedPackage] = OrderedDict()
        self._stamps: dict[tuple[str, int], float] = {}
        self._shared = shared

    def put(
        self, tenant: str, session_id: int, prepared: PreparedPackage, stamp: float = 0.0
    ) -> None:
        self._stamps[(tenant, session_id)] = stamp
        self._items[(tenant, session_id)] = prepared
        self._items.move_to_end((tenant, session_id))
        while len(self._items) > _CACHE_SIZE:
            gone, _ = self._items.popitem(last=False)
            self._stamps.pop(gone, None)

    def restamp(self, tenant: str, session_id: int, stamp: float) -> None:
        """The session's ``changed`` stamp moved without its prepared package changing
        (this engine activated it): the cached package stays current."""
        if (tenant, session_id) in self._items:
            self._stamps[(tenant, session_id)] = stamp

    def drop(self, tenant: str, session_id: int) -> None:
        self._items.pop((tenant, session_id), None)

    def drop_tenant(self, tenant: str) -> None:
        """A deleted tenant's ids come back if it is created again."""
        for key in [key for key in self._items if key[0] == tenant]:
            del self._items[key]

    def get(
        self, store: Store, tenant: str, session_id: int, *, read: SessionInfo | None = None
    ) -> PreparedPackage:
        key = (tenant, session_id)
        cached = self._items.get(key)
        stamp = 0.0
        if self._shared:
            info = read if read is not None else store.get_session(tenant, session_id)
            stamp = info.changed if info is not None else -1.0
            if cached is not None and self._stamps.get(key) != stamp:
                cached = None
        if cached is None:
            cached = PreparedPackage.from_json(store.prepared_json(tenant, session_id))
            self.put(tenant, session_id, cached, stamp)
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
        app_configs=prepared.app_configs,
        checksum=prepared.checksum,
        kind=kind,
        revision=source.revision if source and source.revision else prepared.revision,
        summary=prepared.actions.summary(),
        meta=dict(source.meta) if source else {},
        rollback_of=rollback_of,
        health=health,
        session_changed=info.changed,
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
