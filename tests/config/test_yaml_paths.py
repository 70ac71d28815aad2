"""The fast (yaml_rs) and careful (PyYAML events) ways of reading YAML agree.

``load`` takes the fast way only when the text qualifies and the result obeys the
value rules, and falls back to the careful way otherwise; so the two ways agree on
every input exactly when, wherever the fast way accepts, the careful way accepts the
same value (same types, same key order). Hypothesis generates YAML three ways:
dumped data in block and flow style, deep nests of every form, and token soup.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
import yaml
import yaml_rs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitsync.config import values, yamlio
from gitsync.config.yamlio import YamlCapExceeded, YamlError

LIMITS = yamlio.DEFAULT_LIMITS


def careful(text: str) -> tuple[str, Any]:
    text = yamlio.decode(text.encode(), "f.yaml")
    try:
        return ("ok", yamlio.load_text_located(text, "f.yaml", LIMITS).value)
    except YamlError as exc:
        return ("error", exc.issue.render())


def fast(text: str) -> tuple[str, Any] | None:
    """The fast way's verdict, or None when it would hand the text over."""
    text = yamlio.decode(text.encode(), "f.yaml")
    if yamlio._needs_careful(text) or not yamlio._fits_fast_stack(text):
        return None
    ok, value = yamlio._fast_parse(text)
    if (
        not ok
        or not isinstance(value, dict | list)
        or not values.is_plain(value, LIMITS.max_depth, LIMITS.max_expanded_nodes)
    ):
        return None
    return ("ok", value)


def exact(outcome: tuple[str, Any]) -> str:
    return json.dumps(outcome)  # tells 1 from 1.0 from true, keeps key order


def check_agreement(text: str) -> None:
    slow = careful(text)
    quick = fast(text)
    if quick is not None:
        assert exact(quick) == exact(slow), text
    try:
        value = yamlio.load(text.encode(), "f.yaml")
    except YamlError as exc:
        assert slow == ("error", exc.issue.render()), text
    else:
        assert exact(("ok", value)) == exact(slow), text


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["yes", "on", "0x1F", "0o17", "1e3", "1_000", "+1", ".5", "1e999", "~"]),
)
keys = st.one_of(st.text(max_size=8), st.integers(-5, 5), st.booleans(), st.none())
data = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data, st.booleans(), st.sampled_from([1, 2, 4]))
def test_dumped_data_reads_the_same_both_ways(value: Any, flow: bool, indent: int) -> None:
    text = yaml.safe_dump(value, default_flow_style=flow, indent=max(indent, 2), width=40)
    check_agreement(text)
    check_agreement(yaml.safe_dump(value, default_flow_style=None, indent=2))


FORMS = ["- ", "-\n", "[", "{a: ", "a:\n", "? ", "- a: ", "- [", "{? "]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(FORMS), min_size=1, max_size=6), st.integers(1, 300))
def test_deep_nests_of_every_form_read_the_same_both_ways(parts: list[str], depth: int) -> None:
    text = "applications:\n"
    indent = 0
    for i in range(depth):
        part = parts[i % len(parts)]
        text += part
        if part.endswith("\n"):
            indent += 1
            text += " " * indent
    check_agreement(text + "x\n")


TOKENS = [
    "- ",
    ": ",
    "? ",
    "[",
    "]",
    "{",
    "}",
    ", ",
    "\n",
    "  ",
    "a",
    "b",
    "1",
    "0x1",
    "1e999",
    ".inf",
    "true",
    "~",
    "'q'",
    '"d"',
    "# c",
    "|\n",
    ">-\n",
    "\t",
    "\\",
    "'",
    '"',
    "9" * 30,
]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=40))
def test_token_soup_reads_the_same_both_ways(tokens: list[str]) -> None:
    check_agreement("".join(tokens))


def test_the_fast_parser_still_refuses_deep_flow_nesting() -> None:
    """The stack bound of the fast way relies on this refusal (see yamlio)."""
    for text in ("[" * 300 + "]" * 300, "- " * 2000 + "{a: " * 300 + "1" + "}" * 300):
        with pytest.raises(yaml_rs.YAMLDecodeError):
            yaml_rs.loads(text, parse_datetime=False)


def _load_in_child(text: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys\n"
        "from gitsync.config import yamlio\n"
        "try:\n"
        "    yamlio.load(sys.stdin.buffer.read(), 'f.yaml')\n"
        "    print('accepted')\n"
        "except yamlio.YamlCapExceeded as exc:\n"
        "    print('cap', exc.issue.message)\n"
        "except yamlio.YamlError as exc:\n"
        "    print('invalid', exc.issue.message)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], input=text, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("compact x 100,000", "applications:\n" + "- " * 100_000 + "x\n"),
        ("compact x 7,000 (fits a line)", "applications:\n" + "- " * 7_000 + "x\n"),
        ("compact x 5,000", "applications:\n" + "- " * 5_000 + "x\n"),
        ("mappings in sequences", "a:\n" + "- a: " * 3_000 + "x\n"),
        ("indented blocks", "".join(" " * i + "a:\n" for i in range(400)) + " " * 400 + "x\n"),
        ("flow", "[" * 100_000 + "]" * 100_000),
    ],
)
def test_deep_documents_are_refused_without_crashing(name: str, text: str) -> None:
    result = _load_in_child(text)
    assert result.returncode == 0, (name, result.returncode, result.stderr[-500:])
    assert result.stdout.startswith(("cap nesting deeper than 64", "invalid")), result.stdout


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0: cat\n", "mapping key 0 must be a string: quote it"),
        ("a: 1e999\n", "inf cannot be represented in JSON"),
        ("a: " + "9" * 5_000 + "\n", "integer out of range: numbers must fit in 64 bits"),
        ("a: " + "9" * 25 + "\n", "integer out of range: numbers must fit in 64 bits"),
    ],
)
def test_values_json_cannot_carry_are_refused_the_same_way(text: str, message: str) -> None:
    with pytest.raises(YamlError) as caught:
        yamlio.load(text.encode(), "f.yaml")
    assert caught.value.issue.message == message
    assert not isinstance(caught.value, YamlCapExceeded)
