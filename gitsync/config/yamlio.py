"""Safe YAML: one document per file, YAML 1.2 core scalars, caps, and positions on demand.

Two readers share one meaning:

* the **fast path** (``yaml_rs``, a Rust parser) reads a file straight into Python
  objects. It is taken when the text has no anchors, aliases, tags, directives or
  document markers, which covers nearly every real config file.
* the **careful path** builds values from PyYAML's (C) event stream: it enforces the
  alias and depth caps, resolves plain scalars exactly as the fast path does, and
  records the line and column of every node. It runs for files the fast path
  refuses, and for any file that has something to report (positions are only needed
  then).

Both read YAML 1.2 core scalars (``yes``/``on`` are strings, as in JSON-minded
tools); mapping keys must be strings and duplicate keys are an error.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
import yaml_rs

from gitsync.config.issues import Issue, JsonPath
from gitsync.errors import UnsafeInput

try:  # the C parser where present; both emit the same events
    _Loader: type[Any] = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader


@dataclass(frozen=True)
class YamlLimits:
    """Caps that keep a hostile file from costing memory or time."""

    max_file_bytes: int = 64 * 1024 * 1024
    max_depth: int = 64
    max_aliases: int = 1_000
    # Nodes counted as if every alias were expanded: an alias bomb trips this.
    max_expanded_nodes: int = 2_000_000


DEFAULT_LIMITS = YamlLimits()


class YamlError(UnsafeInput):
    """A file that is not acceptable YAML; ``issue`` says where and why."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.render())
        self.issue = issue


def _fail(file: str, line: int, column: int, message: str, rule: str = "yaml") -> YamlError:
    return YamlError(Issue(file, line, column, (), "error", message, rule))


# Anything that needs the careful path: anchors, aliases, tags (single characters,
# found with memchr-fast ``in``), YAML's non-finite floats, which JSON cannot carry,
# and directives or document markers at a line start. Each regex starts with a
# literal, so ``re`` skips ahead to it instead of trying every position.
_CAREFUL_CHARS = ("&", "*", "!")
_NON_FINITE = re.compile(r"\.(?:nan|NaN|NAN|inf|Inf|INF)")
_MARKERS = re.compile(r"\n(?:---|\.\.\.|%)")
_FLOW_BRACKETS = re.compile(r"[\[\]{}]")


def _needs_careful(text: str, limits: YamlLimits) -> bool:
    if any(char in text for char in _CAREFUL_CHARS) or _NON_FINITE.search(text):
        return True
    if text.startswith(("---", "...", "%")) or _MARKERS.search(text):
        return True
    return _may_be_too_deep(text, limits.max_depth)


def _may_be_too_deep(text: str, max_depth: int) -> bool:
    """A cheap upper bound on nesting: block levels need an indent each, flow levels a
    bracket each. Files near the cap go the careful way, which counts exactly."""
    budget = max_depth // 2
    if "\n" + " " * budget in text:
        return True
    if "[" not in text and "{" not in text:
        return False
    depth = 0
    for match in _FLOW_BRACKETS.finditer(text):
        depth += 1 if match.group() in "[{" else -1
        if depth >= budget:
            return True
    return False


# A plain scalar made only of these characters may be a number, bool or null.
_MAYBE_TYPED = re.compile(r"[0-9A-Za-z_+\-.~]+")


