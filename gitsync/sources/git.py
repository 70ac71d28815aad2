"""The git source: a repository (local path or remote URL) at a ref, read into a Snapshot.

Only committed content is read, from the commit's tree objects (``git cat-file`` and
``git ls-tree`` through :mod:`gitsync.sources.gitcmd`), never from a work tree. A remote is mirrored into a bare cache repository (keyed by a hash of the URL)
with shallow fetches; ``git ls-remote`` first answers "has the ref moved?" so an
unchanged remote costs one round trip. A local path is read in place.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import NamedTuple

from gitsync.config.snapshot import Snapshot
from gitsync.errors import SourceError, UnsafeInput
from gitsync.localfile import open_lock_file
from gitsync.sources import is_remote
from gitsync.sources.collect import (
    DEFAULT_LIMITS,
    VCS_DIRS,
    Limits,
    SnapshotBuilder,
    normalize_subpath,
)
from gitsync.sources.gitauth import check_transport, git_environment
from gitsync.sources.gitcmd import GitRunner, GitSourceError
from gitsync.sources.gitrefs import RefResolver, check_ref, is_full_sha

_SYMLINK_MODE = 0o120000


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "gitsync" / "git"


class GitSource:
    """A git repository at ``ref`` (``HEAD``, a branch, a tag or a commit sha).

    ``remote_revision()`` is cheap (``ls-remote`` or ``rev-parse``); ``snapshot()``
    fetches only when the ref moved, then reads the tree below ``subpath``. Every git
    command is killed after ``timeout_s``. Errors are GitSourceError (a SourceError)
    whose ``reason`` says what went wrong; no message ever carries a credential.
    """

    def __init__(
        self,
        url_or_path: str | Path,
        *,
        ref: str = "HEAD",
        subpath: str = "",
        cache_dir: Path | None = None,
        timeout_s: float = 60.0,
        depth: int = 1,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        raw = str(url_or_path)
        self.ref = check_ref(ref)
        self.subpath = normalize_subpath(subpath)
        self.timeout_s = timeout_s
        self.depth = depth
        self.limits = limits
        self.is_remote = is_remote(raw)
        creds = None
        if self.is_remote:
            check_transport(raw)
            # Only a remote has credentials: a push hook reads its own repository.
            from gitsync.sources.gitcreds import resolve_credentials, split_credentials

            parsed = split_credentials(raw)
            creds = resolve_credentials(parsed)
            self.url = parsed.url
        else:
            self.url = str(Path(raw).absolute())
        secrets = (creds.password,) if creds is not None else ()
        local = not self.is_remote or raw.lower().startswith("file://")
        env = git_environment(creds, timeout_s, allow_file=local)
        self._git = GitRunner(env, timeout_s, self.url, secrets)
        if self.is_remote:
            key = hashlib.sha256(self.url.encode()).hexdigest()[:16]
            name = re.sub(r"[^A-Za-z0-9._-]+", "-", self.url.rstrip("/").rsplit("/", 1)[-1])
            root = cache_dir if cache_dir is not None else default_cache_dir()
            self.repo_dir = root / f"{name.removesuffix('.git')[:40]}-{key}.git"
        else:
            self.repo_dir = Path(self.url)
        # ls-remote runs beside the cache, not in whatever repository the process is in.
        self._refs = RefResolver(self._git, self.url, self.ref, cwd=self.repo_dir.parent)
        self._last: Snapshot | None = None

    def __repr__(self) -> str:
        return f"GitSource({self.url!r}, ref={self.ref!r}, subpath={self.subpath!r})"

    def remote_revision(self) -> str:
        """The commit sha the ref points at now, without fetching any objects."""
        if self.is_remote:
            self._make_cache_root()
            return self._refs.remote_sha()
        return self._refs.local_sha(self._local_repo())

    def snapshot(self) -> Snapshot:
        """Fetch when the ref moved, then read the commit's tree below ``subpath``."""
        if not self.is_remote:
            return self._read_local(self._local_repo())
        with self._cache_lock():
            try:
                return self._fetch_and_read()
            except GitSourceError as exc:
                if exc.reason != "corrupt":
                    raise
            # The cache is ours to rebuild: a corrupted one is thrown away once.
            import shutil  # a remote's cache only: a push hook reads a local repository

            shutil.rmtree(self.repo_dir, ignore_errors=True)
            self._last = None
            return self._fetch_and_read()

    # -- remote cache ---------------------------------------------------------------

    def _make_cache_root(self) -> None:
        try:
            self.repo_dir.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SourceError(
                f"git cache directory {self.repo_dir.parent} cannot be created: {exc.strerror}"
            ) from exc

    def _fetch_and_read(self) -> Snapshot:
        sha = self.remote_revision()
        self._ensure_cache()
        if not self._has_commit(sha):
            sha = self._fetch(sha)
        return self._read_cached(self.repo_dir, sha)

    def _ensure_cache(self) -> None:
        if (self.repo_dir / "HEAD").is_file():
            return
        self.repo_dir.parent.mkdir(parents=True, exist_ok=True)
        import shutil

        shutil.rmtree(self.repo_dir, ignore_errors=True)
        self._git.run(["init", "--quiet", "--bare", str(self.repo_dir)], what="git init")

    def _has_commit(self, sha: str) -> bool:
        args = ["cat-file", "-e", f"{sha}^{{commit}}"]
        return self._git.run_status(args, cwd=self.repo_dir)[0] == 0

    def _fetch(self, sha: str) -> str:
        """Fetch the ref (force: a rewritten history is fine) and return its commit."""
        fetch = ["-c", "gc.autoDetach=false", "fetch", "--quiet", "--no-tags"]
        shallow = [f"--depth={self.depth}"] if self.depth > 0 else []
        if is_full_sha(self.ref):
            target = f"refs/gitsync/commits/{sha}"
            args = [*fetch, *shallow, "--", self.url, f"+{sha}:{target}"]
            status, _, err = self._git.run_status(args, cwd=self.repo_dir)
            if status != 0 and self._git.error("", err).reason == "failed":
                # The server refuses unadvertised commits: fetch all branches and tags.
                self._fetch_everything()
            elif status != 0:
                raise self._git.error("git fetch", err)
            if not self._has_commit(sha):
                raise GitSourceError(f"commit {sha} not found in {self.url}", reason="unknown-ref")
            return sha
        full = self._refs.full_name()
        target = f"refs/gitsync/{full}"
        args = [*fetch, *shallow, "--", self.url, f"+{full}:{target}"]
        self._git.run(args, cwd=self.repo_dir, what="git fetch")
        # The ref may have moved again since ls-remote: read what was fetched.
        return self._git.run(["rev-parse", "--verify", f"{target}^{{commit}}"], cwd=self.repo_dir)

    def _fetch_everything(self) -> None:
        refspecs = [
            "+refs/heads/*:refs/gitsync/all/heads/*",
            "+refs/tags/*:refs/gitsync/all/tags/*",
        ]
        shallow = self._git.run(["rev-parse", "--is-shallow-repository"], cwd=self.repo_dir)
        extra = ["--unshallow"] if shallow.strip() == "true" else []
        args = ["fetch", "--quiet", "--no-tags", *extra, "--", self.url, *refspecs]
        self._git.run(args, cwd=self.repo_dir, what="git fetch")

    @contextlib.contextmanager
    def _cache_lock(self) -> Iterator[None]:
        """One fetch at a time per cache repository, across threads and processes."""
        self._make_cache_root()
        lock_path = self.repo_dir.with_name(self.repo_dir.name + ".lock")
        deadline = time.monotonic() + self.timeout_s
        try:
            fd = open_lock_file(lock_path, os.O_RDWR, create=True)
        except (OSError, ValueError) as exc:  # ValueError: not a regular file of its own
            raise GitSourceError(
                f"the lock of the cache of {self.url} cannot be used: {exc}", reason="failed"
            ) from None
        with os.fdopen(fd, "rb") as handle:
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise GitSourceError(
                            f"the cache of {self.url} stayed locked by another fetch for "
                            f"{self.timeout_s:g} s ({lock_path})",
                            reason="timeout",
                        ) from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    # -- reading a commit -----------------------------------------------------------

    def _local_repo(self) -> Path:
        if not self.repo_dir.exists():
            raise GitSourceError(f"git repository {self.url} does not exist", "not-found")
        return self.repo_dir

    def _read_local(self, repo_dir: Path) -> Snapshot:
        """A local repository's commit at the ref, in as few git processes as its ref
        allows: a full sha (a push hook's) needs no resolving, a name is resolved by the
        ``cat-file --batch`` that reads its commit. A ref or repository git cannot read
        takes the long way, whose errors name what exists."""
        if is_full_sha(self.ref):
            if self._last is not None and self._last.revision == self.ref:
                return self._last
            try:
                snap = self._read_commit(repo_dir, self.ref)
            except GitSourceError as exc:
                if exc.reason not in ("timeout", "corrupt"):
                    # An unknown commit or no repository: rev-parse's error says which.
                    self._refs.local_sha(repo_dir)
                raise
            self._last = snap
            return snap
        status, records = self._batch(repo_dir, [f"{self.ref}^{{commit}}"])
        header, body = records[0] if status == 0 and records else ([], b"")
        if len(header) != 3 or header[1] != "commit":
            return self._read_cached(repo_dir, self._refs.local_sha(repo_dir))
        sha = header[0]
        if self._last is not None and self._last.revision == sha:
            return self._last
        snap = self._read_commit(repo_dir, sha, _text(body))
        self._last = snap
        return snap

    def _read_cached(self, repo_dir: Path, sha: str) -> Snapshot:
        if self._last is not None and self._last.revision == sha:
            return self._last
        snap = self._read_commit(repo_dir, sha)
        self._last = snap
        return snap

    def _read_commit(self, repo_dir: Path, sha: str, commit_text: str | None = None) -> Snapshot:
        """The commit's tree below ``subpath``, read with git commands (each with the
        source's timeout): a damaged object store fails them, and git says so.

        The tree is listed from the commit itself (``SHA^{commit}``), and the commit is
        read by the ``cat-file --batch`` that reads the blobs, unless already read: two
        git processes for a commit."""
        builder = SnapshotBuilder(self.limits)
        blobs = self._collect(repo_dir, self._subtree(repo_dir, f"{sha}^{{commit}}"), builder)
        names = [] if commit_text is not None else [f"{sha}^{{commit}}"]
        objects = self._read_objects(repo_dir, [*names, *dict.fromkeys(b for _, b in blobs)])
        if commit_text is None:  # a full sha may name a tag: the revision is its commit
            sha, body = objects.pop(0)
            commit_text = _text(body)
        contents = dict(objects)
        for rel, blob in blobs:
            builder.put(rel, contents[blob])
        commit = parse_commit(commit_text)
        meta = {
            "sha": sha,
            "author": commit.author,
            "message": commit.message.rstrip("\n"),
            "time": commit.time,
            "ref": self.ref,
            "source": self.url,
        }
        if self.subpath:
            meta["subpath"] = self.subpath
        return builder.build(sha, meta)

    def _subtree(self, repo_dir: Path, root: str) -> str:
        """The tree at ``subpath``, walked one name at a time so a symlink is caught."""
        tree = root
        walked: list[str] = []
        for name in self.subpath.split("/") if self.subpath else []:
            walked.append(name)
            here = "/".join(walked)
            listing = self._git.run(["ls-tree", "-z", tree], cwd=repo_dir, what="git ls-tree")
            found = next(
                (entry for entry in _entries(listing) if entry.path == name),
                None,
            )
            if found is None:
                raise GitSourceError(
                    f"subpath {self.subpath!r} not found at {self.ref} in {self.url} "
                    f"({here!r} is missing)",
                    reason="not-found",
                )
            if found.mode == _SYMLINK_MODE:
                raise UnsafeInput(f"subpath {self.subpath!r} goes through the symlink {here!r}")
            if found.kind != "tree":
                raise GitSourceError(
                    f"subpath {self.subpath!r} is not a directory at {self.ref} in {self.url}",
                    reason="not-found",
                )
            tree = found.sha
        return tree

    def _collect(
        self, repo_dir: Path, tree: str, builder: SnapshotBuilder
    ) -> list[tuple[str, str]]:
        """List the tree with sizes in one command and check every cap: the (path, blob)
        pairs to read, once every cap held."""
        args = ["ls-tree", "-r", "-l", "-z", "--full-tree", tree]
        listing = self._git.run(args, cwd=repo_dir, what="git ls-tree")
        blobs: list[tuple[str, str]] = []
        for entry in _entries(listing):
            if any(part in VCS_DIRS for part in entry.path.split("/")):
                continue
            if entry.mode == _SYMLINK_MODE:
                builder.add_symlink(entry.path)
            elif entry.kind == "blob":  # submodules ("commit") are not content
                if not entry.size.isdigit():  # git lists "BAD" for an unreadable object
                    raise GitSourceError(
                        f"the git object store for {self.url} is corrupted ({entry.path}: "
                        f"object {entry.sha} cannot be read); run `git fsck`",
                        reason="corrupt",
                    )
                builder.admit(entry.path, int(entry.size))
                blobs.append((entry.path, entry.sha))
        # Caps were checked on the listed sizes: only then is any content read.
        return blobs

    def _read_objects(self, repo_dir: Path, names: list[str]) -> list[tuple[str, bytes]]:
        """Each named object's sha and content, in order, from one ``git cat-file --batch``."""
        if not names:
            return []
        status, records = self._batch(repo_dir, names)
        if status != 0:
            raise self._git.error("reading blobs", _text(records[0][1]))
        objects = []
        for header, body in records:
            if len(header) != 3:
                raise GitSourceError(
                    f"the git object store for {self.url} is corrupted (object "
                    f"{' '.join(header)}); run `git fsck`",
                    reason="corrupt",
                )
            objects.append((header[0], body))
        return objects

    def _batch(self, repo_dir: Path, names: list[str]) -> tuple[int, list[tuple[list[str], bytes]]]:
        """``git cat-file --batch`` for ``names``: its exit status and, in order, each
        object's header fields (``sha type size``, or ``name missing``) and content. On a
        failure, the one record holds git's stderr."""
        request = "".join(f"{name}\n" for name in names).encode()
        status, out, err = self._git.run_raw(["cat-file", "--batch"], cwd=repo_dir, input=request)
        if status != 0:
            return status, [([], err)]
        records: list[tuple[list[str], bytes]] = []
        at = 0
        while at < len(out):
            end = out.index(b"\n", at)
            header = out[at:end].decode("ascii", "replace").split()
            if len(header) != 3 or not header[2].isdigit():
                records.append((header, b""))
                at = end + 1
                continue
            size = int(header[2])
            records.append((header, out[end + 1 : end + 1 + size]))
            at = end + 1 + size + 1
        return status, records


