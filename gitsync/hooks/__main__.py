"""``python -m gitsync.hooks pre-receive|post-receive [options]``: what the installed
hooks run (the options of ``gitsync hook pre-receive``, from the same table; no click)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from gitsync.errors import GitsyncError
from gitsync.hooks.options import UsageError, parse, usage
from gitsync.output import echo

# This process runs two HTTP calls at most, synchronously. httpx would otherwise import
# its own CLI (click, rich) and httpcore both async backends (anyio, trio) when they are
# installed: ~100 ms of a push's start-up. A None entry makes those imports fail, and
# both libraries fall back to doing without.
_NOT_NEEDED = ("httpx._main", "anyio", "trio")


def main(argv: Sequence[str] | None = None) -> int:
    for name in _NOT_NEEDED:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]
    try:
        parsed = parse(sys.argv[1:] if argv is None else argv)
    except UsageError as exc:
        echo(f"{usage()}\n\nerror: {exc}", sys.stderr)
        return 2
    if parsed is None:
        echo(usage())
        return 0
    name, settings = parsed
    from gitsync.hooks import receive

    run = receive.pre_receive if name == "pre-receive" else receive.post_receive
    try:
        # Hook output goes to the pusher ("remote: ..."): stdout and stderr both reach them.
        return run(settings, sys.stdin, sys.stdout)
    except GitsyncError as exc:
        echo(f"gitsync: {exc.message}", sys.stdout)
        return 1


if __name__ == "__main__":
    sys.exit(main())
