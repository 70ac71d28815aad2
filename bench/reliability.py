"""The long variants of the reliability suite; writes bench/RELIABILITY.md.

    python bench/reliability.py [--syncs 1000] [--agent-syncs 400] [--fuzz-examples 1500]
                                [--api-examples 40] [--attack-scale 3] [--out bench/RELIABILITY.md]

Runs the attack campaign of ``tests/reliability/attacks.py`` (one attack per hole
family, at ``--attack-scale`` times the test's sizes), the crash loops of ``tests/reliability/crash_loops.py`` with many more syncs (kills
counted, invariant violations collected instead of stopping), the hypothesis properties
of ``tests/reliability/test_fuzz_inputs.py`` with many more examples, schemathesis and
route fuzzing against a live engine (5xx counted), and the hostile-input, race and
git-fault tests. Figures only: this is a bench, not a test.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "tests" / "reliability"
sys.path.insert(0, str(ROOT))  # the tests' packages, when run as python bench/reliability.py

from tests.reliability.api_fuzz import FuzzStats, fuzz_native, fuzz_openapi, seed  # noqa: E402
from tests.reliability.attacks import SECRET, Campaign, run_campaign  # noqa: E402
from tests.reliability.crash_loops import (  # noqa: E402
    CrashStats,
    agent_converges_in_process,
    agent_crash_loop,
    engine_crash_loop,
)
from tests.testing.engine import running_engine  # noqa: E402

FUZZ_PROPERTIES = 8  # @given tests in test_fuzz_inputs.py


def pytest_counts(target: str, env: dict[str, str] | None = None) -> tuple[int, int, float]:
    """(passed, failed) of one pytest run over ``target``, and its wall time."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(SUITE / target)],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
    )
    tail = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    passed = int(m.group(1)) if (m := re.search(r"(\d+) passed", tail)) else 0
    failed = int(m.group(1)) if (m := re.search(r"(\d+) failed", tail)) else 0
    if failed or done.returncode not in (0,):
        print(done.stdout[-4000:], file=sys.stderr)
    return passed, failed, time.monotonic() - started


