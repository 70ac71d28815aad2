"""The cheap pre-test of names lets through only names ``name_problem`` accepts."""

from __future__ import annotations

import sys

from hypothesis import given
from hypothesis import strategies as st

from gitsync.config import rules


def test_every_character_the_name_rule_refuses_is_not_printable() -> None:
    refused = [chr(c) for c in range(sys.maxunicode + 1) if rules._UNPRINTABLE.match(chr(c))]
    assert refused
    assert not any(char.isprintable() for char in refused)


@given(st.text(max_size=300))
def test_a_name_the_pre_test_skips_has_no_problem(name: str) -> None:
    if not rules._needs_name_check(name):
        assert rules.name_problem(name) is None
