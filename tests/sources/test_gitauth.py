"""Credential handling: splitting, resolving, redacting, the askpass helper."""

from __future__ import annotations

import os
import subprocess

import pytest

from gitsync.sources.gitauth import askpass_helper, git_environment, redact
from gitsync.sources.gitcreds import (
    Credentials,
    ParsedUrl,
    resolve_credentials,
    split_credentials,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://host/r.git", ParsedUrl("https://host/r.git")),
        ("https://u:p@host:8443/r.git", ParsedUrl("https://host:8443/r.git", "u", "p")),
        ("https://tok@github.com/o/r", ParsedUrl("https://github.com/o/r", "tok", None)),
        ("http://u:@host/r", ParsedUrl("http://host/r", "u", "")),
        ("ssh://git@host/r.git", ParsedUrl("ssh://git@host/r.git")),
        ("ssh://git:pw@host/r.git", ParsedUrl("ssh://git@host/r.git", None, "pw")),
        ("file:///srv/r.git", ParsedUrl("file:///srv/r.git")),
    ],
)
def test_split_credentials(url: str, expected: ParsedUrl) -> None:
    assert split_credentials(url) == expected


def test_resolve_credentials() -> None:
    env = {"GITSYNC_GIT_USERNAME": "deploy", "GITSYNC_GIT_PASSWORD": "pw"}
    plain = ParsedUrl("https://h/r")
    assert resolve_credentials(plain, {}) is None
    assert resolve_credentials(plain, env) == Credentials("deploy", "pw")
    assert resolve_credentials(plain, {"GITSYNC_GIT_TOKEN": "t"}) == Credentials(
        "x-access-token", "t"
    )
    assert resolve_credentials(ParsedUrl("https://h/r", "u", "p"), env) == Credentials("u", "p")
    # A bare name in the URL: the user when a password is configured, else a token.
    assert resolve_credentials(ParsedUrl("https://h/r", "bob", None), env) == Credentials(
        "bob", "pw"
    )
    assert resolve_credentials(ParsedUrl("https://h/r", "tok", None), {}) == Credentials(
        "x-access-token", "tok"
    )


def test_credentials_repr_hides_the_password() -> None:
    assert "pw" not in repr(Credentials("u", "pw"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "fatal: unable to access 'https://u:p@h/r.git/': 403",
            "fatal: unable to access 'https://***@h/r.git/': 403",
        ),
        ("clone ssh://git:pw@h/r failed", "clone ssh://***@h/r failed"),
        ("token tok-123 leaked", "token *** leaked"),
        ("nothing here", "nothing here"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text, ("tok-123",)) == expected


def test_askpass_helper_answers_from_the_environment() -> None:
    env = {**os.environ, **git_environment(Credentials("alice", "s3cret"), 10)}
    helper = askpass_helper()
    user = subprocess.run(
        [helper, "Username for 'https://h': "], env=env, capture_output=True, text=True
    )
    password = subprocess.run(
        [helper, "Password for 'https://alice@h': "], env=env, capture_output=True, text=True
    )
    assert (user.stdout, password.stdout) == ("alice\n", "s3cret\n")
    with open(helper) as handle:
        assert "s3cret" not in handle.read()
    assert oct(os.stat(helper).st_mode & 0o777) == "0o700"
    assert oct(os.stat(os.path.dirname(helper)).st_mode & 0o777) == "0o700"


def test_git_never_prompts() -> None:
    env = git_environment(None, 10)
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["GITSYNC_ASKPASS_PASSWORD"] == ""
