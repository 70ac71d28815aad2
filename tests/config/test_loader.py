"""Loading a config root: classification, merging, clashes, code paths, positions."""

from __future__ import annotations

from gitsync.config.loader import load_snapshot
from gitsync.config.snapshot import Snapshot


def _load(
    files: dict[str, str], symlinks: frozenset[str] = frozenset()
) -> tuple[object, list[str]]:
    snap = Snapshot("r1", {k: v.encode() for k, v in files.items()}, symlinks)
    result = load_snapshot(snap)
    return result.config, [i.render() for i in result.issues]


INSTANCE = "proxy_location: HeadOnly\nhttp_options:\n  host: 127.0.0.1\n  port: 8123\n"
SINGLE_APP = "name: calc\nroute_prefix: /calc\nimport_path: calc:app\n"
DEPLOY = "applications:\n  - name: fruit\n    route_prefix: /fruit\n    import_path: fruit:app\n"


def test_three_kinds_of_file_merge_into_one_config() -> None:
    config, issues = _load(
        {"instance.yaml": INSTANCE, "apps/calc.yml": SINGLE_APP, "apps/all.yaml": DEPLOY}
    )
    assert issues == []
    assert config == {
        "proxy_location": "HeadOnly",
        "http_options": {"host": "127.0.0.1", "port": 8123},
        "applications": [
            {"name": "fruit", "route_prefix": "/fruit", "import_path": "fruit:app"},
            {"name": "calc", "route_prefix": "/calc", "import_path": "calc:app"},
        ],
    }


def test_hidden_directories_and_other_files_are_ignored() -> None:
    config, issues = _load(
        {"a.yaml": DEPLOY, ".github/workflows/ci.yaml": "on: push\n", "README.md": "# hi\n"}
    )
    assert issues == []
    assert config is not None


def test_clash_between_files_names_both_places() -> None:
    _, issues = _load({"a.yaml": DEPLOY, "b.yaml": DEPLOY.replace("/fruit", "/other")})
    assert issues == [
        "b.yaml:2:11: error: applications[0].name: application name 'fruit' is already used by "
        "a.yaml:2:5"
    ]


def test_instance_options_set_twice() -> None:
    _, issues = _load(
        {"a.yaml": INSTANCE + "applications: []\n", "b.yaml": "http_options:\n  port: 1\n"}
    )
    assert issues == ["b.yaml:1:1: error: http_options: http_options is already set in a.yaml:2:1"]


def test_error_positions_point_into_the_right_file() -> None:
    _, issues = _load(
        {
            "instance.yaml": INSTANCE,
            "calc.yaml": SINGLE_APP + "deployments:\n  - name: A\n    num_replicas: 0\n",
        }
    )
    assert issues == [
        'calc.yaml:6:19: error: deployments[0].num_replicas: expected an integer >= 1 or "auto" or '
        "null, got 0"
    ]


def test_yaml_error_stops_everything_and_is_located() -> None:
    config, issues = _load({"a.yaml": DEPLOY, "b.yaml": "a: [1\n"})
    assert config is None
    assert len(issues) == 1 and issues[0].startswith("b.yaml:2:1: error: $: invalid YAML:")


def test_a_non_mapping_file() -> None:
    _, issues = _load({"a.yaml": "- 1\n- 2\n"})
    assert issues[0] == (
        "a.yaml:1:1: error: $: a config file must be a mapping (a deploy config, one application, "
        "or instance options)"
    )


def test_no_config_files() -> None:
    config, issues = _load({"README.md": "x"})
    assert issues == [
        "error: no config files found in the source (looked for *.yaml, *.yml outside hidden "
        "directories; config.root, config.include or config.files in .gitsync.yaml choose others)"
    ]


CODE_APP = (
    "name: fruit\nroute_prefix: /f\nimport_path: fruit:app\nruntime_env:\n  working_dir: {wd}\n"
)


def test_relative_working_dir_inside_the_snapshot_is_valid_and_carried() -> None:
    snap = Snapshot(
        "r",
        {
            "serve/app.yaml": CODE_APP.format(wd="./code/fruit").encode(),
            "code/fruit/fruit.py": b"x",
        },
    )
    result = load_snapshot(snap)
    assert result.ok and result.code_paths == ["code/fruit"]


def test_uri_working_dir_is_left_alone() -> None:
    _, issues = _load({"app.yaml": CODE_APP.format(wd="s3://bucket/code.zip")})
    assert issues == []


