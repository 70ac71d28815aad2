"""Push to deploy: what git's ``pre-receive`` and ``post-receive`` hooks do.

pre-receive validates the pushed tree of the deploy branch, read from the quarantined
objects git has not yet admitted, and refuses the push (exit 1) with the
``file:line:col: message`` list when it is invalid, so nothing lands. post-receive
syncs the new commit and prints the plan and the new generation, which git relays to
the pusher as ``remote: …`` lines.

When a running agent is known (``--agent URL``, or the agent holding the lock under
``--state-dir``), each hook asks it in one request that names this repository, branch
and subpath: the hook process then imports nothing heavy, and the agent's warm
validator answers in milliseconds. An agent that watches anything else does nothing
and says so (its sync would not be this push's); the hooks then do the work themselves
against ``--engine URL`` or the engine in ``--state-dir`` (through the API of whoever
holds it), and say so. What post-receive prints is about the pushed commit only: ``applied`` means the
active generation carries that revision. Every module beyond this one is imported only
on the path that needs it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from gitsync.errors import EngineUnavailable, GitsyncError
from gitsync.hooks.options import HookSettings
from gitsync.output import echo

if TYPE_CHECKING:
    from gitsync.config.snapshot import Snapshot
    from gitsync.sources.gitcmd import GitRunner

ZERO_SHA = "0" * 40
GIT_TIMEOUT_S = 60.0
SYNC_TIMEOUT_S = 120.0


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
    """The agent to ask, if any: ``--agent URL``, else the one holding the lock under
    ``--state-dir`` (read from its lock file: no request)."""
    if settings.agent_url:
        return settings.agent_url.rstrip("/")
    if settings.state_dir and not settings.engine_url:
        from gitsync.agent.lock import running_agent_url

        return running_agent_url(Path(settings.state_dir), settings.tenant, settings.application)
    return None


def _about(settings: HookSettings) -> dict[str, str]:
    """What both hooks ask about: an agent that watches anything else does nothing and
    says so (NOT_WATCHED), in the answer to the hook's one request."""
    return {
        "repository": str(Path.cwd().resolve()),
        "branch": settings.branch,
        "path": settings.subpath,
    }


def _not_asked(url: str, answer: dict[str, Any], settings: HookSettings) -> str:
    source = answer.get("source") or {}
    watched = f"{source.get('location', '?')}" + (
        f" at {source['ref']}" if source.get("ref") else ""
    )
    return (
        f"gitsync: the agent at {url} watches {watched}, not this repository's "
        f"{settings.branch}: it is not asked"
    )


def _git() -> GitRunner:
    """git for this repository, with the project's environment, timeout and redaction.

    In a hook, GIT_DIR is "." and the quarantine directories are in the environment:
    the pushed objects are readable by the git commands run here."""
    from gitsync.sources.gitauth import git_environment
    from gitsync.sources.gitcmd import GitRunner

    env = git_environment(None, GIT_TIMEOUT_S)
    return GitRunner(env, GIT_TIMEOUT_S, str(Path.cwd()), ())


# -- pre-receive ---------------------------------------------------------------------


def pre_receive(settings: HookSettings, stdin: TextIO, out: TextIO) -> int:
    for _old, new in read_updates(stdin, settings.branch):
        if new == ZERO_SHA:
            echo(f"gitsync: refusing to delete the deploy branch '{settings.branch}'", out)
            return 1
        ok, lines = _validate(settings, new)
        if not ok:
            echo(f"gitsync: push refused: {settings.branch} at {new[:12]} is invalid:", out)
            for line in lines:
                echo(f"  {line}", out)
            return 1
        warnings = [line for line in lines if "warning: " in line]
        others = [line for line in lines if line not in warnings]
        suffix = f" ({others[-1]})" if others else ""
        echo(f"gitsync: {new[:12]} is valid{suffix}", out)
        for line in warnings:  # unknown keys Ray drops, when the repository allows them
            echo(f"  {line}", out)
    return 0


def _validate(settings: HookSettings, sha: str) -> tuple[bool, list[str]]:
    url = _agent_url(settings)
    if url is not None:
        from gitsync.agent.client import NOT_WATCHED, AgentClient

        archive = _git().run_bytes(["archive", "--format=tar.gz", sha], what="git archive")
        try:
            with AgentClient(url) as agent:
                answer = agent.validate(
                    archive, sha, timeout_s=SYNC_TIMEOUT_S, about=_about(settings)
                )
        except EngineUnavailable:
            answer = None  # the agent is gone: validate here instead
        if answer is not None and answer.get("error-code") == NOT_WATCHED:
            answer = None  # it would judge by the rules of what it watches: validate here
        if answer is not None:
            lines = [str(line) for line in answer.get("issues") or []]
            if not answer.get("ok"):
                return False, lines or [str(answer.get("error"))]
            if answer.get("summary"):
                lines.append(str(answer["summary"]))
            return True, lines
    return _validate_here(settings, sha)


