"""Reading and writing a session's files, and reading an active application's.

The pure rules are in content.py; this part fetches a session's file rows from the
store under the engine's lock, asks content.py, and applies a write as one
transaction that resets the session to NEW (so it must be prepared again).
"""

from __future__ import annotations

from gitsync.config import package
from gitsync.engine import content, sessions
from gitsync.engine.context import EngineContext
from gitsync.engine.records import AppId, DirListing, FileContent, FileStatus
from gitsync.errors import NotFound, PayloadTooLarge


class SessionFiles:
    """File access to the sessions of one engine."""

    def __init__(self, context: EngineContext, limits: package.PackageLimits | None = None) -> None:
        self._limits = limits if limits is not None else package.PackageLimits()
        self._ctx = context

    def get(
        self, tenant: str, session_id: int, path: str, *, recursive: bool
    ) -> FileContent | DirListing:
        """A file's bytes or a directory listing."""
        with self._ctx.lock:
            store = self._ctx.require_tenant(tenant)
            self._ctx.session(tenant, session_id)
            rows = store.session_files(tenant, session_id)
            return content.get(rows, path, session_id, recursive, store.read_blob)

    def status(self, tenant: str, session_id: int, path: str) -> FileStatus | list[FileStatus]:
        """One status for a file, a list for a directory."""
        with self._ctx.lock:
            store = self._ctx.require_tenant(tenant)
            self._ctx.session(tenant, session_id)
            return content.status(store.session_files(tenant, session_id), path)

    def put(self, tenant: str, session_id: int, path: str, data: bytes | None) -> None:
        """Write a file (body required), or make a directory for a path ending in
        ``/``. Resets the session to NEW; refused on the active session (400)."""
        with self._ctx.lock:
            store = self._ctx.require_tenant(tenant)
            info = self._ctx.session(tenant, session_id)
            sessions.check_can_write(info)
            rows = store.session_files(tenant, session_id)
            change = content.plan_put(rows, path, data)
            self._check_caps(store.session_file_sizes(tenant, session_id), change)
            store.apply_content_change(tenant, session_id, change, self._ctx.clock())
            self._ctx.prepared.drop(tenant, session_id)

    def _check_caps(self, sizes: dict[str, int], change: content.ContentChange) -> None:
        """Content PUTs count against the package caps, as an upload does."""
        for name, data, _ in change.writes:
            sizes[name] = len(data)
        total = sum(sizes.values())
        if total > self._limits.max_decompressed:
            raise PayloadTooLarge(
                f"Session content would be {total} bytes; "
                f"the package limit is {self._limits.max_decompressed}"
            )
        if len(sizes) > self._limits.max_entries:
            raise PayloadTooLarge(
                f"Session would hold {len(sizes)} files; the package limit is "
                f"{self._limits.max_entries}"
            )

    def delete(self, tenant: str, session_id: int, path: str) -> None:
        """Delete a file or an empty directory. Resets the session to NEW; refused on
        the active session (400)."""
        with self._ctx.lock:
            store = self._ctx.require_tenant(tenant)
            info = self._ctx.session(tenant, session_id)
            sessions.check_can_write(info)
            rows = store.session_files(tenant, session_id)
            change = content.plan_delete(rows, path, session_id)
            store.apply_content_change(tenant, session_id, change, self._ctx.clock())
            self._ctx.prepared.drop(tenant, session_id)

    def get_active(self, app: AppId, path: str, *, recursive: bool) -> FileContent | DirListing:
        """Like ``get``, on the application's active session (404 if none)."""
        with self._ctx.lock:
            row = self._ctx.require_tenant(app.tenant).get_application(app)
            if row is None:
                raise NotFound(f"Unknown application id '{app.full_string()}'")
            return self.get(app.tenant, row.session_id, path, recursive=recursive)
