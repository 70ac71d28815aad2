"""Benchmark: the web page's server-side rendering next to the JSON API, same data, one run.

In process (Starlette's TestClient over the app ``gitsync.api.app.create_app`` builds,
no network): one unit with 1,000 applications (bench/gen_config.py, five deployments
each) for the overview and the unit's page; a second unit whose newest generation
changed 1 % of 10,000 applications for a generation's plan (its first open reads the
plan kept at prepare; later opens reuse the page's reads). The page's engine reads are
kept per state version, so these are the figures between changes; the first render
after a change costs one ``engine.live`` per unit, as the JSON API's ``/live`` does.
Targets: overview and unit page p50 <= 50 ms; the plan <= 200 ms.

With ``--browser`` (Debian's chromium and chromedriver on PATH), it also measures the
time from an activation (the Serve REST PUT returning) to an open unit page showing the
new generation, through the page's one-second version poll.

    python bench/ui.py [--requests 30] [--browser]
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parent))
from gen_config import generate_config

from gitsync.api.app import ApiSettings, create_app
from gitsync.engine import Engine

BIG_TENANT = "plans"


def timed(client: TestClient, path: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code} {response.text[:300]}")
    return times


def row(label: str, times: list[float], target: float | None = None) -> str:
    p50 = statistics.median(times)
    p95 = sorted(times)[max(0, int(len(times) * 0.95) - 1)]
    verdict = "" if target is None else ("  ok" if p50 <= target else f"  OVER {target:g} ms")
    return f"  {label:<52} p50 {p50:8.1f} ms  p95 {p95:8.1f} ms{verdict}"


def deploy(engine: Engine, config: dict[str, Any], tenant: str, application: str) -> int:
    files = {"serve.json": json.dumps(config).encode()}
    files[".gitsync.yaml"] = b"config:\n  files: [serve.json]\n"
    return engine.deploy_files(files, tenant=tenant, application=application).generation


def one_percent_changed(config: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(config)
    for app in changed["applications"][::100]:
        app["deployments"][1]["user_config"] = {"threshold": 0.75}
    return changed


def server_side(runs: int, state: Path) -> None:
    engine = Engine(state).open()
    try:
        started = time.perf_counter()
        deploy(engine, generate_config(1000), "default", "default")
        engine.create_tenant(BIG_TENANT)
        big = generate_config(10_000, seed=1)
        deploy(engine, big, BIG_TENANT, "default")
        newest = deploy(engine, one_percent_changed(big), BIG_TENANT, "default")
        print(f"setup (deploy 1,000 + 2 x 10,000 apps): {time.perf_counter() - started:.1f} s")
        app = create_app(ApiSettings(state_dir=state), engine=engine)
        with TestClient(app, base_url="http://127.0.0.1", client=("127.0.0.1", 50000)) as client:
            unit = "/ui/units/default/default"
            plan = f"/ui/units/{BIG_TENANT}/default/generations/{newest}"
            cold = timed(client, plan, 1)
            print("1,000 applications (one unit):")
            print(row("web page: overview  GET /", timed(client, "/", runs), 50))
            print(
                row(
                    "JSON API: GET /application/v2/tenant/default/application/",
                    timed(client, "/application/v2/tenant/default/application/", runs),
                )
            )
            print(row(f"web page: unit      GET {unit}", timed(client, unit, runs), 50))
            print(
                row(
                    "JSON API: GET /api/serve/applications/",
                    timed(client, "/api/serve/applications/", runs),
                )
            )
            print(
                row(
                    "JSON API: GET /api/gitsync/v1/…/live",
                    timed(client, "/api/gitsync/v1/tenant/default/application/default/live", runs),
                )
            )
            print("10,000 applications, 1 % changed:")
            print(row("web page: plan, first open", cold, 200))
            print(row("web page: plan, opened again", timed(client, plan, runs), 200))
            print(
                row(
                    "JSON API: GET /api/gitsync/v1/…/live (same unit)",
                    timed(
                        client,
                        f"/api/gitsync/v1/tenant/{BIG_TENANT}/application/default/live",
                        max(3, runs // 5),
                    ),
                )
            )
    finally:
        engine.close()


def activation_to_page(samples: int, state: Path) -> None:
    """Start ``gitsync engine``, open the unit page in Chromium, PUT a change, and read
    when the page's state version changed (a MutationObserver stamps it)."""
    import subprocess

    import httpx
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        raise SystemExit("--browser needs chromium and chromedriver on PATH")
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    engine = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gitsync.main",
            "engine",
            "--state-dir",
            str(state),
            "--listen",
            f"127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900"):
        options.add_argument(arg)
    browser = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        until(lambda: httpx.get(url + "/ui/version").status_code == 200, 30)
        config = generate_config(3)
        put = lambda: httpx.put(url + "/api/serve/applications/", json=config, timeout=30)  # noqa: E731
        put().raise_for_status()
        browser.get(url + "/ui/units/default/default")
        delays = []
        for n in range(samples):
            browser.execute_script(
                "window.__seen = null; const el = document.getElementById('state-version');"
                "new MutationObserver(() => { if (window.__seen === null) window.__seen = Date.now(); })"
                ".observe(document.body, {subtree: true, childList: true, characterData: true});"
            )
            time.sleep(0.3 + (n % 5) * 0.17)  # land at different points of the poll cycle
            config["applications"][0]["deployments"][0]["user_config"] = {"n": n}
            put().raise_for_status()
            activated = time.time() * 1000
            seen = until(lambda: browser.execute_script("return window.__seen"), 10)
            delays.append(float(seen) - activated)
        print(f"activation -> open page shows it ({samples} activations, 1 s poll):")
        print(row("Serve REST PUT returned -> page updated", delays))
    finally:
        browser.quit()
        engine.terminate()
        engine.wait(30)


def until(check: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except Exception:  # the server is still starting
            value = None
        if value:
            return value
        time.sleep(0.01)
    raise SystemExit("timed out")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--browser", action="store_true")
    parser.add_argument("--samples", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gitsync-bench-ui-") as tmp:
        server_side(args.requests, Path(tmp) / "state")
        if args.browser:
            activation_to_page(args.samples, Path(tmp) / "browser-state")


if __name__ == "__main__":
    main()
