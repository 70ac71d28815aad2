"""Benchmark: diff and render a 10,000-application plan where 1 % of the apps differ.

Run: python bench/plan.py [--apps N] [--runs N]
Prints the best of N runs for model building, diff, and text and JSON rendering.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from collections.abc import Callable
from typing import Any

from gitsync.config.model import from_config
from gitsync.plan.diff import diff
from gitsync.plan.render import plan_to_json, render_text


def make_config(apps: int) -> dict[str, Any]:
    return {
        "proxy_location": "EveryNode",
        "http_options": {"host": "0.0.0.0", "port": 8000},
        "applications": [
            {
                "name": f"app{i:05d}",
                "route_prefix": f"/app{i:05d}",
                "import_path": f"pkg{i % 50}.serve:app",
                "runtime_env": {"env_vars": {"MODEL": f"m{i}", "API_TOKEN": "s3cr3t"}},
                "args": {"model": f"m{i}", "batch": 8},
                "deployments": [
                    {
                        "name": "Router",
                        "num_replicas": 2,
                        "max_ongoing_requests": 10,
                        "user_config": {"threshold": 0.5, "labels": ["a", "b"]},
                    },
                    {
                        "name": "Model",
                        "autoscaling_config": {"min_replicas": 1, "max_replicas": 4},
                        "ray_actor_options": {"num_cpus": 1, "num_gpus": 0.5},
                    },
                ],
            }
            for i in range(apps)
        ],
    }


def change_apps(config: dict[str, Any], every: int = 100) -> dict[str, Any]:
    """Every ``every``-th app changes: in turn a user_config value, a replica count, the code."""
    changed = copy.deepcopy(config)
    apps = changed["applications"]
    for n, i in enumerate(range(0, len(apps), every)):
        app = apps[i]
        kind = n % 3
        if kind == 0:
            app["deployments"][0]["user_config"]["threshold"] = 0.75
        elif kind == 1:
            app["deployments"][0]["num_replicas"] = 3
        else:
            app["import_path"] = app["import_path"].replace("serve", "serve_v2")
    return changed


def best(runs: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--apps", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    live_raw = make_config(args.apps)
    desired_raw = change_apps(live_raw)

    build_ms = best(args.runs, lambda: from_config(desired_raw))
    live, desired = from_config(live_raw), from_config(desired_raw)
    diff_ms = best(args.runs, lambda: diff(desired, live))
    plan = diff(desired, live)
    text_ms = best(args.runs, lambda: render_text(plan))
    json_ms = best(args.runs, lambda: json.dumps(plan_to_json(plan)))
    same_ms = best(args.runs, lambda: diff(live, live))
    everything = from_config(change_apps(live_raw, every=1))
    all_ms = best(max(1, args.runs // 3), lambda: diff(everything, live))
    all_text_ms = best(max(1, args.runs // 3), lambda: render_text(diff(everything, live)))

    print(f"applications: {args.apps}, changed: {len(plan.update)}, best of {args.runs} runs")
    print(f"from_config (one side): {build_ms:8.1f} ms")
    print(f"diff:                   {diff_ms:8.1f} ms")
    print(f"diff (no changes):      {same_ms:8.1f} ms")
    print(f"render text:            {text_ms:8.1f} ms")
    print(f"render JSON + dumps:    {json_ms:8.1f} ms")
    print(f"diff (every app changed): {all_ms:6.1f} ms (with text rendering {all_text_ms:.1f} ms)")
    print(render_text(plan).splitlines()[-1])


if __name__ == "__main__":
    main()
