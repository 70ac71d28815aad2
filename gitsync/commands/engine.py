"""``gitsync engine``: serve the engine's HTTP API (Vespa Deploy API v2 + Ray Serve REST API)."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import replace
from pathlib import Path

from gitsync.agent.log import configure_logging
from gitsync.api.address import bind_socket, check_bind, parse_listen, socket_url
from gitsync.api.app import ApiSettings
from gitsync.api.server import build_server
from gitsync.config.schema import UnknownKeys
from gitsync.engine import served
from gitsync.engine.runtime_options import RuntimeOptions, make_engine
from gitsync.output import echo
from gitsync.sync.spec import state_dir_of

TOKEN_ENV = "GITSYNC_TOKEN"


def engine(
    listen: str,
    state_dir: str | None,
    *,
    token: str | None = None,
    max_body: int | None = None,
    public_urls: tuple[str, ...] = (),
    log_level: str = "warning",
    runtime: RuntimeOptions | None = None,
    unknown_keys: UnknownKeys = "warn",
) -> int:
    """Serve until interrupted; returns the exit code. The token comes from ``token``
    or the ``GITSYNC_TOKEN`` environment variable; it is never printed. The port is
    bound before anything is announced: a port in use is one line and exit 2."""
    secret = token or os.environ.get(TOKEN_ENV) or None
    address = parse_listen(listen)
    directory = Path(state_dir_of(state_dir))
    settings = ApiSettings(directory, token=secret, public_urls=public_urls, bind_host=address.host)
    if max_body is not None:
        settings = replace(settings, max_body=max_body)
    options = runtime or RuntimeOptions()
    check_bind(address, settings.token)
    # gitsync's own log lines (Ray retries, uploads) go through the redacting formatter.
    configure_logging("text", level=logging.WARNING)
    with make_engine(settings.state_dir, options, unknown_keys=unknown_keys) as the_engine:
        sock = bind_socket(address)
        try:
            server = build_server(settings, address, engine=the_engine, log_level=log_level)
            url = socket_url(sock, address)
            auth = "token required" if secret else "no token: loopback only"
            echo(
                f"gitsync engine serving {url} (state {directory}; {auth}; "
                f"{options.describe()}; unknown keys: {unknown_keys})",
                sys.stderr,
            )
            served.publish(directory, url)
            server.run(sockets=[sock])
        finally:
            served.withdraw(directory)
            sock.close()
    return 0
