"""The process's cyclic garbage collector, steered where gitsync makes many objects
without reference cycles (parsed YAML, rendered JSON) or keeps many for good (what the
engine's store loads). One place owns it: the two steps must know of each other."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

_frozen = False  # the process froze its long-lived objects (nothing here thaws them)


def freeze_long_lived() -> None:
    """Once per process, at the first store's open: what is loaded by then (SQLAlchemy's
    ~50k objects, the schema, the modules) lives as long as the process, so it moves out
    of the cyclic collector's sight, whose full passes no longer rescan it during each
    allocation-heavy prepare (a third of the CPU of a 1,000-application first deploy).
    Only once: a later open would also pin whatever garbage cycles the process holds then."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Parsed YAML and rendered JSON hold no reference cycles, so the cyclic GC's passes
    while millions of objects are created are pure cost (a third of the parse time on
    large files)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            _age_young_objects()
            gc.enable()


def _age_young_objects() -> None:
    """Move what the pause created into the oldest generation, in constant time: else
    the first allocation after ``gc.enable`` runs a young pass over all of it (5 ms per
    thousand applications, 70 ms for ten thousand), and a middle one later, for data
    that has no cycles to find. ``freeze`` then ``unfreeze`` is that move. Whatever else
    was young then waits for the next full pass instead (a delay, not a leak). Skipped
    once the process froze objects (``unfreeze`` would thaw them): counting frozen
    objects walks them all (5 ms after the store's freeze), so a count is taken only
    while nothing is known to be frozen, and is cheap then."""
    global _frozen
    if _frozen:
        return
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()
    else:
        _frozen = True  # frozen by other code: leave it so
