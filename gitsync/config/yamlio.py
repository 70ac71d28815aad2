"""Safe YAML: one document per file, YAML 1.2 core scalars, caps, and positions on demand.

One reader with one set of rules, taken two ways:

* the **fast way** (``yaml_rs``, a Rust parser) reads a file straight into Python
  objects. It is taken only when the text has no anchors, aliases, tags, directives or
  document markers, and only inside a thread whose stack is big enough for the deepest
  document the text can hold (see :func:`_fits_fast_stack`). Its result is then checked
  against the rules of :mod:`gitsync.config.values` (depth, node count, string keys,
  finite numbers, 64-bit integers) by :mod:`gitsync.config.plain_check`, at native
  speed; anything refused, or any error, goes the careful way.
* the **careful way** (:mod:`gitsync.config.yaml_events`) builds values from PyYAML's
  event stream, enforcing the same rules as it goes and recording positions. It is the
  one that reports every error, so both ways give the same value or the same error.
  PyYAML is loaded when a file first goes that way: a push hook reading plain
  configs never loads it.

Errors: a file that is not valid YAML is a :class:`YamlError` (an invalid config); a
file over a cap (size, depth, aliases, nodes) is a :class:`YamlCapExceeded`, which is
also an :class:`~gitsync.errors.UnsafeInput`.
"""

from __future__ import annotations

import functools
import os
import re
import resource
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

import yaml_rs

from gitsync.config import plain_check, values
from gitsync.config.collector import gc_paused
from gitsync.config.issues import Issue, JsonPath
from gitsync.config.stack_worker import StackWorker
from gitsync.errors import BadRequest, UnsafeInput

if TYPE_CHECKING:
    from gitsync.config.yaml_events import Document

__all__ = ["DEFAULT_LIMITS", "YamlCapExceeded", "YamlError", "YamlLimits"]


class YamlLimits(NamedTuple):
    """Caps that keep a hostile file from costing memory or time."""

    max_file_bytes: int = 64 * 1024 * 1024
    max_depth: int = values.DEFAULT_MAX_DEPTH
    max_aliases: int = 1_000
    # Nodes (keys included), counted as if every alias were expanded.
    max_expanded_nodes: int = 10_000_000


DEFAULT_LIMITS = YamlLimits()


