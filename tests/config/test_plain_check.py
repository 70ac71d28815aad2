"""The fast reader's native check of the value rules gives :func:`values.is_plain`'s
verdict: never laxer, and stricter only for floats of 2**63 or more in size (which then
take the careful way to the same result)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import yaml_rs
from hypothesis import given, settings
from hypothesis import strategies as st

from gitsync.config import plain_check, values, yamlio
from gitsync.config.yamlio import YamlCapExceeded, YamlError, YamlLimits

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=6),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
)
keys = st.one_of(
    st.text(max_size=4), st.integers(-3, 3), st.booleans(), st.none(), st.just((1, "a"))
)
data = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=25,
)


def _big_floats(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_big_floats(v) for v in value.values())
    if isinstance(value, list):
        return any(_big_floats(v) for v in value)
    return isinstance(value, float) and abs(value) >= 2**63


@settings(max_examples=600, deadline=None)
@given(data, st.integers(0, 5))
def test_the_native_check_gives_is_plains_verdict(value: Any, max_depth: int) -> None:
    fast = plain_check.has_plain_shape(value, max_depth)
    exact = values.is_plain(value, max_depth)
    if fast:
        assert exact, value  # never laxer
    elif exact:
        assert _big_floats(value), value  # stricter only there


@pytest.mark.parametrize("max_depth", [1, 2, 64])
@pytest.mark.parametrize("wrap", [lambda x: [x], lambda x: {"k": x}])
def test_depth_cap_is_the_same(max_depth: int, wrap: Any) -> None:
    for depth in (max_depth - 1, max_depth, max_depth + 1):
        value: Any = "leaf"
        for _ in range(depth):
            value = wrap(value)
        assert plain_check.has_plain_shape(value, max_depth) == values.is_plain(value, max_depth), (
            depth
        )


def _count_nodes(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + sum(1 + _count_nodes(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(_count_nodes(v) for v in value)
    return 1


TOKENS = ["- ", "-\n", ": ", "? ", "[", "]", "{", "}", ", ", ",", "\n", "  ", "a", "1", "'q'"]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=40))
def test_the_text_bounds_the_node_count(tokens: list[str]) -> None:
    text = "".join(tokens) + "\n"
    if yamlio._needs_careful(text):
        return
    try:
        value = yaml_rs.loads(text, parse_datetime=False)
    except Exception:  # refused (some complex keys raise TypeError): the careful way's
        return
    data = text.encode()
    # the bound taken from the text, not the shortcut for short files
    bound = 1 + 3 * (len(data) - len(data.translate(None, plain_check._NODE_INDICATORS)))
    assert _count_nodes(value) <= bound, text
    assert plain_check.node_bound(data, 0) == bound


def test_a_node_cap_below_the_bound_is_counted_exactly() -> None:
    text = b"a: [1, 2, 3]\nb: {c: d}\n"  # 10 nodes, keys included
    assert yamlio.load(text, "f.yaml", YamlLimits(max_expanded_nodes=10)) == {
        "a": [1, 2, 3],
        "b": {"c": "d"},
    }
    with pytest.raises(YamlCapExceeded, match="more than 9 nodes"):
        yamlio.load(text, "f.yaml", YamlLimits(max_expanded_nodes=9))


@pytest.fixture
def int_digits_limit() -> Iterator[None]:
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)  # the lowest Python allows
    try:
        yield
    finally:
        sys.set_int_max_str_digits(before)


@pytest.mark.usefixtures("int_digits_limit")
@pytest.mark.parametrize("digits", ["9" * 700, "0x" + "f" * 600, "0o" + "7" * 800])
def test_integers_past_the_int_to_text_limit_are_refused(digits: str) -> None:
    with pytest.raises(YamlError) as caught:
        yamlio.load(f"a: {digits}\n".encode(), "f.yaml")
    assert caught.value.issue.message == "integer out of range: numbers must fit in 64 bits"


def test_the_caller_thread_is_used_only_when_it_is_main_and_lines_are_short() -> None:
    short = b"a: 1\n" * 1000
    assert yamlio._fits_caller_stack(short)
    assert not yamlio._fits_caller_stack(b"a: " + b"1" * 5000 + b"\n")
    seen: list[bool] = []
    thread = threading.Thread(target=lambda: seen.append(yamlio._fits_caller_stack(short)))
    thread.start()
    thread.join(timeout=30)
    assert seen == [False]


def test_a_child_forked_from_another_thread_never_parses_on_its_caller() -> None:
    """After such a fork, the child's "main" thread runs on the forking thread's stack."""
    assert yamlio._fits_caller_stack(b"a: 1\n")
    read, write = os.pipe()

    def fork_and_report() -> None:
        pid = os.fork()
        if pid == 0:  # the child: one thread, the one that forked
            os.write(write, b"1" if yamlio._fits_caller_stack(b"a: 1\n") else b"0")
            os._exit(0)
        os.waitpid(pid, 0)

    thread = threading.Thread(target=fork_and_report)
    thread.start()
    thread.join(timeout=30)
    assert os.read(read, 1) == b"0"
    os.close(read)
    os.close(write)
    assert yamlio._fits_caller_stack(b"a: 1\n")  # the parent is unchanged


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("compact, one line just short", "applications:\n" + "- " * 990 + "x\n"),
        ("indented compact lines", "".join(" " * (2 * i) + "- " * 400 + "\n" for i in range(5))),
        ("indented blocks", "".join(" " * i + "a:\n" for i in range(950)) + " " * 950 + "x\n"),
    ],
)
def test_deep_documents_on_the_main_thread_are_refused_without_crashing(
    name: str, text: str
) -> None:
    code = (
        "import sys\n"
        "from gitsync.config import yamlio\n"
        "data = sys.stdin.buffer.read()\n"
        "print('caller' if yamlio._fits_caller_stack(data) else 'worker')\n"
        "try:\n"
        "    yamlio.load(data, 'f.yaml')\n"
        "    print('accepted')\n"
        "except yamlio.YamlError as exc:\n"
        "    print('refused', exc.issue.message)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], input=text, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, (name, result.returncode, result.stderr[-500:])
    lines = result.stdout.splitlines()
    assert lines[0] == "caller", lines
    assert lines[1].startswith("refused"), lines
