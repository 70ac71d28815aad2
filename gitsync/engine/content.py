"""Session content operations (vespa-deploy-api.md §2.4), as pure functions over file rows.

The store hands over a session's rows; these functions answer reads, and turn writes
into a ContentChange the store applies in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from gitsync.engine.records import DirListing, FileContent, FileStatus
from gitsync.errors import BadRequest, NotFound


class FileRow(NamedTuple):
    """One path of a session: a file (``sha256`` None once deleted) or an explicit
    directory made with mkdir. ``status`` is new, changed or deleted."""

    path: str
    kind: str  # "file" | "dir"
    sha256: str | None
    md5: str
    status: str


class ContentChange:
    """What a content PUT/DELETE does; the store applies it and resets the session to NEW.
    (A plain class: a hook's process builds no dataclass at import.)"""

    __slots__ = ("writes", "mkdirs", "deletes", "rmdirs")

    def __init__(
        self,
        writes: list[tuple[str, bytes, str]] | None = None,  # path, data, status
        mkdirs: list[str] | None = None,
        deletes: list[str] | None = None,  # files marked deleted
        rmdirs: list[str] | None = None,
    ) -> None:
        self.writes: list[tuple[str, bytes, str]] = [] if writes is None else writes
        self.mkdirs: list[str] = [] if mkdirs is None else mkdirs
        self.deletes: list[str] = [] if deletes is None else deletes
        self.rmdirs: list[str] = [] if rmdirs is None else rmdirs


def content_path(path: str) -> tuple[str, bool]:
    """(normalised path, names a directory). ``""`` is the root. ``..``, ``.`` and empty
    segments are a 400, as in Vespa."""
    trimmed = path[1:] if path.startswith("/") else path
    is_dir = trimmed == "" or trimmed.endswith("/")
    body = trimmed[:-1] if trimmed.endswith("/") else trimmed
    if body and any(part in ("", ".", "..") for part in body.split("/")):
        raise BadRequest(f"Illegal path '{path}': '..', '.' and empty segments are not allowed")
    if "\\" in body or "\0" in body:
        raise BadRequest(f"Illegal path '{path}'")
    return body, is_dir


class _Tree:
    def __init__(self, rows: Sequence[FileRow]) -> None:
        self.rows = {row.path: row for row in rows}
        self.files = {r.path: r for r in rows if r.kind == "file" and r.status != "deleted"}
        self.dirs = {r.path for r in rows if r.kind == "dir"}
        for path in self.files:
            parent = path.rpartition("/")[0]
            while parent:
                self.dirs.add(parent)
                parent = parent.rpartition("/")[0]

    def is_dir(self, path: str) -> bool:
        return path == "" or path in self.dirs

    def children(self, path: str, recursive: bool) -> list[str]:
        prefix = path + "/" if path else ""
        out: list[str] = []
        for name in sorted([*self.files, *self.dirs]):
            if not name.startswith(prefix) or name == path:
                continue
            rest = name[len(prefix) :]
            if (not recursive and "/" in rest) or any(p.startswith(".") for p in rest.split("/")):
                continue
            out.append(name + "/" if name in self.dirs else name)
        return out


def _missing(session_id: int, path: str) -> NotFound:
    return NotFound(f"Session {session_id} does not contain a file at path '/{path}'")


def get(
    rows: Sequence[FileRow],
    path: str,
    session_id: int,
    recursive: bool,
    read_blob: Callable[[str], bytes],
) -> FileContent | DirListing:
    clean, _ = content_path(path)
    tree = _Tree(rows)
    if clean in tree.files:
        sha = tree.files[clean].sha256
        assert sha is not None  # live files always have content
        return FileContent(clean, read_blob(sha))
    if tree.is_dir(clean):
        return DirListing(clean, tree.children(clean, recursive))
    raise _missing(session_id, clean)


def status(rows: Sequence[FileRow], path: str) -> FileStatus | list[FileStatus]:
    clean, _ = content_path(path)
    tree = _Tree(rows)
    row = tree.rows.get(clean)
    if row is not None and row.kind == "file":
        return FileStatus(clean, row.status, row.md5 if row.status != "deleted" else "")
    if tree.is_dir(clean):
        prefix = clean + "/" if clean else ""
        out: list[FileStatus] = []
        names = sorted({*tree.rows, *tree.dirs})
        for name in names:
            rest = name[len(prefix) :]
            if not name.startswith(prefix) or name == clean or "/" in rest:
                continue
            if rest.startswith("."):  # dot-files are hidden, as in listings
                continue
            item = tree.rows.get(name)
            if name in tree.dirs:
                out.append(FileStatus(name, item.status if item else "new", "", is_dir=True))
            elif item is not None:
                md5 = item.md5 if item.status != "deleted" else ""
                out.append(FileStatus(name, item.status, md5))
        return out
    raise BadRequest(f"Could not find status for '{path}'")


def plan_put(rows: Sequence[FileRow], path: str, data: bytes | None) -> ContentChange:
    clean, is_dir = content_path(path)
    tree = _Tree(rows)
    parent = clean.rpartition("/")[0]
    while parent:
        if parent in tree.files:
            raise BadRequest(f"Cannot create '{clean}': '{parent}' is a file")
        parent = parent.rpartition("/")[0]
    if is_dir:
        if clean in tree.files:
            raise BadRequest(f"Cannot create directory '{clean}': it is a file")
        return ContentChange(mkdirs=[clean] if clean and clean not in tree.dirs else [])
    if data is None:
        raise BadRequest("Request must contain body when creating a file")
    if tree.is_dir(clean):
        raise BadRequest(f"Cannot write '{clean}': it is a directory")
    previous = tree.rows.get(clean)
    return ContentChange(writes=[(clean, data, "changed" if previous else "new")])


def plan_delete(rows: Sequence[FileRow], path: str, session_id: int) -> ContentChange:
    clean, _ = content_path(path)
    tree = _Tree(rows)
    if clean in tree.files:
        return ContentChange(deletes=[clean])
    if clean == "":
        raise BadRequest("Cannot delete the package root")
    if tree.is_dir(clean):
        if tree.children(clean, recursive=True) or any(
            name.startswith(clean + "/") for name in tree.files
        ):
            raise BadRequest(f"File '{clean}' is not an empty directory")
        return ContentChange(rmdirs=[clean])
    raise _missing(session_id, clean)