def test_bad_working_dirs() -> None:
    cases = {
        "/abs/code": "'/abs/code' is an absolute path: use a path relative to the repository root, or a URI",
        "../outside": "'../outside' points outside the repository",
        "./missing": "directory './missing' does not exist in the repository",
        "./fruit.py": "'./fruit.py' is a file: working_dir and py_modules need a directory (or a URI)",
        "./link/sub": "'./link/sub' goes through a symlink (link); symlinks are not followed",
    }
    for wd, message in cases.items():
        _, issues = _load(
            {"app.yaml": CODE_APP.format(wd=wd), "fruit.py": "x", "link/sub/x.py": "x"},
            symlinks=frozenset({"link"}),
        )
        assert issues == [f"app.yaml:5:16: error: runtime_env.working_dir: {message}"], wd


# -- unknown keys: errors by default, warnings (and dropped, as Ray does) when relaxed --

TYPO_APP = "name: fruit\nroute_prefx: /fruit\nimport_path: fruit:app\n"


def test_an_unknown_key_is_an_error_by_default() -> None:
    config, issues = _load({"app.yaml": TYPO_APP})
    assert issues == [
        "app.yaml:2:1: error: route_prefx: unknown key 'route_prefx'; did you mean 'route_prefix'?"
    ]


def test_gitsync_yaml_relaxes_unknown_keys_to_warnings_and_drops_them() -> None:
    settings = "validate:\n  unknown_keys: warn\n"
    config, issues = _load({"app.yaml": TYPO_APP, ".gitsync.yaml": settings})
    assert issues == [
        "app.yaml:2:1: warning: route_prefx: unknown key 'route_prefx': Ray ignores it, so it "
        "has no effect; did you mean 'route_prefix'?"
    ]
    # The config is the one Ray reads: the dropped key is gone, so it is never a change.
    assert config == {"applications": [{"name": "fruit", "import_path": "fruit:app"}]}


def test_an_explicit_mode_wins_over_the_repository_setting() -> None:
    snap = Snapshot(
        "r", {"app.yaml": TYPO_APP.encode(), ".gitsync.yaml": b"validate: {unknown_keys: warn}\n"}
    )
    assert not load_snapshot(snap, unknown_keys="error").ok
    assert load_snapshot(snap).ok


def test_a_bad_validate_setting_is_an_error() -> None:
    _, issues = _load(
        {"app.yaml": SINGLE_APP, ".gitsync.yaml": "validate: {unknown_keys: maybe}\n"}
    )
    assert issues == [
        ".gitsync.yaml:0:0: error: validate.unknown_keys: validate must be a mapping whose "
        "unknown_keys is 'error' or 'warn'"
    ]


# -- a config with no applications is not a request to delete them all --------------


def test_files_with_only_instance_options_are_an_error_naming_them() -> None:
    config, issues = _load(
        {"instance.yaml": INSTANCE, "more/logging.yaml": "target_capacity: 50\n"}
    )
    assert issues == [
        "error: no applications: none of the files read (instance.yaml, more/logging.yaml) "
        "declares 'applications' or an application (import_path); write 'applications: []' to "
        "ask for an empty unit"
    ]


def test_an_explicit_empty_applications_list_is_an_empty_unit() -> None:
    config, issues = _load({"instance.yaml": INSTANCE + "applications: []\n"})
    assert issues == []
    assert config is not None
    assert config["applications"] == []  # type: ignore[index]


def test_a_link_named_like_a_config_file_is_an_error_at_its_name() -> None:
    """Links are never followed; one that the selection would read is reported, so its
    applications never silently leave the config. Other links are nobody's config."""
    app = b"applications:\n  - name: a\n    import_path: m:app\n"
    snapshot = Snapshot(
        revision="r",
        files={"apps/a.yaml": app},
        symlinks=frozenset({"apps/b.yaml", "README", ".hidden/c.yaml"}),
    )
    result = load_snapshot(snapshot)
    assert not result.ok
    assert [(issue.file, issue.severity) for issue in result.issues] == [("apps/b.yaml", "error")]
    assert "symbolic link" in result.issues[0].message
    named = load_snapshot(snapshot, files=["apps/b.yaml"])
    assert "symbolic link" in named.issues[0].message
    alone = Snapshot(revision="r", files={"apps/a.yaml": app}, symlinks=frozenset({"README"}))
    assert load_snapshot(alone).ok
