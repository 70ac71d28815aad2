"""Benchmark: validate generated 1,000- and 10,000-application configs, gitsync vs Ray.

Run: python bench/validate.py [--apps 1000 10000] [--runs 3]

Each config (5 deployments per application) is one YAML file in a temp directory.
Both sides are timed from the file on disk to a verdict:

* gitsync: ``gitsync.sources.paths.load_paths([path])`` (read, parse, schema + cross-field rules);
* Ray, at its best: PyYAML's C loader, then ``ServeDeploySchema.model_validate``.

Prints best-of-N times (Ray gets one run once a run passes ``--slow`` seconds), the
Ray/gitsync ratio (target >= 20x at 10,000 apps) and gitsync's 10k/1k ratio (target
<= 12, i.e. linear), plus a generic ``jsonschema`` validator on the parsed 10k data
against Ray's emitted JSON Schema, for reference.
"""

from __future__ import annotations

import argparse
import functools
import gc
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_config import write_config  # a sibling script, not a package

from gitsync.sources.paths import load_paths


@dataclass
class Timing:
    """Best wall and CPU time over the runs, and the first (cold) run's wall time.
    CPU time shows the cost when other work shares the machine's cores."""

    wall: float
    cpu: float
    first: float

    def __str__(self) -> str:
        return f"best {self.wall:8.3f} s wall, {self.cpu:8.3f} s CPU"


def best_time(action: Callable[[], object], runs: int, slow: float) -> Timing:
    """Time ``runs`` runs; stop early once a run exceeds ``slow`` seconds."""
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(runs):
        gc.collect()
        start, start_cpu = time.perf_counter(), time.process_time()
        action()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - start_cpu)
        if walls[-1] > slow:
            break
    return Timing(min(walls), min(cpus), walls[0])


def gitsync_verdict(path: Path) -> bool:
    result = load_paths([path])
    if not result.ok:
        raise SystemExit(f"gitsync rejected the generated config: {result.errors[:3]}")
    return True


def ray_parse(path: Path) -> Any:
    return yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)


def ray_verdict(path: Path) -> bool:
    from ray.serve.schema import ServeDeploySchema

    ServeDeploySchema.model_validate(ray_parse(path))
    return True


def jsonschema_timing(data: Any) -> Timing:
    """A generic validator (jsonschema, Draft 2020-12) on Ray's own emitted schema."""
    import jsonschema
    from ray.serve.schema import ServeDeploySchema

    validator = jsonschema.Draft202012Validator(ServeDeploySchema.model_json_schema())
    verdicts: list[bool] = []
    timing = best_time(lambda: verdicts.append(validator.is_valid(data)), 1, 0)
    assert verdicts == [True], "jsonschema rejected the generated config"
    return timing


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="gitsync vs Ray: config validation speed")
    parser.add_argument("--apps", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--slow", type=float, default=20.0, help="one Ray run past this (s)")
    args = parser.parse_args(argv)

    import ray.serve.schema  # noqa: F401  (import cost is not validation cost)

    gitsync_best: dict[int, Timing] = {}
    ray_best: dict[int, Timing] = {}
    with tempfile.TemporaryDirectory(prefix="gitsync-bench-") as tmp:
        for apps in args.apps:
            path = write_config(apps, Path(tmp) / f"serve-{apps}.yaml")
            size = path.stat().st_size / 1e6
            print(f"{apps} applications x 5 deployments: {path.name}, {size:.1f} MB")
            ours = best_time(functools.partial(gitsync_verdict, path), args.runs, 1e9)
            gitsync_best[apps] = ours
            print(f"  gitsync  load_paths -> verdict      {ours}  (first {ours.first:.3f} s)")
            theirs = best_time(functools.partial(ray_verdict, path), args.runs, args.slow)
            ray_best[apps] = theirs
            print(f"  Ray      C loader + model_validate  {theirs}")
            parse = best_time(functools.partial(ray_parse, path), 1, args.slow)
            print(f"           of which the C loader      {parse}")
            print(
                f"  Ray / gitsync: {theirs.wall / ours.wall:.1f}x wall, {theirs.cpu / ours.cpu:.1f}x CPU"
            )
            if apps == max(args.apps):
                data = ray_parse(path)
                print(f"  jsonschema (generic), parsed data   {jsonschema_timing(data)}")
                del data
            gc.collect()
    small, large = min(args.apps), max(args.apps)
    ours, theirs = gitsync_best[large], ray_best[large]
    print(f"Ray/gitsync at {large} apps: {theirs.wall / ours.wall:.1f}x wall (target >= 20x)")
    if small != large:
        wall = ours.wall / gitsync_best[small].wall
        cpu = ours.cpu / gitsync_best[small].cpu
        print(
            f"gitsync {large}/{small} time ratio: {wall:.1f} wall, {cpu:.1f} CPU "
            f"(target <= 12; app ratio {large / small:.0f})"
        )
    print(f"peak RSS: {peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
