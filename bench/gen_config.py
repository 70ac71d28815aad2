"""Generate a large, realistic Ray Serve deploy config: N applications x 5 deployments.

Run: python bench/gen_config.py APPS OUT.yaml [--seed N]

Every application has its own route prefix, an import path, an app-level runtime_env
with env_vars and builder args; its deployments mix fixed replica counts and
autoscaling, with user_config, ray_actor_options and health-check timings, as a
team running many model services would write them. The output is valid for Ray's
``ServeDeploySchema`` and for gitsync. Deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path
from typing import Any

import yaml

DEPLOYMENTS_PER_APP = 5
_ROLES = ("Ingress", "Preprocessor", "Model", "Postprocessor", "Cache")
_TEAMS = ("search", "ads", "vision", "speech", "fraud", "recs", "chat", "docs")
_MODELS = ("bert-base", "resnet50", "whisper-small", "llama-8b", "xgb-v3", "t5-large")


def _deployment(role: str, rng: random.Random) -> dict[str, Any]:
    dep: dict[str, Any] = {"name": role}
    if role == "Model" and rng.random() < 0.6:
        low = rng.randint(1, 3)
        dep["num_replicas"] = "auto"
        dep["autoscaling_config"] = {
            "min_replicas": low,
            "initial_replicas": low,
            "max_replicas": low + rng.randint(2, 20),
            "target_ongoing_requests": rng.choice([2, 4, 8]),
            "upscale_delay_s": 30,
            "downscale_delay_s": 600,
        }
    else:
        dep["num_replicas"] = rng.randint(1, 4)
    dep["max_ongoing_requests"] = rng.choice([5, 10, 16, 32, 100])
    if role in ("Model", "Preprocessor", "Postprocessor"):
        dep["user_config"] = {
            "model_id": rng.choice(_MODELS),
            "threshold": round(rng.uniform(0.1, 0.9), 2),
            "batch_size": rng.choice([1, 8, 16, 32]),
        }
    options: dict[str, Any] = {"num_cpus": rng.choice([0.5, 1, 2])}
    if role == "Model":
        options["num_gpus"] = rng.choice([0, 0, 1])
        options["memory"] = rng.choice([2, 4, 8]) * 2**30
        options["runtime_env"] = {"env_vars": {"OMP_NUM_THREADS": str(rng.choice([1, 2, 4]))}}
    dep["ray_actor_options"] = options
    dep["health_check_period_s"] = 10
    dep["graceful_shutdown_timeout_s"] = rng.choice([5, 20, 60])
    return dep


def generate_config(apps: int, seed: int = 0) -> dict[str, Any]:
    """A deploy config with ``apps`` applications of five deployments each."""
    rng = random.Random(seed)
    applications = []
    for index in range(apps):
        team = _TEAMS[index % len(_TEAMS)]
        name = f"{team}-svc-{index:05d}"
        applications.append(
            {
                "name": name,
                "route_prefix": f"/{team}/svc-{index:05d}",
                "import_path": f"services.{team}.svc_{index % 97}:app",
                "runtime_env": {
                    "working_dir": f"s3://serving-artifacts/{team}/svc-{index:05d}.zip",
                    "env_vars": {"TEAM": team, "LOG_LEVEL": rng.choice(["INFO", "DEBUG"])},
                },
                "args": {"model_name": rng.choice(_MODELS), "region": "us-west-2"},
                "deployments": [_deployment(role, rng) for role in _ROLES],
            }
        )
    return {
        "proxy_location": "EveryNode",
        "http_options": {"host": "0.0.0.0", "port": 8000, "request_timeout_s": 30},
        "logging_config": {"encoding": "JSON", "log_level": "INFO"},
        "applications": applications,
    }


def write_config(apps: int, path: Path, seed: int = 0) -> Path:
    """Write the generated config as block-style YAML (as people write it) to ``path``."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(generate_config(apps, seed), out, Dumper=dumper, sort_keys=False, width=100)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("apps", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    path = write_config(args.apps, args.out, args.seed)
    print(f"{path}: {args.apps} applications, {path.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
