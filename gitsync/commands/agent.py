"""``gitsync agent SOURCE``: keep a deployment unit in line with a source until stopped.

The embedded engine (default) is served on ``--listen`` (127.0.0.1:19071) with the
agent's own routes beside the engine's; with ``--engine URL`` the agent drives a remote
engine and serves only its own routes. SIGTERM or SIGINT: the reconcile under way
finishes, the unit's lease is released, then the agent exits 0.

One agent acts per unit: it holds the unit's lease in the engine (``agent/lease.py``),
so a second agent anywhere is a standby. On one state directory the agent lock file
comes first: a second agent there waits for it (standby), since only one process may
open an embedded engine's state directory.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from gitsync.agent.lease import DEFAULT_TTL_S, LeaseKeeper
from gitsync.agent.lock import AgentLock, read_info
from gitsync.agent.log import configure_logging
from gitsync.agent.loop import Agent, AgentConfig
from gitsync.agent.metrics import AgentMetrics
from gitsync.agent.source import open_source
from gitsync.agent.triggers import watch_directory
from gitsync.api.address import DEFAULT_LISTEN, ListenAddress, check_bind, parse_listen
from gitsync.config.schema import UnknownKeys
from gitsync.engine import served
from gitsync.engine.runtime_options import RuntimeOptions, make_engine
from gitsync.errors import GitsyncError, LockHeld
from gitsync.sources.directory import DirectoryWatcher
from gitsync.sources.spec import SourceSpec
from gitsync.sync import reconcile
from gitsync.sync.spec import state_dir_of
from gitsync.sync.target import Target

if TYPE_CHECKING:
    from gitsync.agent.server import AgentServer

log = logging.getLogger("gitsync.agent")

STANDBY_POLL_S = 0.5  # how often a standby tries the state directory's agent lock


@dataclass(frozen=True)
class AgentOptions:
    """What ``gitsync agent`` was given on its command line."""

    source: SourceSpec
    engine_url: str | None = None
    state_dir: str | None = None
    token: str | None = None
    listen: str = DEFAULT_LISTEN
    public_urls: tuple[str, ...] = ()  # more names for the Host allow-list
    tenant: str = "default"
    application: str = "default"
    interval_s: float = 30.0
    self_heal: bool = False
    policy: reconcile.PrunePolicy = reconcile.PrunePolicy()
    webhook_secret: str | None = None
    log_format: str = "text"
    runtime: RuntimeOptions = RuntimeOptions()  # what runs the embedded engine's applications
    unknown_keys: UnknownKeys | None = None  # for the source; None: its .gitsync.yaml, else error
    lease_ttl_s: float = DEFAULT_TTL_S  # the unit's lease: a standby takes over within it


def _build(
    options: AgentOptions, state_dir: Path, address: ListenAddress
) -> tuple[Agent, Target, AgentServer]:
    """The agent, its target and its (not yet started) HTTP server."""
    from gitsync.agent import server

    config = AgentConfig(
        tenant=options.tenant,
        application=options.application,
        interval_s=options.interval_s,
        self_heal=options.self_heal,
        policy=options.policy,
        unknown_keys=options.unknown_keys,
    )
    if options.engine_url:
        from gitsync.sync.client import RemoteEngine

        target: Target = RemoteEngine(options.engine_url, token=options.token)
        metrics = AgentMetrics()
        agent = Agent(open_source(options.source, metrics), target, config, metrics=metrics)
        app = server.standalone_app(
            token=options.token, public_urls=options.public_urls, bind_host=address.host
        )
        http = server.AgentServer(
            app, agent, address, webhook_secret=options.webhook_secret, lifespan=False
        )
        return agent, target, http
    from gitsync.sync.target import EmbeddedTarget

    embedded = EmbeddedTarget(state_dir, engine=make_engine(state_dir, options.runtime))
    try:
        app = server.engine_app(
            state_dir,
            embedded.engine,
            token=options.token,
            public_urls=options.public_urls,
            bind_host=address.host,
        )
        metrics = AgentMetrics(app.state.ctx.metrics.registry)
        agent = Agent(open_source(options.source, metrics), embedded, config, metrics=metrics)
        http = server.AgentServer(
            app, agent, address, webhook_secret=options.webhook_secret, lifespan=True
        )
    except BaseException:
        embedded.close()
        raise
    return agent, embedded, http


def run_agent(options: AgentOptions, *, on_ready: Callable[[str], None] | None = None) -> int:
    """Hold the unit's lock, serve the agent's API, hold the unit's lease and reconcile
    until SIGTERM or SIGINT; ``on_ready`` gets the API's URL once it listens. Returns
    the exit code."""
    configure_logging(options.log_format)
    state_dir = Path(state_dir_of(options.state_dir))
    address = parse_listen(options.listen)
    check_bind(address, options.token)
    stopping = threading.Event()
    _install_signal_handlers(stopping.set)
    lock = _hold_state_dir(state_dir, options, stopping)
    if lock is None:
        log.info("agent stopped (standby)")
        return 0
    watcher: DirectoryWatcher | None = None
    target: Target | None = None
    keeper: LeaseKeeper | None = None
    published = False
    try:
        agent, target, http = _build(options, state_dir, address)
        url = http.start()
        lock.publish(url)
        if not options.engine_url:
            served.publish(state_dir, url)  # commands on this state directory use the API
            published = True
        if agent.source.kind == "directory":
            spec = options.source
            watcher = watch_directory(Path(spec.location), spec.subpath, lambda: _poke(agent))
        _install_signal_handlers(lambda: _stop(agent))
        if stopping.is_set():
            agent.stop()
        keeper = LeaseKeeper(
            target,
            options.tenant,
            options.application,
            ttl_s=options.lease_ttl_s,
            on_acquired=lambda: _takeover(agent),
        )
        keeper.info["url"] = url
        agent.lease = keeper
        log.info(
            "agent started: %s -> %s (API on %s, lease holder %s)",
            agent.source.describe()["location"],
            options.engine_url or f"embedded engine in {state_dir}",
            url,
            keeper.holder,
        )
        keeper.start()
        if on_ready is not None:
            on_ready(url)
        agent.run()
        keeper.stop(release=True)
        log.info("agent stopped")
        http.stop()
    finally:
        if keeper is not None:
            keeper.stop(release=False)  # already released on a clean stop
        if watcher is not None:
            watcher.stop()
        if target is not None:
            target.close()
        if published:
            served.withdraw(state_dir)
        lock.release()
    return 0


def _hold_state_dir(
    state_dir: Path, options: AgentOptions, stopping: threading.Event
) -> AgentLock | None:
    """The state directory's lock for the unit; while another agent process holds it,
    stand by (log its holder once) and retry. None when told to stop meanwhile."""
    lock = AgentLock(state_dir, options.tenant, options.application)
    announced: str | None = None
    while True:
        try:
            return lock.acquire()
        except LockHeld:
            holder = _local_holder(lock, options)
            if holder != announced:
                log.info(
                    "standby: unit %s/%s held by %s (same state directory %s)",
                    options.tenant,
                    options.application,
                    holder,
                    state_dir,
                )
                announced = holder
            if stopping.wait(STANDBY_POLL_S):
                return None


def _local_holder(lock: AgentLock, options: AgentOptions) -> str:
    """The agent holding the lock file: the unit's lease holder as its engine shows it
    (the remote engine, or the holder's embedded one at its URL), else its pid."""
    info = read_info(lock.path)
    url = info.get("url")
    engine_url = options.engine_url or (url if isinstance(url, str) and url else None)
    if engine_url:
        from gitsync.sync.client import RemoteEngine

        try:
            engine = RemoteEngine(engine_url, token=options.token, timeout_s=2.0)
            try:
                lease = engine.lease(options.tenant, options.application)
            finally:
                engine.close()
            if lease is not None and lease.held:
                return lease.describe()
        except GitsyncError:
            pass
    return f"pid {info.get('pid', '?')}" + (f" ({url})" if url else "")


def _poke(agent: Agent) -> None:
    agent.request("watch")


def _takeover(agent: Agent) -> None:
    agent.request("takeover")  # reconcile at once: the previous holder may have left work


def _stop(agent: Agent) -> None:
    agent.stop()


def _install_signal_handlers(then: Callable[[], None]) -> None:
    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("signal %s: finishing the current step", signal.Signals(signum).name)
        then()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
