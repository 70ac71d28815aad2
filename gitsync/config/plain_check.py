"""The value rules (:mod:`gitsync.config.values`) checked on the fast YAML reader's
result at native speed: the same verdict as :func:`values.is_plain`, in a quarter of
its time on large files.

Three parts, each exact for what yaml_rs builds from a text the fast way takes (no
anchors, aliases or tags; see :mod:`gitsync.config.yamlio`):

* a compiled JSON Schema walks the value in native code (jsonschema-rs): mapping keys
  are strings, values are JSON types, nesting stops at the depth cap, numbers lie in
  [-2**63, 2**63) (which NaN and the infinities fail);
* the text bounds the node count, so the walk need not count;
* the text bounds the length of integers, within which jsonschema-rs compares exactly.

Where a bound does not settle it, :func:`values.is_plain` decides. The schema is not a
general check, only one for yaml_rs's output: it takes tuples as lists and int or str
subclasses as their base (yaml_rs makes neither), and refuses floats of 2**63 or more
in size (the reader then takes the careful way, which accepts them: same verdict).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import jsonschema_rs

from gitsync.config import values


def is_plain(value: Any, text: str, data: bytes, max_depth: int, max_nodes: int) -> bool:
    """:func:`values.is_plain` for ``value``, parsed by yaml_rs from ``text`` (decoded
    from ``data``)."""
    if not has_plain_shape(value, max_depth):
        return False
    if node_bound(data, max_nodes) <= max_nodes and _integers_compare_exactly(text):
        return True
    return values.is_plain(value, max_depth, max_nodes)


def has_plain_shape(value: Any, max_depth: int = values.DEFAULT_MAX_DEPTH) -> bool:
    """The compiled walk: every rule of :func:`values.is_plain` but the node count,
    for integers short enough (:func:`_integers_compare_exactly`)."""
    try:
        return _shape_check(max_depth)(value)
    except Exception:  # a value the validator cannot take (a non-string key): not plain
        return False


@functools.lru_cache(maxsize=8)
def _shape_check(max_depth: int) -> Callable[[Any], bool]:
    return jsonschema_rs.Draft202012Validator(_shape_schema(max_depth)).is_valid


def _shape_schema(max_depth: int) -> dict[str, Any]:
    """Level ``d`` (the root is 1) may hold a mapping or list only up to ``max_depth``,
    so the walk stops one level below the cap. One schema per level with ``type`` and
    applicators (no ``anyOf``): one visit per node."""
    scalars = ["string", "boolean", "null", "number"]
    levels: dict[str, Any] = {}
    for depth in range(1, max_depth + 2):
        level: dict[str, Any] = {
            "minimum": -values.INT_LIMIT,
            "exclusiveMaximum": values.INT_LIMIT,
        }
        if depth <= max_depth:
            deeper = {"$ref": f"#/$defs/level{depth + 1}"}
            level.update(
                type=["object", "array", *scalars], additionalProperties=deeper, items=deeper
            )
        else:
            level["type"] = scalars
        levels[f"level{depth}"] = level
    return {"$defs": levels, "$ref": "#/$defs/level1"}


# Why the text bounds the node count (no aliases, so the value is a tree of the text's
# own nodes). Every node but the root is a mapping key, a mapping value or a sequence
# item. A block mapping entry has its ``:`` or ``?``; a flow one has ``:`` or is a lone
# key, at most one more than its mapping's commas (``,`` or ``{``). A block sequence
# item has its ``-``; flow items are at most one more than the commas (``,`` or ``[``).
# So nodes <= 1 + 2 * entries + items <= 1 + 3 * (the count of these six characters),
# counted over the bytes (UTF-8 never hides an ASCII byte inside another character),
# and only for files long enough to matter. Characters inside scalars or comments
# only raise the bound.
_NODE_INDICATORS = b":?,{[-"


def node_bound(data: bytes, max_nodes: int) -> int:
    """An upper bound of the node count of the fast way's value parsed from ``data``;
    exact enough to settle ``<= max_nodes`` for any real config."""
    if 3 * len(data) + 1 <= max_nodes:
        return 3 * len(data) + 1
    # A slice at a time: no copy of a large file, and each slice stays in the CPU cache.
    kept = sum(
        len(data[start : start + _COUNT_SLICE].translate(None, _NODE_INDICATORS))
        for start in range(0, len(data), _COUNT_SLICE)
    )
    return 1 + 3 * (len(data) - kept)


_COUNT_SLICE = 1 << 18


def _integers_compare_exactly(text: str) -> bool:
    """jsonschema-rs reads an integer through its decimal text, which Python refuses
    past ``sys.get_int_max_str_digits()`` digits; such an integer then passes any
    bound. Writing one takes a line of more than 4/5 of that many characters (hex
    digits are the densest YAML writes: 0.83 decimal digits' worth each), so lines
    shorter than that settle it. Checked as :func:`yamlio._fits_fast_stack` does:
    every aligned chunk of half the length holds a line break."""
    limit = sys.get_int_max_str_digits()
    if limit == 0:  # no limit: every integer converts
        return True
    step = max(limit * 4 // 5 // 2, 1)
    return all(
        text.find("\n", start, start + step) >= 0 for start in range(0, len(text) - step, step)
    )
