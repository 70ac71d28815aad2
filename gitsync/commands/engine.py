"""``gitsync engine``: serve the engine's HTTP API (Vespa Deploy API v2 + Ray Serve REST API)."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import replace
from pathlib import Path

from gitsync.agent.log import configure_logging
from gitsync.api.address import check_bind, parse_listen
from gitsync.api.app import ApiSettings
from gitsync.api.server import build_server
from gitsync.engine.runtime_options import RuntimeOptions, make_engine

TOKEN_ENV = "GITSYNC_TOKEN"


def engine(
    listen: str,
    state_dir: str,
    *,
    token: str | None = None,
    max_body: int | None = None,
    public_urls: tuple[str, ...] = (),
    log_level: str = "warning",
    runtime: RuntimeOptions | None = None,
) -> int:
    """Serve until interrupted; returns the exit code. The token comes from ``token``
    or the ``GITSYNC_TOKEN`` environment variable; it is never printed."""
    secret = token or os.environ.get(TOKEN_ENV) or None
    address = parse_listen(listen)
    settings = ApiSettings(
        Path(state_dir), token=secret, public_urls=public_urls, bind_host=address.host
    )
    if max_body is not None:
        settings = replace(settings, max_body=max_body)

    def ready(url: str) -> None:
        auth = "token required" if secret else "no token: loopback only"
        print(
            f"gitsync engine serving {url} (state {state_dir}; {auth}; {options.describe()})",
            file=sys.stderr,
        )

    # As gitsync.api.server.serve, with the engine built for the chosen runtime.
    options = runtime or RuntimeOptions()
    check_bind(address, settings.token)
    # gitsync's own log lines (Ray retries, uploads) go through the redacting formatter.
    configure_logging("text", level=logging.WARNING)
    with make_engine(settings.state_dir, options) as the_engine:
        server = build_server(settings, address, engine=the_engine, log_level=log_level)
        ready(f"http://{address}")
        server.run()
    return 0