def decode(data: bytes, file: str, limits: YamlLimits = DEFAULT_LIMITS) -> str:
    """Bytes to text: size cap, strict UTF-8, BOM dropped."""
    if len(data) > limits.max_file_bytes:
        raise _fail(
            file, 0, 0, f"file is {len(data)} bytes; the limit is {limits.max_file_bytes}", "limit"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _fail(file, line, col, f"file is not valid UTF-8 (byte {exc.start})") from exc
    return text.removeprefix("\ufeff")


def load(data: bytes, file: str, limits: YamlLimits = DEFAULT_LIMITS) -> Any:
    """Parse one YAML document into plain JSON-compatible data, or raise YamlError."""
    text = decode(data, file, limits)
    if not _needs_careful(text, limits):
        try:
            with gc_paused():
                return yaml_rs.loads(text, parse_datetime=False)
        except yaml_rs.YAMLDecodeError:
            pass  # the careful path finds the same problem and says where it is
    return Document.parse(text, file, limits).value


def load_located(data: bytes, file: str, limits: YamlLimits = DEFAULT_LIMITS) -> Document:
    """Parse with positions (the careful path), or raise YamlError."""
    return Document.parse(decode(data, file, limits), file, limits)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Parsed YAML holds no reference cycles, so the cyclic GC's passes while millions
    of objects are created are pure cost (a third of the parse time on large files)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@functools.lru_cache(maxsize=4096)
def _resolve_plain(value: str) -> Any:
    """A plain scalar's value, resolved exactly as the fast path resolves it."""
    if not value or not _MAYBE_TYPED.fullmatch(value):
        return value
    try:
        parsed: Any = yaml_rs.loads(f"k: {value}\n", parse_datetime=False)
    except yaml_rs.YAMLDecodeError:
        return value
    return parsed["k"]


_STANDARD_TAGS = {
    "tag:yaml.org,2002:str": str,
    "tag:yaml.org,2002:int": int,
    "tag:yaml.org,2002:float": float,
    "tag:yaml.org,2002:bool": bool,
    "tag:yaml.org,2002:null": type(None),
}


@dataclass
class _Open:
    """A collection under construction on the careful path's stack."""

    value: dict[str, Any] | list[Any]
    path: JsonPath
    anchor: str | None
    size: int = 1
    key: str | None = None
    key_pending: bool = True


@dataclass
class Document:
    """A parsed file: its value plus the position of every node, by JSON path."""

    file: str
    value: Any = None
    # path -> (line, column) of the value node; keys of mappings under "key" paths.
    positions: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: JsonPath) -> tuple[int, int]:
        """The closest known position for ``path`` (walking up to the root)."""
        probe = tuple(path)
        while True:
            if probe in self.positions:
                return self.positions[probe]
            if not probe:
                return (1, 1)
            probe = probe[:-1]

    def key_position(self, path: JsonPath) -> tuple[int, int]:
        """Where the key that names ``path`` is written (for unknown-key findings)."""
        return self.key_positions.get(tuple(path)) or self.position(path)

    @classmethod
    def parse(cls, text: str, file: str, limits: YamlLimits) -> Document:
        doc = cls(file)
        _Builder(doc, limits).run(text)
        return doc


