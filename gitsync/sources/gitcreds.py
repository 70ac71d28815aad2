"""The credentials of a remote git URL: its own userinfo, else the environment's.

Apart from :mod:`gitsync.sources.gitauth` (which gives them to git): only a remote
source needs them, and a push hook reads its own local repository.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from gitsync.sources.gitauth import ENV_PASSWORD, ENV_TOKEN, ENV_USERNAME, TOKEN_USERNAME


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password='***')"


@dataclass(frozen=True)
class ParsedUrl:
    """A remote URL split into the URL git sees and the userinfo it carried."""

    url: str  # safe to show, log and store
    user: str | None = None
    password: str | None = None


def split_credentials(url: str) -> ParsedUrl:
    """Take the userinfo (``user:pass@`` or a bare ``token@``) out of an http(s) URL.

    For ssh URLs the user name is part of the address (``git@host``) and stays; only a
    password is removed.
    """
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return ParsedUrl(url)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, has_password, password = userinfo.partition(":")
    if parts.scheme in ("http", "https"):
        clean = urlunsplit(parts._replace(netloc=hostport))
        return ParsedUrl(clean, user, password if has_password else None)
    if has_password:
        clean = urlunsplit(parts._replace(netloc=f"{user}@{hostport}"))
        return ParsedUrl(clean, None, password)
    return ParsedUrl(url)


def resolve_credentials(
    parsed: ParsedUrl, env: Mapping[str, str] | None = None
) -> Credentials | None:
    """Credentials for a remote: the URL's own, else the environment's.

    Environment: ``GITSYNC_GIT_TOKEN`` (user ``GITSYNC_GIT_USERNAME`` or
    ``x-access-token``), or ``GITSYNC_GIT_USERNAME`` + ``GITSYNC_GIT_PASSWORD``.
    A URL with a bare ``name@`` takes its password from the environment when one is
    set, else the name is taken as a token (``https://TOKEN@github.com/...``).
    """
    env = os.environ if env is None else env
    secret = env.get(ENV_TOKEN) or env.get(ENV_PASSWORD) or ""
    env_user = env.get(ENV_USERNAME) or TOKEN_USERNAME
    if parsed.password is not None:
        return Credentials(parsed.user or env_user, parsed.password)
    if parsed.user:
        if secret:
            return Credentials(parsed.user, secret)
        return Credentials(TOKEN_USERNAME, parsed.user)
    return Credentials(env_user, secret) if secret else None
