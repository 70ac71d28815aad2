"""Session content operations (vespa-deploy-api.md §2.4) and content-addressed storage."""

from __future__ import annotations

import pytest

from gitsync.config import package
from gitsync.engine import DirListing, Engine, FileContent, FileStatus
from gitsync.errors import BadRequest, NotFound
from tests.testing.clock import ManualClock

T = "default"
FILES = {
    "serve.yaml": b"applications: []\n",
    "code/model.py": b"print(1)\n",
    "code/util/helpers.py": b"x = 1\n",
    ".vespaignore": b"*.tmp\n",
}


@pytest.fixture
def sid(engine: Engine) -> int:
    return engine.create_session(T, package.build_tar_gz(FILES), "application/x-gzip").session_id


def test_read_file_and_listings(engine: Engine, sid: int) -> None:
    assert engine.get_content(T, sid, "code/model.py") == FileContent(
        "code/model.py", b"print(1)\n"
    )
    assert engine.get_content(T, sid, "") == DirListing("", ["code/", "serve.yaml"])
    assert engine.get_content(T, sid, "code") == DirListing("code", ["code/model.py", "code/util/"])
    assert engine.get_content(T, sid, "code/") == engine.get_content(T, sid, "code")
    assert engine.get_content(T, sid, "/", recursive=True) == DirListing(
        "", ["code/", "code/model.py", "code/util/", "code/util/helpers.py", "serve.yaml"]
    )


def test_missing_path_is_404(engine: Engine, sid: int) -> None:
    with pytest.raises(NotFound, match=f"^Session {sid} does not contain a file at path '/nope'$"):
        engine.get_content(T, sid, "nope")


@pytest.mark.parametrize("path", ["a/../b", "./a", "a//b", ".."])
def test_illegal_paths_are_400(engine: Engine, sid: int, path: str) -> None:
    with pytest.raises(BadRequest, match="^Illegal path"):
        engine.get_content(T, sid, path)


def test_write_mkdir_status_and_delete(engine: Engine, sid: int) -> None:
    engine.put_content(T, sid, "code/model.py", b"print(2)\n")
    engine.put_content(T, sid, "new.txt", b"n")
    engine.put_content(T, sid, "empty/", None)
    engine.put_content(T, sid, "empty/", None)  # mkdir is idempotent
    engine.delete_content(T, sid, "serve.yaml")
    md5 = package.md5_hex
    assert engine.get_content_status(T, sid, "code/model.py") == FileStatus(
        "code/model.py", "changed", md5(b"print(2)\n")
    )
    assert engine.get_content_status(T, sid, "") == [
        FileStatus("code", "new", "", is_dir=True),
        FileStatus("empty", "new", "", is_dir=True),
        FileStatus("new.txt", "new", md5(b"n")),
        FileStatus("serve.yaml", "deleted", ""),
    ]
    with pytest.raises(NotFound):
        engine.get_content(T, sid, "serve.yaml")
    with pytest.raises(BadRequest, match="^Could not find status for 'never'$"):
        engine.get_content_status(T, sid, "never")


def test_write_needs_a_body(engine: Engine, sid: int) -> None:
    with pytest.raises(BadRequest, match="^Request must contain body when creating a file$"):
        engine.put_content(T, sid, "x.txt", None)


def test_delete_rules(engine: Engine, sid: int) -> None:
    with pytest.raises(BadRequest, match="^File 'code' is not an empty directory$"):
        engine.delete_content(T, sid, "code/")
    engine.put_content(T, sid, "empty/", None)
    engine.delete_content(T, sid, "empty/")
    assert engine.get_content(T, sid, "") == DirListing("", ["code/", "serve.yaml"])
    with pytest.raises(NotFound, match=f"^Session {sid} does not contain a file at path '/empty'$"):
        engine.delete_content(T, sid, "empty")


def test_identical_files_are_stored_once(engine: Engine, sid: int) -> None:
    store = engine._store  # the blob count is not part of the public API
    count = store.blob_count()
    for _ in range(3):
        engine.create_session(T, package.build_zip(FILES), "application/zip")
    assert store.blob_count() == count
    engine.put_content(T, sid, "copy.py", FILES["code/model.py"])
    assert store.blob_count() == count
    engine.put_content(T, sid, "fresh.py", b"new content")
    assert store.blob_count() == count + 1


def test_one_package_with_the_same_bytes_twice_keeps_them_once(engine: Engine) -> None:
    """Within one upload too (on PostgreSQL a new session's files and blobs are one
    statement), and bytes come back exactly, NUL and non-UTF-8 bytes included."""
    store = engine._store
    count = store.blob_count()
    raw = bytes(range(256)) * 3
    files = {"serve.yaml": b"applications: []\n", "a.bin": raw, "b/a.bin": raw}
    session = engine.create_session(T, package.build_zip(files), "application/zip")
    assert store.blob_count() == count + 2
    for path in ("a.bin", "b/a.bin"):
        assert engine.get_content(T, session.session_id, path) == FileContent(path, raw)
    empty = engine.create_session(T, package.build_zip({}), "application/zip")
    assert engine.get_content(T, empty.session_id, "") == DirListing("", [])


def test_unreferenced_blobs_go_at_expiry(engine: Engine, sid: int, clock: ManualClock) -> None:
    engine.put_content(T, sid, "fresh.py", b"only here")
    count = engine._store.blob_count()
    clock.advance(3601)
    assert engine.expire_sessions() == [(T, sid)]
    assert engine._store.blob_count() == 0 < count
