"""Push to deploy: git ``pre-receive`` and ``post-receive`` hooks for a bare repository.

pre-receive validates the pushed tree of the deploy branch, read from the quarantined
objects git has not yet admitted, and refuses the push (exit 1) with the
``file:line:col: message`` list when it is invalid, so nothing lands. post-receive
syncs the new commit and prints the plan and the new generation, which git relays to
the pusher as ``remote: …`` lines.

When a running agent is known (``--agent URL``, or the agent holding the lock under
``--state-dir``) both hooks ask it over HTTP: the hook process then imports nothing
heavy, and the agent's warm validator answers in milliseconds. Otherwise they do the
work themselves against ``--engine URL`` or the embedded engine in ``--state-dir``.
"""

from __future__ import annotations

import http.client
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from gitsync.errors import BadRequest, GitsyncError, SourceError

ZERO_SHA = "0" * 40
HOOK_NAMES = ("pre-receive", "post-receive")
MARKER = "# gitsync push-to-deploy hook"
GIT_TIMEOUT_S = 60.0
SYNC_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class HookSettings:
    branch: str = "main"
    engine_url: str | None = None
    state_dir: str | None = None
    agent_url: str | None = None
    subpath: str = ""
    tenant: str = "default"
    application: str = "default"

    def arguments(self) -> list[str]:
        args = ["--branch", self.branch, "--tenant", self.tenant, "--application", self.application]
        if self.engine_url:
            args += ["--engine", self.engine_url]
        if self.state_dir:
            args += ["--state-dir", str(Path(self.state_dir).absolute())]
        if self.agent_url:
            args += ["--agent", self.agent_url]
        if self.subpath:
            args += ["--path", self.subpath]
        return args


def install(bare_repo: Path, settings: HookSettings, *, force: bool = False) -> list[Path]:
    """Write executable pre-receive and post-receive hooks; returns their paths."""
    if not (bare_repo / "HEAD").is_file() or not (bare_repo / "objects").is_dir():
        raise BadRequest(f"{bare_repo} is not a bare git repository (no HEAD and objects/)")
    hooks_dir = bare_repo / "hooks"
    hooks_dir.mkdir(exist_ok=True)
    written = []
    for name in HOOK_NAMES:
        path = hooks_dir / name
        if path.exists() and MARKER not in path.read_text(errors="replace") and not force:
            raise BadRequest(
                f"{path} exists and was not written by gitsync: pass --force to replace it"
            )
        # ``-m gitsync.hooks``, not the click CLI: a push waits on two hook processes,
        # and click's import alone is ~35 ms of each.
        command = [sys.executable, "-m", "gitsync.hooks", name, *settings.arguments()]
        path.write_text(
            f"#!/bin/sh\n{MARKER} ({name}); re-run `gitsync hook install` to change it.\nexec {shlex.join(command)}\n"
        )
        path.chmod(0o755)
        written.append(path)
    return written


def read_updates(stream: TextIO, branch: str) -> list[tuple[str, str]]:
    """The (old, new) shas pushed to the deploy branch (git writes one line per ref)."""
    ref = f"refs/heads/{branch}"
    updates = []
    for line in stream:
        parts = line.split()
        if len(parts) == 3 and parts[2] == ref:
            updates.append((parts[0], parts[1]))
    return updates


def _agent_url(settings: HookSettings) -> str | None:
    if settings.agent_url:
        return settings.agent_url.rstrip("/")
    if settings.state_dir and not settings.engine_url:
        from gitsync.agent.lock import running_agent_url

        return running_agent_url(Path(settings.state_dir), settings.tenant, settings.application)
    return None


def _post(url: str, body: bytes, content_type: str, timeout_s: float) -> dict[str, Any]:
    """POST to the agent with http.client: urllib.request costs a hook ~30 ms to import."""
    parts = urlsplit(url)
    headers = {"Content-Type": content_type, "Content-Length": str(len(body))}
    token = os.environ.get("GITSYNC_TOKEN")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout_s)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        raw = response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise SourceError(
            f"the agent at {parts.scheme}://{parts.netloc} cannot be reached: {exc}"
        ) from exc
    finally:
        connection.close()
    try:
        data: dict[str, Any] = json.loads(raw)
    except ValueError:
        data = {"message": raw[:200].decode(errors="replace")}
    if response.status >= 300:
        raise GitsyncError(f"{url} answered {response.status}: {data.get('message', '')}")
    return data