def _validate_here(settings: HookSettings, sha: str) -> tuple[bool, list[str]]:
    from gitsync.config.loader import load_snapshot

    result = load_snapshot(_snapshot(settings, sha))
    return result.ok, [issue.render() for issue in result.issues]


def _snapshot(settings: HookSettings, sha: str) -> Snapshot:
    from gitsync.sources.git import GitSource

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
                done = _sync_through_agent(url, sha, settings, out)
                if done is not None:
                    return done
            except EngineUnavailable as exc:
                echo(f"gitsync: {exc.message}; applying {sha[:12]} here", out)
        return _sync_directly(settings, sha, out)
    except GitsyncError as exc:
        echo(f"gitsync: {sha[:12]} was not applied: {exc.message}", out)
        return 1


def _sync_through_agent(url: str, sha: str, settings: HookSettings, out: TextIO) -> int | None:
    """The exit code, or None when the agent does not watch this repository."""
    from gitsync.agent.client import NOT_WATCHED, AgentClient

    echo(f"gitsync: {sha[:12]} pushed; asking the agent at {url} to sync", out)
    with AgentClient(url) as agent:
        status = agent.refresh(wait_s=SYNC_TIMEOUT_S, about=_about(settings))
    if status.get("error-code") == NOT_WATCHED:  # its sync would not be this push's
        echo(_not_asked(url, status, settings), out)
        return None
    last = status.get("lastSync") or {}
    result, revision = last.get("result"), str(last.get("revision") or "")
    lease = status.get("lease") or {}
    if lease.get("role") == "standby":  # another agent holds the unit: it applies the push
        echo(_standby(url, lease, sha), out)
        return 0
    if revision != sha:  # the agent synced something else (the branch moved on, or failed)
        shown = revision[:12] or "nothing"
        echo(
            f"gitsync: {sha[:12]} was not applied: the agent's last sync was {shown} "
            f"({result}): {last.get('error') or ''}".rstrip(": "),
            out,
        )
        return 1
    for line in last.get("warnings") or []:
        echo(f"gitsync: {line}", out)
    _print_lines(out, str(last.get("plan") or last.get("summary") or "").splitlines())
    generation = last.get("generation")
    if result == "applied":
        echo(f"gitsync: {sha[:12]} applied as generation {generation}", out)
        return 0
    if result == "in-sync":
        echo(f"gitsync: {sha[:12]} already live as generation {generation}", out)
        return 0
    error = f": {last.get('error')}" if last.get("error") else ""
    echo(f"gitsync: {sha[:12]} was not applied: the agent reports '{result}'{error}", out)
    return 1


def _standby(url: str, lease: dict[str, Any], sha: str) -> str:
    """What to tell the pusher when the agent asked only stands by: the holder's own
    address may be a loopback one on another machine, so it is named, not called."""
    holder = lease.get("holder") or {}
    who = str(holder.get("holder") or "another agent")
    where = (holder.get("info") or {}).get("url")
    held_by = f"{who} ({where})" if where else who
    return (
        f"gitsync: the agent at {url} stands by; {held_by} holds the unit and applies "
        f"{sha[:12]} on its next poll of this repository"
    )


def _sync_directly(settings: HookSettings, sha: str, out: TextIO) -> int:
    from gitsync.plan.render import render_text
    from gitsync.sync import reconcile
    from gitsync.sync.spec import TargetSpec

    snapshot = _snapshot(settings, sha)
    tenant, application = settings.tenant, settings.application
    state_dir = None if settings.engine_url else settings.state_dir
    target = TargetSpec(settings.engine_url, state_dir).open()
    try:
        live = target.live(tenant, application)
        proposal = reconcile.propose(snapshot, live)
        _print_lines(out, [f"gitsync: {line}" for line in proposal.warnings])
        _print_lines(out, render_text(proposal.plan, color=False).splitlines())
        if proposal.in_sync:
            echo(f"gitsync: {sha[:12]} already live as generation {live.generation}", out)
            return 0
        applied = reconcile.apply(proposal, target, tenant=tenant, application=application)
        now = target.live(tenant, application)
    finally:
        target.close()
    if now.generation == applied.generation and now.revision == sha:
        echo(f"gitsync: {sha[:12]} applied as generation {applied.generation}", out)
        return 0
    echo(
        f"gitsync: {sha[:12]} was deployed as generation {applied.generation}, but generation "
        f"{now.generation} (revision {str(now.revision)[:12]}) is active now",
        out,
    )
    return 1


def _print_lines(out: TextIO, lines: Iterable[str]) -> None:
    for line in lines:
        echo(line, out)