def crash_rows(stats: CrashStats, seconds: float) -> list[str]:
    return [
        f"| {stats.variant} | {stats.syncs} | {stats.activations} | {stats.kills} "
        f"| {stats.engine_kills} | {stats.restarts} | {stats.checks} | {len(stats.violations)} "
        f"| {'yes' if stats.converged else 'no'} | {seconds:.0f} |"
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--syncs", type=int, default=1000)
    parser.add_argument("--agent-syncs", type=int, default=400)
    parser.add_argument("--fuzz-examples", type=int, default=1500)
    parser.add_argument("--api-examples", type=int, default=40)
    parser.add_argument("--attack-scale", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RELIABILITY.md")
    args = parser.parse_args()

    lines: list[str] = []
    violations: list[str] = []
    with tempfile.TemporaryDirectory(prefix="gitsync-reliability-") as tmp:
        work = Path(tmp)
        campaigns: list[tuple[int, Campaign]] = []
        for scale in sorted({1, args.attack_scale}):
            print(f"attack campaign at scale {scale} ...", flush=True)
            with running_engine(work / f"attacks-{scale}", work / "a.log", token="t") as target:
                assert target.proc is not None
                proc = target.proc
                campaigns.append(
                    (
                        scale,
                        run_campaign(
                            target.url, "t", scale=scale, alive=lambda p=proc: p.poll() is None
                        ),
                    )
                )
        print(f"engine crash loop: {args.syncs} syncs ...", flush=True)
        started = time.monotonic()
        engine_stats = engine_crash_loop(
            work / "engine", syncs=args.syncs, seed=81, strict=False, give_up_s=20.0 * args.syncs
        )
        source = work / "source"
        source.mkdir()
        (source / "serve.yaml").write_text(
            "applications:\n  - name: default-app0\n    route_prefix: /default/app0\n"
            "    import_path: mod:app\n"
        )
        engine_stats.converged = agent_converges_in_process(work / "engine", source, "default")
        engine_s = time.monotonic() - started
        print(f"remote-agent crash loop: {args.agent_syncs} syncs ...", flush=True)
        started = time.monotonic()
        (work / "agent").mkdir()
        agent_stats = agent_crash_loop(
            work / "agent",
            syncs=args.agent_syncs,
            seed=82,
            strict=False,
            give_up_s=30.0 * args.agent_syncs,
        )
        agent_s = time.monotonic() - started
        violations = engine_stats.violations + agent_stats.violations

        print(f"api fuzzing: {args.api_examples} examples per operation ...", flush=True)
        started = time.monotonic()
        api = FuzzStats()
        token = "bench-token"
        with running_engine(work / "api", work / "api.log", token=token) as engine:
            seed(engine.url, token)
            fuzz_openapi(engine.url, token, args.api_examples, api)
            fuzz_native(engine.url, token, args.api_examples * 20, api)
        api_s = time.monotonic() - started

    print(f"input fuzzing: {args.fuzz_examples} examples per property ...", flush=True)
    fuzz_env = {"GITSYNC_FUZZ_EXAMPLES": str(args.fuzz_examples)}
    fuzz_passed, fuzz_failed, fuzz_s = pytest_counts("test_fuzz_inputs.py", fuzz_env)
    print("hostile inputs, races, git faults ...", flush=True)
    hostile_passed, hostile_failed, hostile_s = pytest_counts("test_hostile_input.py")
    races_passed, races_failed, races_s = pytest_counts("test_races.py")
    faults_passed, faults_failed, faults_s = pytest_counts("test_git_faults.py")
    hardening = [
        ("YAML paths agree (differential fuzz), deep forms", "../config/test_yaml_paths.py"),
        ("linear scans: 1 MB worst input each", "test_linear_text.py"),
        ("reads need the token, Host allow-list, serve CLI", "test_access.py"),
        (
            "bounded work: findings cap and count, GETs during the worst write",
            "test_bounded_work.py",
        ),
        (
            "validated once, outside the lock (large valid packages)",
            "../engine/test_validate_once.py",
        ),
        ("secrets: one redaction, a surface each", "test_secrets.py"),
        ("connections: deadlines and cap under 1,024 fds", "test_connections.py"),
        ("caps: NUL zip names, names, 1e999", "test_caps.py"),
        ("git protocols, terminal escapes", "test_git_protocols.py"),
        ("terminal escapes: every command's and both hooks' output", "test_terminal_output.py"),
        ("agent API guard over HTTP: token, Host, loopback", "../agent/test_agent_guard.py"),
        ("symlinks: real pushes with and without an agent", "../hooks/test_symlink_parity.py"),
        (
            "Ray 2.60 token auth: the runtime against a token cluster",
            "../ray/test_ray_token_auth.py",
        ),
        ("webhook replay", "test_webhook_replay.py"),
    ]
    hardening_rows = []
    hardening_failed = 0  # counted on its own rows, not on the hostile-input row
    for label, target in hardening:
        print(f"{label} ...", flush=True)
        passed, failed, seconds = pytest_counts(target)
        hardening_failed += failed
        hardening_rows.append(f"| {label} | {passed} | {failed} | {seconds:.0f} |")

    lines += [
        "# Reliability report",
        "",
        f"Written by `bench/reliability.py` on {time.strftime('%Y-%m-%d %H:%M:%S')} "
        f"(Python {sys.version.split()[0]}, {os.cpu_count()} CPUs). Figures, not pass/fail; "
        "the bounded CI variants are `pytest tests/reliability`.",
        "",
        "## Attacks (one per hole family, against a live engine with a token)",
        "",
        f"Each case of `tests/reliability/attacks.py` sent once; a planted secret "
        f"(`{SECRET[:7]}…`) is looked for in every answer; after each case `/state/v1/health` "
        "must answer within 10 s and the process must live.",
        "",
        "| scale | cases tried | refused (4xx) | served (2xx) | 5xx | hangs | crashes "
        "| secrets leaked | slowest case (s) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *(
            f"| {scale} | {c.tried} | {c.refused} | {c.accepted} | {len(c.server_errors)} "
            f"| {len(c.hangs)} | {len(c.crashes)} | {len(c.leaks)} "
            f"| {max(c.seconds.values()):.1f} |"
            for scale, c in campaigns
        ),
        "",
        *(
            f"- {problem}"
            for _, c in campaigns
            for problem in [*c.server_errors, *c.hangs, *c.crashes, *c.leaks]
        ),
        "",
        "Per case at the largest scale (seconds): "
        + "; ".join(f"{name} {sec:.1f}" for name, sec in campaigns[-1][1].seconds.items()),
        "",
        "## Crash consistency (SIGKILL at random points)",
        "",
        "| variant | syncs | activations | kills | engine kills | restarts | invariant checks "
        "| invariant violations | converged | seconds |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *crash_rows(engine_stats, engine_s),
        *crash_rows(agent_stats, agent_s),
        "",
        "Engine kill points reached (syncs started per announced phase; `none` = killed "
        "only by the parent's random timer, if at all): "
        + ", ".join(f"{k} {v}" for k, v in sorted(engine_stats.phases.items())),
        "",
        f"**Invariant violations: {len(violations)}**"
        + ("" if not violations else "\n\n" + "\n".join(f"- {v}" for v in violations[:20])),
        "",
        "## Fuzzing",
        "",
        "| target | examples | failures | seconds |",
        "| --- | --- | --- | --- |",
        f"| YAML loading + validation, package extraction (hypothesis, {FUZZ_PROPERTIES} "
        f"properties, 1 s deadline each) | {args.fuzz_examples * FUZZ_PROPERTIES} "
        f"| {fuzz_failed} | {fuzz_s:.0f} |",
        f"| live API: schemathesis on schemas/openapi.yaml ({api.operations} operations) + "
        f"gitsync routes | {api.requests} requests | {len(api.server_errors)} 5xx | {api_s:.0f} |",
        "",
        f"**5xx responses: {len(api.server_errors)}**"
        + (
            ""
            if not api.server_errors
            else "\n\n" + "\n".join(f"- {e}" for e in api.server_errors[:20])
        ),
        "",
        "## Hostile input, races, git faults, hardening",
        "",
        "| suite | cases passed | cases failed | seconds |",
        "| --- | --- | --- | --- |",
        f"| hostile inputs (each refused with a clear error, nothing written) | {hostile_passed} "
        f"| {hostile_failed} | {hostile_s:.0f} |",
        f"| races (two agents + direct writers) | {races_passed} | {races_failed} | {races_s:.0f} |",
        f"| git faults (unreachable, deleted, force-push, corrupt, oversize) | {faults_passed} "
        f"| {faults_failed} | {faults_s:.0f} |",
        *hardening_rows,
        "",
    ]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))
    attacks_bad = any(c.server_errors or c.hangs or c.crashes or c.leaks for _, c in campaigns)
    bad = violations or api.server_errors or fuzz_failed or hostile_failed or attacks_bad
    bad = bad or hardening_failed
    return 1 if bad or races_failed or faults_failed else 0


if __name__ == "__main__":
    sys.exit(main())
