"""The rules every parsed value obeys, whichever reader or request produced it.

JSON is the model: mapping keys are strings, numbers are finite, integers fit in 64
bits, nesting and size are capped. The walk is iterative so that no input, however
deep, can exhaust the interpreter's stack.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from gitsync.config.issues import JsonPath

INT_LIMIT = 2**63  # integers must lie in [-2**63, 2**63)
DEFAULT_MAX_DEPTH = 64


def scalar_problem(value: Any) -> str | None:
    """Why a scalar cannot be kept, or None. Names the kind of value, never the value."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value!r} cannot be represented in JSON"  # nan, inf or -inf: no secret
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and not -INT_LIMIT <= value < INT_LIMIT
    ):
        return "integer out of range: numbers must fit in 64 bits"
    return None


def key_problem(key: Any) -> str | None:
    if isinstance(key, str):
        return None
    # Short scalars are shown as written (a key is a name, not a secret); others by type.
    short = isinstance(key, bool | float | type(None)) or (
        isinstance(key, int) and abs(key) < 10**12
    )
    what = repr(key) if short else f"of type {type(key).__name__}"
    return f"mapping key {what} must be a string: quote it"


def problems(
    value: Any, max_depth: int = DEFAULT_MAX_DEPTH, max_nodes: int | None = None
) -> Iterator[tuple[JsonPath, str]]:
    """Every rule broken in ``value`` with its path; nothing below a too-deep level
    is visited. Nodes (keys included) are counted; past ``max_nodes`` the walk stops."""
    nodes = 0
    stack: list[tuple[Any, JsonPath, int]] = [(value, (), 0)]
    while stack:
        item, path, depth = stack.pop()
        nodes += 1
        if max_nodes is not None and nodes > max_nodes:
            yield path, f"document has more than {max_nodes} nodes"
            return
        if isinstance(item, dict):
            if depth >= max_depth:
                yield path, f"nesting deeper than {max_depth} levels"
                continue
            for key, child in item.items():
                nodes += 1
                why = key_problem(key)
                if why is not None:
                    yield path, why
                    continue
                stack.append((child, (*path, key), depth + 1))
        elif isinstance(item, list):
            if depth >= max_depth:
                yield path, f"nesting deeper than {max_depth} levels"
                continue
            stack.extend((child, (*path, i), depth + 1) for i, child in enumerate(item))
        else:
            why = scalar_problem(item)
            if why is not None:
                yield path, why


def first_problem(
    value: Any, max_depth: int = DEFAULT_MAX_DEPTH, max_nodes: int | None = None
) -> tuple[JsonPath, str] | None:
    return next(problems(value, max_depth, max_nodes), None)


def is_plain(value: Any, max_depth: int = DEFAULT_MAX_DEPTH, max_nodes: int = 10**7) -> bool:
    """True when ``value`` breaks no rule: the same verdict as :func:`problems`, tuned
    for the fast YAML path (one level at a time, no paths built; about a quarter of
    yaml_rs's own parse time)."""
    kind = type(value)
    if kind is not dict and kind is not list:
        return scalar_problem(value) is None
    level: list[Any] = [value]
    depth, nodes = 0, 1
    while level:
        depth += 1
        if depth > max_depth:
            return False
        deeper: list[Any] = []
        add = deeper.append
        for collection in level:
            if type(collection) is dict:
                if collection and set(map(type, collection)) != {str}:
                    return False
                nodes += 2 * len(collection)
                items = collection.values()
            else:
                nodes += len(collection)
                items = collection
            for item in items:
                kind = type(item)
                if kind is str or kind is bool or item is None:
                    continue
                if kind is dict or kind is list:
                    add(item)
                elif kind is int:
                    if not -INT_LIMIT <= item < INT_LIMIT:
                        return False
                elif kind is float:
                    if item - item != 0.0:  # inf - inf and nan - nan are nan
                        return False
                else:
                    return False
        if nodes > max_nodes:
            return False
        level = deeper
    return True
