"""Every scan of untrusted text is linear: 1 MB of each one's worst input is quick.

Each case is a shape that makes a backtracking pattern quadratic (long runs that
almost match, many starts that each scan far). The bound is generous (CPU time of
the calling thread, so other processes on the machine do not count); the quadratic
scrubber this replaced took minutes on 300 KB.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from gitsync.api.deploy_v2 import _FROM
from gitsync.api.deploy_v2_apps import host_names
from gitsync.config import yamlio
from gitsync.config.rules import is_uri
from gitsync.plan.diff import _scrub_url
from gitsync.redact import redact_text
from gitsync.sources.gitcmd import first_detail
from gitsync.sources.gitrefs import _REF_NAME, _SHORT_SHA

MB = 1_000_000
BOUND_S = 0.1


def _n(unit: str) -> int:
    return MB // len(unit)


CASES: list[tuple[str, Callable[[str], object], str]] = [
    ("scrub: letters, no scheme end", _scrub_url, "a" * MB),
    (
        "scrub: a scheme then a long authority",
        _scrub_url,
        "a" * (MB // 2) + "://" + "b" * (MB // 2),
    ),
    ("scrub: many scheme starts", _scrub_url, "a://" * _n("a://")),
    ("scrub: at-signs after one scheme", _scrub_url, "h://" + "@" * MB),
    ("scrub: query names", _scrub_url, "?token=" * _n("?token=")),
    ("scrub: near-miss query names", _scrub_url, "&" + "a" * 63 * 1 + "&" * MB),
    ("scrub: bearer then spaces", _scrub_url, "Bearer" + " " * MB),
    ("scrub: many bearers", _scrub_url, "bearer " * _n("bearer ")),
    ("redact with literal secrets", lambda t: redact_text(t, ("abcd", "zzzz")), "abc" * _n("abc")),
    ("hosts.xml: many tag starts", host_names, "<host" * _n("<host")),
    ("hosts.xml: unclosed name", host_names, "<host name='" + "a" * MB),
    ("hosts.xml: many names", host_names, "<host " + "name=" * _n("name=")),
    ("hosts.xml: names with quotes", host_names, "<host " + "name='" * _n("name='")),
    ("session from=", lambda t: _FROM.fullmatch(t), "https://" + "a" * MB),
    (
        "session from= slashes",
        lambda t: _FROM.fullmatch(t),
        "https://h" + "/application/v2" * (MB // 15),
    ),
    ("uri prefix", is_uri, "a" * MB),
    ("git stderr", first_detail, ("fatal: " + " after 1" * 1000 + "\n") * (MB // 8000)),
    ("git stderr, one line", first_detail, " after " + "1" * MB),
    ("ref name", lambda t: _REF_NAME.fullmatch(t), "a" * MB + "!"),
    ("short sha", lambda t: _SHORT_SHA.fullmatch(t), "a" * MB),
    ("yaml markers", yamlio._needs_careful, "\n--" * _n("\n--")),
    ("yaml line lengths", yamlio._fits_fast_stack, "a" * MB),
    ("yaml plain scalar", lambda t: yamlio.resolve_plain.__wrapped__(t), "1" * MB + "!"),
]


@pytest.mark.parametrize(("name", "scan", "text"), CASES, ids=[c[0] for c in CASES])
def test_each_scan_of_untrusted_text_takes_linear_time(
    name: str, scan: Callable[[str], object], text: str
) -> None:
    assert len(text) >= MB * 0.9
    best = float("inf")
    for _ in range(2):  # the better of two: a single slow run is the machine, not the scan
        start = time.thread_time()
        scan(text)
        best = min(best, time.thread_time() - start)
    assert best <= BOUND_S, f"{name}: {best * 1000:.0f} ms for 1 MB"
