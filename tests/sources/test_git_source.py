"""GitSource against real repositories: a local path, file://, and smart HTTP."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from gitsync.errors import BadRequest, SourceError, UnsafeInput
from gitsync.sources.collect import Limits
from gitsync.sources.git import GitSource
from gitsync.sources.gitcmd import GitSourceError
from tests.testing.git import GitHttpServer, WorkRepo, git

APP = "applications:\n- name: fruit\n"


@pytest.fixture
def history(repo: WorkRepo) -> dict[str, str]:
    """Two commits on main, a lightweight tag, an annotated tag and a second branch."""
    first = repo.commit("first config", {"deploy/app.yaml": APP, "README.md": "hi\n"})
    os.symlink("app.yaml", repo.path / "deploy" / "alias.yaml")
    second = repo.commit("scale fruit", {"deploy/app.yaml": APP + "  num_replicas: 2\n"})
    git(repo.path, "tag", "v1", first)
    git(repo.path, "tag", "-a", "v2", "-m", "release 2", second)
    git(repo.path, "branch", "staging", first)
    return {"first": first, "second": second}


def source_for(kind: str, repo: WorkRepo, cache_dir: Path, **kw: Any) -> GitSource:
    location = str(repo.path) if kind == "path" else f"file://{repo.path}"
    return GitSource(location, cache_dir=cache_dir, timeout_s=30, **kw)


KINDS = ["path", "file"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("HEAD", "second"),
        ("main", "second"),
        ("staging", "first"),
        ("v1", "first"),
        ("v2", "second"),
        ("refs/heads/staging", "first"),
        ("refs/tags/v2", "second"),
    ],
)
def test_refs_resolve_to_their_commit(
    kind: str, ref: str, expected: str, repo: WorkRepo, cache_dir: Path, history: dict[str, str]
) -> None:
    source = source_for(kind, repo, cache_dir, ref=ref)
    assert source.remote_revision() == history[expected]
    snap = source.snapshot()
    assert snap.revision == history[expected]
    replicas = b"num_replicas" in snap.files["deploy/app.yaml"]
    assert replicas == (expected == "second")


@pytest.mark.parametrize("kind", KINDS)
def test_commit_sha_ref_reads_that_commit(
    kind: str, repo: WorkRepo, cache_dir: Path, history: dict[str, str]
) -> None:
    # An older commit is no branch tip: over file:// it needs more than a tip fetch.
    snap = source_for(kind, repo, cache_dir, ref=history["first"]).snapshot()
    assert snap.revision == history["first"]
    assert snap.files["deploy/app.yaml"] == APP.encode()


def test_short_sha_works_on_a_local_path(
    repo: WorkRepo, cache_dir: Path, history: dict[str, str]
) -> None:
    snap = source_for("path", repo, cache_dir, ref=history["first"][:10]).snapshot()
    assert snap.revision == history["first"]


@pytest.mark.parametrize("kind", KINDS)
def test_snapshot_has_files_symlinks_and_meta(
    kind: str, repo: WorkRepo, cache_dir: Path, history: dict[str, str]
) -> None:
    snap = source_for(kind, repo, cache_dir, ref="main").snapshot()
    assert sorted(snap.files) == ["README.md", "deploy/app.yaml"]
    assert snap.symlinks == frozenset({"deploy/alias.yaml"})
    url = str(repo.path) if kind == "path" else f"file://{repo.path}"
    assert snap.meta == {
        "sha": history["second"],
        "author": "Ada Lovelace <ada@example.com>",
        "message": "scale fruit",
        "time": "2024-05-01T12:00:00+00:00",
        "ref": "main",
        "source": url,
    }


@pytest.mark.parametrize("kind", KINDS)
def test_subpath_makes_paths_relative(
    kind: str, repo: WorkRepo, cache_dir: Path, history: dict[str, str]
) -> None:
    snap = source_for(kind, repo, cache_dir, subpath="deploy/").snapshot()
    assert list(snap.files) == ["app.yaml"]
    assert snap.symlinks == frozenset({"alias.yaml"})
    assert snap.meta["subpath"] == "deploy"


def test_subpath_errors(repo: WorkRepo, cache_dir: Path, history: dict[str, str]) -> None:
    with pytest.raises(UnsafeInput, match=r"^subpath '\.\./x' escapes the source root$"):
        source_for("path", repo, cache_dir, subpath="../x")
    missing = source_for("path", repo, cache_dir, subpath="deploy/nope")
    with pytest.raises(GitSourceError) as info:
        missing.snapshot()
    assert info.value.message == (
        f"subpath 'deploy/nope' not found at HEAD in {repo.path} ('deploy/nope' is missing)"
    )
    through_link = source_for("path", repo, cache_dir, subpath="deploy/alias.yaml/x")
    with pytest.raises(UnsafeInput, match="goes through the symlink 'deploy/alias.yaml'$"):
        through_link.snapshot()
    not_dir = source_for("path", repo, cache_dir, subpath="README.md")
    with pytest.raises(GitSourceError, match="^subpath 'README.md' is not a directory at HEAD"):
        not_dir.snapshot()


def test_uncommitted_edits_never_deploy(
    repo: WorkRepo, cache_dir: Path, history: dict[str, str]
) -> None:
    repo.write("deploy/app.yaml", "edited but not committed\n")
    repo.write("deploy/new.yaml", "untracked\n")
    git(repo.path, "add", "deploy/new.yaml")  # staged is still not committed
    snap = source_for("path", repo, cache_dir).snapshot()
    assert snap.revision == history["second"]
    assert snap.files["deploy/app.yaml"] == (APP + "  num_replicas: 2\n").encode()
    assert "deploy/new.yaml" not in snap.files


@pytest.mark.parametrize("kind", KINDS)
def test_moved_ref_is_detected_and_unchanged_ref_reuses_snapshot(
    kind: str, repo: WorkRepo, cache_dir: Path, history: dict[str, str]
) -> None:
    source = source_for(kind, repo, cache_dir, ref="main")
    before = source.snapshot()
    assert source.snapshot() is before  # ref unchanged: nothing fetched or re-read
    third = repo.commit("third", {"deploy/app.yaml": "applications: []\n"})
    assert source.remote_revision() == third
    after = source.snapshot()
    assert after.revision == third
    assert after.files["deploy/app.yaml"] == b"applications: []\n"


def test_force_push_rewriting_history(repo: WorkRepo, tmp_path: Path, cache_dir: Path) -> None:
    repo.commit("base", {"app.yaml": "v: 1\n"})
    remote = repo.bare_clone(tmp_path / "remote.git")
    git(repo.path, "remote", "add", "origin", str(remote))
    bad = repo.commit("bad", {"app.yaml": "v: bad\n"})
    git(repo.path, "push", "--quiet", "origin", "main")
    source = GitSource(f"file://{remote}", ref="main", cache_dir=cache_dir, timeout_s=30)
    assert source.snapshot().revision == bad

    git(repo.path, "reset", "--quiet", "--hard", "HEAD~1")
    rewritten = repo.commit("good", {"app.yaml": "v: 2\n"})
    git(repo.path, "push", "--quiet", "--force", "origin", "main")
    snap = source.snapshot()
    assert snap.revision == rewritten
    assert snap.files["app.yaml"] == b"v: 2\n"


def test_unknown_and_ambiguous_refs(
    repo: WorkRepo, cache_dir: Path, history: dict[str, str]
) -> None:
    url = f"file://{repo.path}"
    with pytest.raises(GitSourceError) as info:
        source_for("file", repo, cache_dir, ref="nope").snapshot()
    assert (
        info.value.message
        == f"ref 'nope' not found in {url} (branches: main, staging; tags: v1, v2)"
    )
    assert info.value.reason == "unknown-ref"
    with pytest.raises(GitSourceError) as info:
        source_for("path", repo, cache_dir, ref="nope").remote_revision()
    assert info.value.message == (
        f"ref 'nope' not found in {repo.path} (branches: main, staging; tags: v1, v2)"
    )
    with pytest.raises(GitSourceError, match="give a commit as its full 40-character sha$"):
        source_for("file", repo, cache_dir, ref="abc1234").remote_revision()
    git(repo.path, "branch", "v1")
    with pytest.raises(GitSourceError) as info:
        source_for("file", repo, cache_dir, ref="v1").remote_revision()
    assert info.value.message == (
        f"ref 'v1' is both a branch and a tag in {url}; use refs/heads/v1 or refs/tags/v1"
    )
    with pytest.raises(BadRequest, match="^invalid git ref 'main:evil'"):
        source_for("file", repo, cache_dir, ref="main:evil")


def test_deleted_remote_repository(
    repo: WorkRepo, tmp_path: Path, cache_dir: Path, history: dict[str, str]
) -> None:
    remote = repo.bare_clone(tmp_path / "gone.git")
    source = GitSource(f"file://{remote}", cache_dir=cache_dir, timeout_s=30)
    source.snapshot()
    shutil.rmtree(remote)
    with pytest.raises(GitSourceError) as info:
        source.remote_revision()
    assert info.value.reason == "not-found"
    assert info.value.message == (
        f"git repository file://{remote} not found (deleted, moved, or no access?): "
        f"'{remote}' does not appear to be a git repository"
    )
    with pytest.raises(GitSourceError, match="^git repository .* does not exist$"):
        GitSource(tmp_path / "never-existed").snapshot()


def test_unreachable_remote_names_no_credentials(
    closed_port: int, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITSYNC_GIT_TOKEN", "tok-from-env")
    source = GitSource(
        f"https://bob:hunter2@127.0.0.1:{closed_port}/team/repo.git",
        cache_dir=cache_dir,
        timeout_s=30,
    )
    with pytest.raises(SourceError) as info:
        source.snapshot()
    error = info.value
    assert isinstance(error, GitSourceError)
    assert error.reason == "unreachable"
    url = f"https://127.0.0.1:{closed_port}/team/repo.git"
    assert error.message.startswith(f"git remote {url} is unreachable: ")
    assert f"Failed to connect to 127.0.0.1 port {closed_port}" in error.message
    for shown in (error.message, str(error), repr(source), source.url):
        assert "hunter2" not in shown
        assert "bob" not in shown
        assert "tok-from-env" not in shown
    for path in cache_dir.rglob("*"):
        if path.is_file():
            assert b"hunter2" not in path.read_bytes()


def test_hung_remote_times_out(silent_server: int, cache_dir: Path) -> None:
    source = GitSource(
        f"http://127.0.0.1:{silent_server}/repo.git", cache_dir=cache_dir, timeout_s=1
    )
    with pytest.raises(GitSourceError) as info:
        source.remote_revision()
    assert info.value.reason == "timeout", info.value.message
    assert info.value.message == (
        f"git ls-remote timed out after 1 s for http://127.0.0.1:{silent_server}/repo.git"
    )


def test_credentials_reach_git_through_askpass(
    repo: WorkRepo, http_git: GitHttpServer, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sha = repo.commit("served", {"app.yaml": APP})
    repo.bare_clone(http_git.project_root / "team.git")
    monkeypatch.setenv("GITSYNC_GIT_USERNAME", "alice")
    monkeypatch.setenv("GITSYNC_GIT_PASSWORD", "s3cret-pass")
    source = GitSource(http_git.url("team.git"), cache_dir=cache_dir, timeout_s=30)
    snap = source.snapshot()
    assert snap.revision == sha
    assert snap.files == {"app.yaml": APP.encode()}
    config = (source.repo_dir / "config").read_text()
    assert "s3cret" not in config


def test_credentials_in_the_url_are_used_but_never_shown(
    repo: WorkRepo, http_git: GitHttpServer, cache_dir: Path
) -> None:
    sha = repo.commit("served", {"app.yaml": APP})
    repo.bare_clone(http_git.project_root / "team.git")
    with_creds = http_git.url("team.git").replace("http://", "http://alice:s3cret-pass@")
    source = GitSource(with_creds, cache_dir=cache_dir, timeout_s=30)
    assert source.snapshot().revision == sha
    assert source.url == http_git.url("team.git")


def test_wrong_credentials_are_an_actionable_error(
    repo: WorkRepo, http_git: GitHttpServer, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.commit("served", {"app.yaml": APP})
    repo.bare_clone(http_git.project_root / "team.git")
    monkeypatch.setenv("GITSYNC_GIT_TOKEN", "wrong-token-value")
    source = GitSource(http_git.url("team.git"), cache_dir=cache_dir, timeout_s=30)
    with pytest.raises(GitSourceError) as info:
        source.remote_revision()
    assert info.value.reason == "auth"
    assert info.value.message.startswith(f"authentication to {http_git.url('team.git')} failed (")
    assert info.value.message.endswith(
        "; set GITSYNC_GIT_USERNAME and GITSYNC_GIT_PASSWORD, or GITSYNC_GIT_TOKEN, "
        "or configure an ssh deploy key"
    )
    assert "wrong-token-value" not in info.value.message
    assert http_git.auth_failures >= 1  # the token did reach the server


def test_no_credentials_fails_fast_instead_of_prompting(
    repo: WorkRepo, http_git: GitHttpServer, cache_dir: Path
) -> None:
    repo.commit("served", {"app.yaml": APP})
    repo.bare_clone(http_git.project_root / "team.git")
    source = GitSource(http_git.url("team.git"), cache_dir=cache_dir, timeout_s=30)
    with pytest.raises(GitSourceError) as info:
        source.remote_revision()
    assert info.value.reason == "auth"


def _corrupt_blob(git_dir: Path, sha: str) -> None:
    loose = git_dir / "objects" / sha[:2] / sha[2:]
    loose.chmod(0o644)
    loose.write_bytes(b"not zlib at all")


def test_corrupted_local_repository(repo: WorkRepo, cache_dir: Path) -> None:
    repo.commit("c", {"app.yaml": APP})
    blob = git(repo.path, "rev-parse", "HEAD:app.yaml")
    _corrupt_blob(repo.path / ".git", blob)
    with pytest.raises(GitSourceError) as info:
        GitSource(repo.path).snapshot()
    assert info.value.reason == "corrupt"
    assert info.value.message.startswith(f"the git object store for {repo.path} is corrupted (")
    assert info.value.message.endswith("); run `git fsck`")


def test_corrupted_cache_is_rebuilt(repo: WorkRepo, cache_dir: Path) -> None:
    repo.commit("c", {"app.yaml": APP})
    first = GitSource(f"file://{repo.path}", cache_dir=cache_dir, timeout_s=30)
    first.snapshot()
    objects = [p for p in (first.repo_dir / "objects").rglob("*") if p.is_file()]
    for obj in objects:  # break every object file, loose or packed
        obj.chmod(0o644)
        obj.write_bytes(b"garbage")
    again = GitSource(f"file://{repo.path}", cache_dir=cache_dir, timeout_s=30)
    assert again.snapshot().files == {"app.yaml": APP.encode()}


def test_caps_apply_before_reading(repo: WorkRepo, cache_dir: Path) -> None:
    repo.commit("big", {"big.bin": "x" * 2048, "small.yaml": "a: 1\n"})
    capped = GitSource(repo.path, limits=Limits(max_file_bytes=1024))
    with pytest.raises(UnsafeInput) as info:
        capped.snapshot()
    assert info.value.message == "big.bin: file is 2048 bytes, over the limit of 1024 bytes"
    few = GitSource(repo.path, limits=Limits(max_files=1))
    with pytest.raises(UnsafeInput, match=r"^small.yaml: more than 1 files in the snapshot"):
        few.snapshot()


def test_sha_fetch_falls_back_when_the_server_refuses_unadvertised_commits(
    repo: WorkRepo, cache_dir: Path, history: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Protocol v0 over file:// refuses a want for a commit that is no ref tip.
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "protocol.version")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "0")
    snap = source_for("file", repo, cache_dir, ref=history["first"]).snapshot()
    assert snap.revision == history["first"]
    missing = source_for("file", repo, cache_dir, ref="0" * 40)
    with pytest.raises(GitSourceError) as info:
        missing.snapshot()
    assert info.value.message == f"commit {'0' * 40} not found in file://{repo.path}"
