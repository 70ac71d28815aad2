from __future__ import annotations

import pytest

from gitsync.config import yamlio
from gitsync.config.yamlio import YamlError, load, load_located


def _error(text: str | bytes, **limits: int) -> str:
    data = text.encode() if isinstance(text, str) else text
    with pytest.raises(YamlError) as info:
        load(data, "f.yaml", yamlio.YamlLimits(**limits) if limits else yamlio.DEFAULT_LIMITS)
    return info.value.issue.render()


def test_plain_config_takes_the_fast_path_and_gives_plain_data() -> None:
    assert load(b"a: 1\nb: [x, 2.5, null, true]\nc: {d: e}\n", "f.yaml") == {
        "a": 1,
        "b": ["x", 2.5, None, True],
        "c": {"d": "e"},
    }


@pytest.mark.parametrize(
    "text",
    [
        "k: {value}\n",  # fast path
        "k: &a {value}\nj: *a\n",  # careful path (anchors force it)
    ],
)
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("yes", "yes"),
        ("on", "on"),
        ("true", True),
        ("~", None),
        ("0x1F", 31),
        ("1e3", 1000.0),
        ("2001-12-14", "2001-12-14"),
        ("'5'", "5"),
        ("1:20", "1:20"),
    ],
)
def test_both_paths_resolve_scalars_the_same_yaml_1_2_way(
    text: str, value: str, expected: object
) -> None:
    assert load(text.format(value=value).encode(), "f.yaml")["k"] == expected


def test_duplicate_keys_are_an_error_with_both_positions() -> None:
    assert _error("a: 1\nb: 2\na: 3\n") == (
        "f.yaml:3:1: error: $: duplicate key 'a' (first defined at line 1, column 1)"
    )


def test_alias_bomb_fails_fast_with_a_clear_message() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 12):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    message = _error("\n".join(lines) + "\n")
    assert "alias bomb?" in message
    assert message.startswith("f.yaml:")


def test_alias_count_cap() -> None:
    text = "a: &a 1\nb: [" + ", ".join(["*a"] * 20) + "]\n"
    assert _error(text, max_aliases=10) == (
        "f.yaml:2:45: error: $: more than 10 aliases: refusing (alias bomb?)"
    )


def test_depth_cap() -> None:
    assert _error("a: " + "[" * 100 + "]" * 100 + "\n", max_depth=64) == (
        "f.yaml:1:67: error: $: nesting deeper than 64 levels"
    )


def test_file_size_cap() -> None:
    assert _error("a: 1\n" * 10, max_file_bytes=20) == (
        "f.yaml:0:0: error: $: file is 50 bytes; the limit is 20"
    )


def test_invalid_utf8_points_at_the_byte() -> None:
    assert _error(b"a: 1\nb: \xff\n") == "f.yaml:2:4: error: $: file is not valid UTF-8 (byte 8)"


def test_unsafe_tags_are_refused() -> None:
    assert _error("a: !!python/object:os.system x\n") == (
        "f.yaml:1:4: error: $: unsupported YAML tag 'tag:yaml.org,2002:python/object:os.system': "
        "only plain data is allowed"
    )


def test_several_documents_are_refused() -> None:
    assert _error("a: 1\n---\nb: 2\n") == (
        "f.yaml:2:1: error: $: a config file must hold exactly one YAML document"
    )


def test_syntax_error_is_located() -> None:
    assert _error("a: [1, 2\nb: 3\n").startswith("f.yaml:2:2: error: $: invalid YAML:")


def test_non_string_keys_are_refused() -> None:
    assert (
        _error("a: &x 1\n1: b\n")
        == "f.yaml:2:1: error: $: mapping key 1 must be a string: quote it"
    )


def test_positions_of_values_and_keys() -> None:
    doc = load_located(
        b"applications:\n  - name: a\n    deployments:\n      - name: D\n        num_replicas: 2\n",
        "f",
    )
    assert doc.position(("applications", 0, "deployments", 0, "num_replicas")) == (5, 23)
    assert doc.key_position(("applications", 0, "deployments", 0, "num_replicas")) == (5, 9)
    assert doc.position(("applications", 0, "missing", "deeper")) == (2, 5)


def test_positions_asked_lazily_are_those_of_a_whole_parse() -> None:
    data = b"".join(
        b"- name: app%d\n  deployments:\n  - {name: D, num_replicas: %d}\n" % (i, i)
        for i in range(200)
    )
    whole = load_located(data, "f")
    lazy = yamlio.Located(data, "f")
    paths = sorted(whole.positions, key=lambda path: -len(path))[::7]  # deep first, mixed order
    for path in [*paths, (5, "missing"), (150, "deployments", 0, "name")]:
        assert lazy.position(path) == whole.position(path), path
        assert lazy.key_position(path) == whole.key_position(path), path


def test_lazy_positions_stop_near_the_top_of_a_huge_file() -> None:
    data = b"applications:\n" + b"- 1\n" * 1_000_000
    lazy = yamlio.Located(data, "f")
    assert lazy.position(("applications", 3)) == (5, 3)
    assert len(lazy.doc.positions) < 1000  # the other million nodes were never walked


def test_bom_is_dropped() -> None:
    assert load("\ufeffa: 1\n".encode(), "f.yaml") == {"a": 1}


def test_non_finite_floats_are_refused() -> None:
    assert _error("a:\n  b: .nan\n") == "f.yaml:2:6: error: $: nan cannot be represented in JSON"
