"""The local code paths the loader checks come from the rules' walk, or from a walk of
its own when the rules did not run; both find the same ones, in the same order."""

from __future__ import annotations

from typing import Any

from gitsync.config import rules
from gitsync.config.loader import _Loader, load_snapshot
from gitsync.config.schema import MAX_FINDINGS
from gitsync.config.snapshot import Snapshot
from gitsync.config.yamlio import DEFAULT_LIMITS


def _app(index: int, working_dir: Any, actor_env: dict[str, Any] | None) -> dict[str, Any]:
    deployment: dict[str, Any] = {"name": "D"}
    if actor_env is not None:
        deployment["ray_actor_options"] = {"runtime_env": actor_env}
    return {
        "name": f"a{index}",
        "route_prefix": f"/a{index}",
        "import_path": "m:app",
        "runtime_env": {"working_dir": working_dir, "py_modules": ["./mods", "s3://b/m.zip", 3]},
        "deployments": [{"name": "C"}, deployment],
    }


CONFIG = {
    "applications": [
        _app(0, "./code", None),
        _app(1, "s3://bucket/code.zip", {"working_dir": "./actor"}),
        _app(2, "/abs", {"py_modules": ["./p", "gs://x/y.zip"], "env_vars": {"A": "1"}}),
        _app(3, 7, {"env_vars": {"A": "1"}}),
    ]
}


def test_the_rules_meet_the_refs_the_loader_would_walk_to() -> None:
    refs = rules.CodeRefs()
    rules.check(CONFIG, refs)
    loader = _Loader(Snapshot("r", {}), DEFAULT_LIMITS, "error")
    assert refs.complete
    assert refs.found == list(loader._local_refs(CONFIG["applications"]))
    assert [ref for _, ref in refs.found] == [
        "./code",
        "./mods",
        "./mods",
        "./actor",
        "/abs",
        "./mods",
        "./p",
        "./mods",
    ]


def test_a_missing_directory_is_reported_past_the_findings_cap() -> None:
    """Over MAX_FINDINGS schema findings the rules do not run: the loader walks itself."""
    apps = "".join(f"  - name: a{i}\n    import_path: 5\n" for i in range(MAX_FINDINGS + 5))
    text = "applications:\n" + apps + "  - name: x\n    import_path: m:a\n"
    text += "    runtime_env:\n      working_dir: ./missing\n"
    result = load_snapshot(Snapshot("r", {"app.yaml": text.encode()}))
    messages = [issue.message for issue in result.issues]
    assert len(messages) > MAX_FINDINGS
    assert "directory './missing' does not exist in the repository" in messages
    assert result.missing_code_paths == ["missing"]
