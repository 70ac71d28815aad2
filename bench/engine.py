"""Engine speed: python bench/engine.py [--apps 1000] [--updates 200] [--store URL].

Prints the time of create + prepare + activate of a package of N applications, of a
redeploy with no change, and p50/p99 latencies over sequential single-application
updates (the activation call alone, and the whole create + prepare + activate).
Targets: the 1,000-application deploy <= 2 s; single-update activation p50 <= 20 ms.
With ``--store postgresql://…`` (an empty database: ``python -m tests.testing.postgres``
starts a private server and prints one) the same runs on PostgreSQL after SQLite;
target there: single-update activation p50 <= 2x SQLite's and <= 40 ms.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from gitsync.config import package
from gitsync.engine import Engine

T = TypeVar("T")


def config(apps: int, changed: int = -1, price: int = 1) -> bytes:
    """N applications; application ``changed`` (if any) gets ``price``."""
    lines = ["applications:"]
    for index in range(apps):
        lines += [
            f"  - name: app{index}",
            f"    route_prefix: /app{index}",
            f"    import_path: models.app{index}:app",
            "    deployments:",
            "      - name: Ingress",
            "        num_replicas: 2",
            "      - name: Model",
            "        max_ongoing_requests: 8",
            f"        user_config: {{price: {price if index == changed else 1}, threshold: 0.5}}",
        ]
    return ("\n".join(lines) + "\n").encode()


def timed(action: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = action()
    return result, time.perf_counter() - start


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--updates", type=int, default=200)
    parser.add_argument(
        "--store",
        metavar="URL",
        help="also run on this store (postgresql://…, an empty database), beside SQLite",
    )
    args = parser.parse_args()
    stores: list[str | None] = [None] if not args.store else [None, args.store]
    medians = []
    for store in stores:
        print(f"== store: {'SQLite (embedded)' if store is None else 'PostgreSQL'}")
        medians.append(run(args, store))
    if len(medians) == 2:
        sqlite, postgresql = medians
        ratios = ", ".join(
            f"{apps}-application unit {postgresql[apps] / sqlite[apps]:.1f}x"
            f" ({postgresql[apps]:.2f} / {sqlite[apps]:.2f} ms)"
            for apps in sqlite
        )
        print(f"PostgreSQL / SQLite, single-update activation p50: {ratios} [target <= 2x]")


def run(args: argparse.Namespace, store: str | None) -> dict[int, float]:
    """The run on one store; the single-update activation p50 (ms) per unit size."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        Engine(Path(tmp) / "state", store=store) as engine,
    ):
        data = package.build_zip({"serve.yaml": config(args.apps)})
        print(f"package: {args.apps} applications, {len(data):,} bytes zipped")

        session, create_s = timed(lambda: engine.create_session("default", data, "application/zip"))
        sid = session.session_id
        _, prepare_s = timed(lambda: engine.prepare("default", sid))
        _, activate_s = timed(lambda: engine.activate("default", sid))
        total = create_s + prepare_s + activate_s
        print(
            f"first deploy: {total * 1000:.0f} ms (create {create_s * 1000:.0f}, "
            f"prepare {prepare_s * 1000:.0f}, activate {activate_s * 1000:.0f}) [target <= 2000]"
        )

        result, redeploy_s = timed(
            lambda: engine.prepare_and_activate("default", data, "application/zip")
        )
        print(
            f"redeploy, no change: {redeploy_s * 1000:.0f} ms (summary {result.actions.summary()})"
        )

        def run_updates(
            apps: int, tenant: str, application: str
        ) -> tuple[list[float], list[float]]:
            activations: list[float] = []
            wholes: list[float] = []
            for step in range(args.updates):
                body = config(apps, changed=step % apps, price=step + 2)
                start = time.perf_counter()
                info = engine.create_session_from_files(
                    tenant, {"serve.yaml": body}, application=application
                )
                engine.prepare(tenant, info.session_id, application=application)
                started = time.perf_counter()
                engine.activate(tenant, info.session_id)
                activate = time.perf_counter() - started
                wholes.append(time.perf_counter() - start)
                activations.append(activate)
            return activations, wholes

        engine.create_tenant("single")
        medians: dict[int, float] = {}
        for apps, tenant in ((args.apps, "default"), (1, "single")):
            activations, wholes = run_updates(apps, tenant, "default")
            ms = [v * 1000 for v in activations]
            medians[apps] = statistics.median(ms)
            whole_ms = [v * 1000 for v in wholes]
            print(
                f"{args.updates} single-application updates in a {apps}-application unit: "
                f"activation p50 {statistics.median(ms):.2f} ms, p99 {percentile(ms, 0.99):.1f} "
                f"ms [target p50 <= 20]; create+prepare+activate p50 "
                f"{statistics.median(whole_ms):.1f} ms, p99 {percentile(whole_ms, 0.99):.1f} ms"
            )
        return medians


if __name__ == "__main__":
    main()