def _git(args: list[str]) -> bytes:
    done = subprocess.run(["git", *args], capture_output=True, timeout=GIT_TIMEOUT_S, check=False)
    if done.returncode != 0:
        raise SourceError(f"git {args[0]} failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


# -- pre-receive ---------------------------------------------------------------------


def pre_receive(settings: HookSettings, stdin: TextIO, out: TextIO) -> int:
    for _old, new in read_updates(stdin, settings.branch):
        if new == ZERO_SHA:
            print(f"gitsync: refusing to delete the deploy branch '{settings.branch}'", file=out)
            return 1
        ok, lines = _validate(settings, new)
        if not ok:
            print(f"gitsync: push refused: {settings.branch} at {new[:12]} is invalid:", file=out)
            for line in lines:
                print(f"  {line}", file=out)
            return 1
        suffix = f" ({lines[-1]})" if lines else ""
        print(f"gitsync: {new[:12]} is valid{suffix}", file=out)
    return 0


def _validate(settings: HookSettings, sha: str) -> tuple[bool, list[str]]:
    url = _agent_url(settings)
    if url is not None:
        archive = _git(["archive", "--format=tar.gz", sha])
        try:
            answer = _post(
                f"{url}/api/gitsync/validate?revision={sha}",
                archive,
                "application/gzip",
                SYNC_TIMEOUT_S,
            )
        except SourceError:
            answer = None  # the agent is gone: validate here instead
        if answer is not None:
            lines = [str(line) for line in answer.get("issues") or []]
            if not answer.get("ok"):
                error = answer.get("error")
                return False, lines or [str(error)]
            if answer.get("summary"):
                lines.append(str(answer["summary"]))
            return True, lines
    return _validate_here(settings, sha)


def _validate_here(settings: HookSettings, sha: str) -> tuple[bool, list[str]]:
    from gitsync.config.loader import load_snapshot

    snapshot = _snapshot(settings, sha)
    result = load_snapshot(snapshot)
    lines = [issue.render() for issue in result.issues]
    return result.ok, lines


def _snapshot(settings: HookSettings, sha: str) -> Any:
    from gitsync.sources.git import GitSource

    # In a hook, GIT_DIR is "." and the quarantine directories are in the environment:
    # the pushed objects are readable by the git commands GitSource runs.
    return GitSource(Path.cwd(), ref=sha, subpath=settings.subpath).snapshot()


# -- post-receive --------------------------------------------------------------------


def post_receive(settings: HookSettings, stdin: TextIO, out: TextIO) -> int:
    updates = [(old, new) for old, new in read_updates(stdin, settings.branch) if new != ZERO_SHA]
    if not updates:
        return 0
    sha = updates[-1][1]
    url = _agent_url(settings)
    try:
        if url is not None:
            try:
                return _sync_through_agent(url, sha, out)
            except SourceError as exc:
                print(f"gitsync: {exc.message}; syncing directly", file=out)
        return _sync_directly(settings, sha, out)
    except GitsyncError as exc:
        print(f"gitsync: sync of {sha[:12]} failed: {exc.message}", file=out)
        return 1


def _sync_through_agent(url: str, sha: str, out: TextIO) -> int:
    print(f"gitsync: {sha[:12]} pushed; asking the agent at {url} to sync", file=out)
    status = _post(
        f"{url}/api/gitsync/refresh?wait=true&timeout={SYNC_TIMEOUT_S:g}",
        b"",
        "application/json",
        SYNC_TIMEOUT_S + 5,
    )
    last = status.get("lastSync") or {}
    _print_lines(out, str(last.get("plan") or last.get("summary") or "").splitlines())
    result = last.get("result")
    if result in ("applied", "in-sync"):
        print(
            f"gitsync: generation {last.get('generation')} active (revision {str(last.get('revision'))[:12]}, {result})",
            file=out,
        )
        return 0
    print(f"gitsync: the agent reports '{result}': {last.get('error') or ''}".rstrip(), file=out)
    return 1


def _sync_directly(settings: HookSettings, sha: str, out: TextIO) -> int:
    from gitsync.commands.common import TargetSpec
    from gitsync.plan.render import render_text
    from gitsync.sync import reconcile

    snapshot = _snapshot(settings, sha)
    target = TargetSpec(
        settings.engine_url, None if settings.engine_url else settings.state_dir
    ).open()
    try:
        tenant, application = settings.tenant, settings.application
        proposal = reconcile.propose(snapshot, target, tenant=tenant, application=application)
        _print_lines(out, render_text(proposal.plan, color=False).splitlines())
        if not proposal.plan.has_changes and proposal.live.revision == snapshot.revision:
            print(f"gitsync: already in sync at generation {proposal.live.generation}", file=out)
            return 0
        applied = reconcile.apply(proposal, target, tenant=tenant, application=application)
    finally:
        target.close()
    print(f"gitsync: generation {applied.generation} active (revision {sha[:12]})", file=out)
    return 0


def _print_lines(out: TextIO, lines: Iterable[str]) -> None:
    for line in lines:
        print(line, file=out)


def main(argv: list[str] | None = None) -> int:
    """``python -m gitsync.hooks pre-receive|post-receive [options]``: what the
    installed hooks run (the same options as ``gitsync hook pre-receive``)."""
    import argparse

    parser = argparse.ArgumentParser(prog="gitsync-hook")
    parser.add_argument("name", choices=HOOK_NAMES)
    parser.add_argument("--branch", default="main")
    parser.add_argument("--engine", dest="engine_url")
    parser.add_argument("--state-dir")
    parser.add_argument("--agent", dest="agent_url")
    parser.add_argument("--path", dest="subpath", default="")
    parser.add_argument("--tenant", default="default")
    parser.add_argument("--application", default="default")
    args = parser.parse_args(argv)
    settings = HookSettings(
        args.branch,
        args.engine_url,
        args.state_dir,
        args.agent_url,
        args.subpath,
        args.tenant,
        args.application,
    )
    run = pre_receive if args.name == "pre-receive" else post_receive
    try:
        return run(settings, sys.stdin, sys.stdout)
    except GitsyncError as exc:
        print(f"gitsync: {exc.message}", file=sys.stdout)
        return 1