class Commit(NamedTuple):
    """What a commit object says, as ``git cat-file commit`` prints it."""

    tree: str
    author: str  # "Name <email>"
    time: str  # the committer's time, ISO 8601 with its offset
    message: str


def parse_commit(text: str) -> Commit:
    headers: dict[str, str] = {}
    lines = text.split("\n")
    index = 0
    while index < len(lines) and lines[index]:
        key, _, value = lines[index].partition(" ")
        if not lines[index].startswith(" "):  # continuation lines (gpgsig) are skipped
            headers.setdefault(key, value)
        index += 1
    message = "\n".join(lines[index + 1 :])
    author, _, _ = headers.get("author", "").rpartition(" ")
    author = author.rpartition(" ")[0]
    _, stamp, offset = headers.get("committer", "").rsplit(" ", 2)
    return Commit(headers["tree"], author, _iso_time(int(stamp), offset), message)


def _iso_time(stamp: int, offset: str) -> str:
    sign = -1 if offset.startswith("-") else 1
    minutes = int(offset[1:3]) * 60 + int(offset[3:5])
    zone = timezone(timedelta(minutes=sign * minutes))
    return datetime.fromtimestamp(stamp, zone).isoformat()


class _Entry(NamedTuple):  # a NamedTuple: built at import, ~10 times faster
    mode: int
    kind: str
    sha: str
    size: str
    path: str


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _entries(listing: str) -> list[_Entry]:
    """``git ls-tree -z`` lines (``-l`` adds a size, else it is ``-``)."""
    entries = []
    for line in listing.split("\0"):
        info, _, path = line.partition("\t")
        if not path:
            continue
        fields = info.split()
        size = fields[3] if len(fields) > 3 else "-"
        entries.append(_Entry(int(fields[0], 8), fields[1], fields[2], size, path))
    return entries
