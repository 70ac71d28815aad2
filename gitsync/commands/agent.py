"""``gitsync agent SOURCE``: keep a deployment unit in line with a source until stopped.

The embedded engine (default) is served on ``--listen`` (127.0.0.1:19071) with the
agent's own routes beside the engine's; with ``--engine URL`` the agent drives a remote
engine and serves only its own routes. SIGTERM or SIGINT: the reconcile under way
finishes, then the agent exits 0.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import uvicorn
from starlette.types import ASGIApp

from gitsync.agent.lock import AgentLock
from gitsync.agent.log import configure_logging
from gitsync.agent.loop import Agent, AgentConfig
from gitsync.agent.metrics import AgentMetrics
from gitsync.agent.source import open_source
from gitsync.agent.triggers import watch_directory
from gitsync.agent.ui_view import AgentUiView
from gitsync.api.server import ListenAddress, bound_port, check_bind, parse_listen
from gitsync.engine.runtime_options import RuntimeOptions, make_engine
from gitsync.errors import GitsyncError
from gitsync.sources.directory import DirectoryWatcher
from gitsync.sources.spec import SourceSpec
from gitsync.sync import reconcile
from gitsync.sync.target import DEFAULT_STATE_DIR, Target

log = logging.getLogger("gitsync.agent")
STARTUP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class AgentOptions:
    source: SourceSpec
    engine_url: str | None = None
    state_dir: str | None = None
    token: str | None = None
    listen: str = "127.0.0.1:19071"
    tenant: str = "default"
    application: str = "default"
    interval_s: float = 30.0
    self_heal: bool = False
    policy: reconcile.PrunePolicy = reconcile.PrunePolicy()
    webhook_secret: str | None = None
    log_format: str = "text"
    runtime: RuntimeOptions = RuntimeOptions()  # the embedded engine's runtime (issue 7)


def _build(
    options: AgentOptions, state_dir: Path, address: ListenAddress
) -> tuple[Agent, Target, uvicorn.Server]:
    """The agent, its target and the (not yet started) HTTP server."""
    from gitsync.agent.routes import WebhookFirst, agent_routes, standalone_app, webhook_app

    config = AgentConfig(
        tenant=options.tenant,
        application=options.application,
        interval_s=options.interval_s,
        self_heal=options.self_heal,
        policy=options.policy,
    )
    if options.engine_url:
        from gitsync.sync.client import RemoteEngine

        target: Target = RemoteEngine(options.engine_url, token=options.token)
        metrics = AgentMetrics()
        agent = Agent(open_source(options.source, metrics), target, config, metrics=metrics)
        api = standalone_app(agent, token=options.token)
        hook = webhook_app(agent, options.webhook_secret)
        return agent, target, _server(WebhookFirst(hook, api), address, lifespan="off")
    from gitsync.api.app import ApiSettings, create_app
    from gitsync.sync.target import EmbeddedTarget

    embedded = EmbeddedTarget(state_dir, engine=make_engine(state_dir, options.runtime))
    try:
        settings = ApiSettings(state_dir=state_dir, token=options.token)
        app = create_app(settings, engine=embedded.engine)
        metrics = AgentMetrics(app.state.ctx.metrics.registry)
        agent = Agent(open_source(options.source, metrics), embedded, config, metrics=metrics)
        # Starlette builds its routing on the first request: routes added now are served.
        app.router.routes.extend(agent_routes(agent))
        app.state.ui_agent = AgentUiView(agent)  # the web page's view of the agent
        hook = webhook_app(agent, options.webhook_secret)
        server = _server(WebhookFirst(hook, app), address, lifespan="on")
    except BaseException:
        embedded.close()
        raise
    return agent, embedded, server


def _server(app: ASGIApp, address: ListenAddress, *, lifespan: str) -> uvicorn.Server:
    """The same uvicorn settings as ``gitsync engine`` (gitsync.api.server)."""
    config = uvicorn.Config(
        app,
        host=address.host,
        port=address.port,
        http="h11",
        lifespan=lifespan,  # type: ignore[arg-type]
        log_level="warning",
        access_log=False,
        server_header=False,
        proxy_headers=False,
    )
    return uvicorn.Server(config)


def _start_server(server: uvicorn.Server) -> threading.Thread:
    thread = threading.Thread(target=server.run, name="gitsync-api", daemon=True)
    thread.start()
    started = threading.Event()
    while not server.started and thread.is_alive():
        started.wait(0.01)
    if not server.started:
        raise GitsyncError("the agent's API did not start (is the --listen port in use?)")
    return thread


def run_agent(options: AgentOptions, *, on_ready: Callable[[str], None] | None = None) -> int:
    configure_logging(options.log_format)
    state_dir = Path(options.state_dir or DEFAULT_STATE_DIR)
    address = parse_listen(options.listen)
    check_bind(address, options.token)
    lock = AgentLock(state_dir, options.tenant, options.application).acquire()
    watcher: DirectoryWatcher | None = None
    target: Target | None = None
    try:
        agent, target, server = _build(options, state_dir, address)
        thread = _start_server(server)
        url = f"http://{ListenAddress(address.host, bound_port(server) or address.port)}"
        lock.publish(url)
        if agent.source.kind == "directory":
            spec = options.source
            watcher = watch_directory(Path(spec.location), spec.subpath, lambda: _poke(agent))
        _install_signal_handlers(agent)
        log.info(
            "agent started: %s -> %s (API on %s)",
            agent.source.describe()["location"],
            options.engine_url or f"embedded engine in {state_dir}",
            url,
        )
        if on_ready is not None:
            on_ready(url)
        agent.run()
        log.info("agent stopped")
        server.should_exit = True
        thread.join(10)
    finally:
        if watcher is not None:
            watcher.stop()
        if target is not None:
            target.close()
        lock.release()
    return 0


def _poke(agent: Agent) -> None:
    agent.request("watch")


def _install_signal_handlers(agent: Agent) -> None:
    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("signal %s: finishing the current step", signal.Signals(signum).name)
        agent.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
