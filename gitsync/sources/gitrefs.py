"""Resolving a user's ref (``HEAD``, branch, tag, full ref name or commit sha) to a
commit sha: with ``git ls-remote`` on a remote, with ``git rev-parse`` locally."""

from __future__ import annotations

import re
from pathlib import Path

from gitsync.errors import BadRequest
from gitsync.sources.gitcmd import GitRunner, GitSourceError

_FULL_SHA = re.compile(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")
_SHORT_SHA = re.compile(r"[0-9a-fA-F]{4,39}")
# Ref names as git accepts them, minus the revision syntax (~ ^ : @{ …) we never need;
# ':' in particular would break the refspecs built from a ref.
_REF_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/+-]*")
_LISTED = 10  # refs named in an "unknown ref" message


def is_full_sha(ref: str) -> bool:
    return _FULL_SHA.fullmatch(ref) is not None


def check_ref(ref: str) -> str:
    """Return ``ref`` when it is a plain ref name or sha; raise BadRequest otherwise."""
    bad = (
        not _REF_NAME.fullmatch(ref)
        or ".." in ref
        or "//" in ref
        or ref.endswith(("/", ".", ".lock"))
        or "/." in ref
    )
    if bad:
        raise BadRequest(
            f"invalid git ref {ref!r}: use HEAD, a branch, a tag, refs/... or a commit sha"
        )
    return ref


class RefResolver:
    """Turns one source's ref into a sha, remembering the full ref name to fetch."""

    def __init__(self, git: GitRunner, url: str, ref: str, cwd: Path | None = None) -> None:
        self._git = git
        self._cwd = cwd
        self._url = url
        self._ref = ref
        self._full = "HEAD" if ref == "HEAD" else ref

    def full_name(self) -> str:
        """The full ref name (``refs/heads/main``) found by the last ``remote_sha``."""
        return self._full

    def remote_sha(self) -> str:
        ref = self._ref
        if is_full_sha(ref):
            return ref.lower()  # a commit never moves: nothing to ask the remote
        if ref == "HEAD" or ref.startswith("refs/"):
            names = [ref]
        else:
            names = [f"refs/heads/{ref}", f"refs/tags/{ref}"]
        # An annotated tag's commit is listed as "<tag>^{}" only when asked for by name.
        peeled = [f"{name}^{{}}" for name in names if name.startswith("refs/tags/")]
        args = ["ls-remote", "--", self._url, *names, *peeled]
        refs = _parse_ls_remote(self._git.run(args, cwd=self._cwd, what="git ls-remote"))
        candidates = [name for name in names if name in refs]
        if len(candidates) > 1:
            raise GitSourceError(
                f"ref {ref!r} is both a branch and a tag in {self._url}; "
                f"use refs/heads/{ref} or refs/tags/{ref}",
                reason="unknown-ref",
            )
        if not candidates:
            raise self._unknown(self._remote_names())
        self._full = candidates[0]
        return refs.get(self._full + "^{}", refs[self._full])

    def local_sha(self, repo_dir: Path) -> str:
        status, _, err = self._git.run_status(["rev-parse", "--git-dir"], cwd=repo_dir)
        if status != 0:
            raise self._git.error("git rev-parse", err or "not a git repository")
        args = ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{self._ref}^{{commit}}"]
        status, out, err = self._git.run_status(args, cwd=repo_dir)
        if status == 0:
            return out.strip()
        if err.strip():
            raise self._git.error("git rev-parse", err)
        listing = self._git.run(
            ["for-each-ref", "--format=%(refname)", "refs/heads", "refs/tags"], cwd=repo_dir
        )
        raise self._unknown(listing.split())

    def _remote_names(self) -> list[str]:
        args = ["ls-remote", "--heads", "--tags", "--", self._url]
        out = self._git.run(args, cwd=self._cwd, what="git ls-remote")
        return [name for name in _parse_ls_remote(out) if not name.endswith("^{}")]

    def _unknown(self, names: list[str]) -> GitSourceError:
        branches = sorted(
            n.removeprefix("refs/heads/") for n in names if n.startswith("refs/heads/")
        )
        tags = sorted(n.removeprefix("refs/tags/") for n in names if n.startswith("refs/tags/"))
        known = []
        if branches:
            known.append("branches: " + _some(branches))
        if tags:
            known.append("tags: " + _some(tags))
        hint = "; ".join(known) or "the repository has no branches or tags"
        message = f"ref {self._ref!r} not found in {self._url} ({hint})"
        if _SHORT_SHA.fullmatch(self._ref):
            message += "; give a commit as its full 40-character sha"
        return GitSourceError(message, reason="unknown-ref")


def _parse_ls_remote(out: str) -> dict[str, str]:
    refs: dict[str, str] = {}
    for line in out.splitlines():
        sha, _, name = line.partition("\t")
        if name:
            refs[name.strip()] = sha.strip()
    return refs


def _some(names: list[str]) -> str:
    shown = ", ".join(names[:_LISTED])
    return shown + (f", … ({len(names) - _LISTED} more)" if len(names) > _LISTED else "")