class _Builder:
    """Builds a Document from PyYAML events, enforcing the caps as it goes."""

    def __init__(self, doc: Document, limits: YamlLimits) -> None:
        self.doc = doc
        self.limits = limits
        self.stack: list[_Open] = []
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.aliases = 0
        self.expanded = 0
        self.documents = 0

    def run(self, text: str) -> None:
        try:
            for event in self._events(text):
                self._on(event)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
            problem = exc.problem or exc.context or "invalid YAML"
            raise _fail(self.doc.file, line, col, f"invalid YAML: {problem}") from exc
        except yaml.YAMLError as exc:
            raise _fail(self.doc.file, 0, 0, f"invalid YAML: {exc}") from exc

    @staticmethod
    def _events(text: str) -> Iterator[Any]:
        return iter(yaml.parse(text, Loader=_Loader))

    def _where(self, event: Any) -> tuple[int, int]:
        mark = event.start_mark
        return (mark.line + 1, mark.column + 1)

    def _error(self, event: Any, message: str, rule: str = "yaml") -> YamlError:
        line, col = self._where(event)
        return _fail(self.doc.file, line, col, message, rule)

    def _on(self, event: Any) -> None:
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise self._error(event, "a config file must hold exactly one YAML document")
        elif isinstance(event, yaml.ScalarEvent):
            value = self._scalar(event)
            if isinstance(value, float) and not math.isfinite(value):
                raise self._error(
                    event, f"{event.value} cannot be represented in JSON", "yaml-value"
                )
            if event.anchor is not None:
                self.anchors[event.anchor] = (value, 1)
            self._add(event, value, 1)
        elif isinstance(event, yaml.AliasEvent):
            self._alias(event)
        elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            self._open(event)
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            done = self.stack.pop()
            if done.anchor is not None:
                self.anchors[done.anchor] = (done.value, done.size)
            self._add(None, done.value, done.size, finished=done)

    def _scalar(self, event: Any) -> Any:
        tag, value = event.tag, event.value
        if tag is None or tag == "!":
            plain = not event.style  # None from the pure parser, "" from the C one
            return _resolve_plain(value) if plain and tag is None else value
        if tag not in _STANDARD_TAGS:
            raise self._error(event, f"unsupported YAML tag {tag!r}: only plain data is allowed")
        wanted = _STANDARD_TAGS[tag]
        resolved = value if wanted is str else _resolve_plain(value)
        if wanted is not str and type(resolved) is not wanted:
            raise self._error(event, f"{value!r} is not a valid {tag.rsplit(':', 1)[-1]}")
        return resolved

    def _alias(self, event: Any) -> None:
        if event.anchor not in self.anchors:
            raise self._error(event, f"alias *{event.anchor} refers to an unknown anchor")
        self.aliases += 1
        if self.aliases > self.limits.max_aliases:
            raise self._error(
                event,
                f"more than {self.limits.max_aliases} aliases: refusing (alias bomb?)",
                "limit",
            )
        value, size = self.anchors[event.anchor]
        self._add(event, value, size)

    def _open(self, event: Any) -> None:
        if event.tag not in (None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"):
            raise self._error(
                event, f"unsupported YAML tag {event.tag!r}: only plain data is allowed"
            )
        if len(self.stack) >= self.limits.max_depth:
            raise self._error(event, f"nesting deeper than {self.limits.max_depth} levels", "limit")
        path = self._child_path(event)
        value: dict[str, Any] | list[Any] = {} if isinstance(event, yaml.MappingStartEvent) else []
        self.doc.positions[path] = self._where(event)
        self.stack.append(_Open(value, path, event.anchor))

    def _child_path(self, event: Any) -> JsonPath:
        if not self.stack:
            return ()
        parent = self.stack[-1]
        if isinstance(parent.value, list):
            return (*parent.path, len(parent.value))
        if parent.key_pending:
            raise self._error(event, "mapping keys must be plain strings, not collections")
        assert parent.key is not None
        return (*parent.path, parent.key)

    def _add(self, event: Any, value: Any, size: int, finished: _Open | None = None) -> None:
        self.expanded += size
        if self.expanded > self.limits.max_expanded_nodes:
            where = event if event is not None else None
            line, col = self._where(where) if where is not None else (0, 0)
            raise _fail(
                self.doc.file,
                line,
                col,
                f"document expands to more than {self.limits.max_expanded_nodes} nodes "
                "(alias bomb?)",
                "limit",
            )
        if not self.stack:
            self.doc.value = value
            if finished is None and event is not None:
                self.doc.positions[()] = self._where(event)
            return
        parent = self.stack[-1]
        parent.size += size
        if isinstance(parent.value, list):
            if finished is None:
                self.doc.positions[(*parent.path, len(parent.value))] = self._where(event)
            parent.value.append(value)
            return
        if parent.key_pending:
            self._take_key(event, parent, value)
            return
        assert parent.key is not None
        if finished is None:
            self.doc.positions[(*parent.path, parent.key)] = self._where(event)
        parent.value[parent.key] = value
        parent.key_pending = True

    def _take_key(self, event: Any, parent: _Open, key: Any) -> None:
        assert isinstance(parent.value, dict)
        if not isinstance(key, str):
            raise self._error(event, f"mapping key {key!r} must be a string: quote it", "yaml-key")
        if key in parent.value:
            first = self.doc.key_positions.get((*parent.path, key), (0, 0))
            raise self._error(
                event,
                f"duplicate key {key!r} (first defined at line {first[0]}, column {first[1]})",
                "duplicate-key",
            )
        parent.key = key
        parent.key_pending = False
        self.doc.key_positions[(*parent.path, key)] = self._where(event)


def non_json_values(value: Any, path: JsonPath = ()) -> Iterator[tuple[JsonPath, str]]:
    """Values JSON cannot carry (NaN, infinities, non-string keys), with their paths."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                yield (*path, str(key)), f"mapping key {key!r} must be a string: quote it"
            else:
                yield from non_json_values(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from non_json_values(item, (*path, index))
    elif isinstance(value, float) and not math.isfinite(value):
        yield path, f"{value!r} cannot be represented in JSON"