class YamlError(BadRequest):
    """A file that is not acceptable YAML; ``issue`` says where and why."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.render())
        self.issue = issue


class YamlCapExceeded(YamlError, UnsafeInput):
    """A file over one of the caps of :class:`YamlLimits`."""


def _fail(
    file: str, line: int, column: int, message: str, rule: str = "yaml", cap: bool = False
) -> YamlError:
    kind = YamlCapExceeded if cap else YamlError
    return kind(Issue(file, line, column, (), "error", message, rule))


# Anything that needs the careful way, as single characters found with memchr-fast
# ``in``: anchors, aliases and tags; and the places where the differential fuzz test
# found the parsers disagreeing: tabs (YAML 1.1 refuses them where 1.2 allows) and
# block scalars (``|``, ``>``: yaml_rs keeps a line break in an empty one and takes
# them as plain text in flow context). Also directives or markers at a line start.
_CAREFUL_CHARS = ("&", "*", "!", "\t", "|", ">")
_MARKERS = re.compile(r"\n(?:---|\.\.\.|%)")


def _needs_careful(text: str) -> bool:
    if any(char in text for char in _CAREFUL_CHARS):
        return True
    return text.startswith(("---", "...", "%")) or bool(_MARKERS.search(text))


# Why the fast way cannot overflow its stack. yaml_rs converts its tree to Python
# recursively, about 750 bytes of native stack per level (measured: 1 MiB holds ~1,400
# levels), and an overflow kills the process. Its scanner (libyaml's algorithm) opens a
# block collection only at a column strictly greater than the enclosing one, apart from
# one "indentless" sequence per level, so block nesting is at most 2 * (columns + 2);
# it refuses flow nesting past 256 levels (pinned by a test). Columns are bounded by
# the longest line, counted in UTF-8 bytes to be safe whichever unit it counts in.
_FAST_MAX_LINE_BYTES = 16_000
_FAST_MAX_LEVELS = 2 * (_FAST_MAX_LINE_BYTES + 2) + 256
_FAST_STACK_BYTES = 64 * 1024 * 1024  # > 2.5 x _FAST_MAX_LEVELS * 750 bytes
_FAST_WORKER = StackWorker(_FAST_STACK_BYTES, "gitsync-yaml")


def _fits_fast_stack(text: str) -> bool:
    """True when no line is longer than the bound above. If every aligned chunk of
    ``step`` characters holds a newline, no line reaches ``2 * step`` characters, that
    is ``8 * step`` bytes; otherwise measure the lines exactly."""
    step = _FAST_MAX_LINE_BYTES // 8
    if all(text.find("\n", start, start + step) >= 0 for start in range(0, len(text) - step, step)):
        return True
    return max(len(line.encode()) for line in text.split("\n")) <= _FAST_MAX_LINE_BYTES


# The calling thread is used instead when it is the main thread, whose stack is the
# soft RLIMIT_STACK (8 MiB by default), and the lines are short enough for that: the
# hand-over to the worker costs a tenth of the parse, more on large files (the
# worker's allocations come from its own malloc arena, which gives its pages back to
# the kernel between files, so each parse faults them in again).
_CALLER_MAX_LINE_BYTES = 2_000
_CALLER_MAX_LEVELS = 2 * (_CALLER_MAX_LINE_BYTES + 2) + 256
_CALLER_STACK_BYTES = 8 * 1024 * 1024  # > 2.5 x _CALLER_MAX_LEVELS * 750 bytes


# A child forked from another thread calls that thread "main", on that thread's stack:
# such a child (and only such) never takes the caller's way.
_main_stack_is_ours = True
_forking_from_main = True


def _before_fork() -> None:
    global _forking_from_main
    _forking_from_main = threading.current_thread() is threading.main_thread()


def _after_fork_in_child() -> None:
    global _main_stack_is_ours
    _main_stack_is_ours = _main_stack_is_ours and _forking_from_main


os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)


def _fits_caller_stack(data: bytes) -> bool:
    """True when this is the main thread, its stack may grow to the bound above, and
    no line of ``data`` reaches ``_CALLER_MAX_LINE_BYTES`` (chunks as in
    :func:`_fits_fast_stack`, counted in bytes)."""
    if not _main_stack_is_ours or threading.current_thread() is not threading.main_thread():
        return False
    soft, _ = resource.getrlimit(resource.RLIMIT_STACK)
    if soft != resource.RLIM_INFINITY and soft < _CALLER_STACK_BYTES:
        return False
    step = _CALLER_MAX_LINE_BYTES // 2
    return all(
        data.find(b"\n", start, start + step) >= 0 for start in range(0, len(data) - step, step)
    )


def _fast_parse(text: str, on_caller: bool = False) -> tuple[bool, Any]:
    """yaml_rs on a thread with a known, big stack: the worker's, or the caller's when
    :func:`_fits_caller_stack` said so. (True, value) or (False, None)."""

    def run() -> tuple[bool, Any]:
        try:
            with gc_paused():
                return True, yaml_rs.loads(text, parse_datetime=False)
        except Exception:  # any refusal sends the text the careful way
            return False, None

    return run() if on_caller else _FAST_WORKER.run(run)


def decode(data: bytes, file: str, limits: YamlLimits = DEFAULT_LIMITS) -> str:
    """Bytes to text: size cap, strict UTF-8, BOM dropped."""
    if len(data) > limits.max_file_bytes:
        raise _fail(
            file,
            0,
            0,
            f"file is {len(data)} bytes; the limit is {limits.max_file_bytes}",
            "limit",
            cap=True,
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _fail(file, line, col, f"file is not valid UTF-8 (byte {exc.start})") from exc
    text = text.removeprefix("\ufeff")
    # Both parsers then agree on a block scalar that ends the file ("clip" keeps one
    # line break only when there is one).
    return text if not text or text.endswith("\n") else text + "\n"


def load(data: bytes, file: str, limits: YamlLimits = DEFAULT_LIMITS) -> Any:
    """Parse one YAML document into plain JSON-compatible data, or raise YamlError."""
    text = decode(data, file, limits)
    if not _needs_careful(text) and _fits_fast_stack(text):
        ok, value = _fast_parse(text, on_caller=_fits_caller_stack(data))
        # A document that is one scalar goes the careful way: the parsers disagree on
        # root block scalars, and a config is a mapping anyway.
        rooted = isinstance(value, dict | list)
        nodes = limits.max_expanded_nodes
        if ok and rooted and plain_check.is_plain(value, text, data, limits.max_depth, nodes):
            return value
    return load_text_located(text, file, limits).value


def load_located(data: bytes, file: str, limits: YamlLimits = DEFAULT_LIMITS) -> Document:
    """Parse with positions (the careful way), or raise YamlError."""
    return load_text_located(decode(data, file, limits), file, limits)


def load_text_located(text: str, file: str, limits: YamlLimits = DEFAULT_LIMITS) -> Document:
    from gitsync.config.yaml_events import Builder, Document

    doc = Document(file)
    Builder(doc, limits, resolve_plain, _fail).run(text)
    return doc


class Located:
    """Positions of a file's nodes, the careful parse run only as far as a question
    needs: locating the first hundred findings of a huge file stops near its top.
    Answers are those of a whole parse (a node's position is final once seen)."""

    def __init__(self, data: bytes, file: str, limits: YamlLimits = DEFAULT_LIMITS) -> None:
        from gitsync.config.yaml_events import Builder, Document

        self.doc = Document(file)
        self._steps: Iterator[None] | None = None
        try:
            text = decode(data, file, limits)
        except YamlError:
            return
        self._steps = Builder(self.doc, limits, resolve_plain, _fail).steps(text)

    def position(self, path: JsonPath) -> tuple[int, int]:
        self._walk_to(self.doc.positions, tuple(path))
        return self.doc.position(path) if self.doc.positions else (0, 0)

    def key_position(self, path: JsonPath) -> tuple[int, int]:
        self._walk_to(self.doc.key_positions, tuple(path))
        self._walk_to(self.doc.positions, tuple(path))
        return self.doc.key_position(path) if self.doc.positions else (0, 0)

    def _walk_to(self, table: dict[JsonPath, tuple[int, int]], path: JsonPath) -> None:
        steps = self._steps
        if steps is None:
            return
        try:
            while path not in table:
                next(steps)
        except StopIteration:
            self._steps = None
        except YamlError:  # positions before the error stay good; none after it
            self._steps = None


# A plain scalar made only of these characters may be a number, bool or null.
_MAYBE_TYPED = re.compile(r"[0-9A-Za-z_+\-.~]+")


@functools.lru_cache(maxsize=4096)
def resolve_plain(value: str) -> Any:
    """A plain scalar's value, resolved exactly as the fast way resolves it. Raises
    ValueError for an integer too long to convert."""
    if not value:
        return None  # an empty plain scalar (``a:``) is null
    if not _MAYBE_TYPED.fullmatch(value):
        return value
    try:
        parsed: Any = yaml_rs.loads(f"k: {value}\n", parse_datetime=False)
    except yaml_rs.YAMLDecodeError:
        return value
    return parsed["k"]
