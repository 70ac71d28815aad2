"""The careful YAML reader: values built from PyYAML's (C) event stream.

libyaml's parser keeps its own explicit stacks and this builder keeps one list, so no
input can overflow a stack here. It enforces the depth, alias and node caps as it
goes, resolves plain scalars exactly as the fast reader does, applies the value rules
of :mod:`gitsync.config.values`, and records the line and column of every node.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from gitsync.config import values
from gitsync.config.issues import JsonPath

if TYPE_CHECKING:
    from gitsync.config.yamlio import YamlError, YamlLimits

try:  # the C parser where present; both emit the same events
    _Loader: type[Any] = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

# (file, line, column, message, rule, is_cap) -> the error to raise
ErrorFactory = Callable[[str, int, int, str, str, bool], "YamlError"]

_STANDARD_TAGS = {
    "tag:yaml.org,2002:str": str,
    "tag:yaml.org,2002:int": int,
    "tag:yaml.org,2002:float": float,
    "tag:yaml.org,2002:bool": bool,
    "tag:yaml.org,2002:null": type(None),
}


@dataclass
class _Open:
    """A collection under construction on the builder's stack."""

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


class Builder:
    """Builds a Document from PyYAML events, enforcing the caps as it goes."""

    def __init__(
        self,
        doc: Document,
        limits: YamlLimits,
        resolve_plain: Callable[[str], Any],
        fail: ErrorFactory,
    ) -> None:
        self.doc = doc
        self.limits = limits
        self.resolve_plain = resolve_plain
        self.fail = fail
        self.stack: list[_Open] = []
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.aliases = 0
        self.nodes = 0  # every node once, an alias as the size of what it repeats
        self.documents = 0

    def run(self, text: str) -> None:
        for _ in self.steps(text):
            pass

    def steps(self, text: str) -> Iterator[None]:
        """The walk, one event per step: a reader that only wants positions near the
        top of a large file stops early (``yamlio.Located``)."""
        try:
            for event in self._events(text):
                self._on(event)
                yield
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
            problem = exc.problem or exc.context or "invalid YAML"
            raise self.fail(
                self.doc.file, line, col, f"invalid YAML: {problem}", "yaml", False
            ) from exc
        except yaml.YAMLError as exc:
            raise self.fail(self.doc.file, 0, 0, f"invalid YAML: {exc}", "yaml", False) from exc

    @staticmethod
    def _events(text: str) -> Iterator[Any]:
        return iter(yaml.parse(text, Loader=_Loader))

    def _where(self, event: Any) -> tuple[int, int]:
        mark = event.start_mark
        return (mark.line + 1, mark.column + 1)

    def _error(self, event: Any, message: str, rule: str = "yaml", cap: bool = False) -> YamlError:
        line, col = self._where(event) if event is not None else (0, 0)
        return self.fail(self.doc.file, line, col, message, rule, cap)

    def _on(self, event: Any) -> None:
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise self._error(event, "a config file must hold exactly one YAML document")
        elif isinstance(event, yaml.ScalarEvent):
            value = self._scalar(event)
            why = values.scalar_problem(value)
            if why is not None:
                raise self._error(event, why, "yaml-value")
            if event.anchor is not None:
                self.anchors[event.anchor] = (value, 1)
            self._count(event, 1)
            self._add(event, value, 1)
        elif isinstance(event, yaml.AliasEvent):
            self._alias(event)
        elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            self._count(event, 1)
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
            return self._plain(event, value) if plain and tag is None else value
        if tag not in _STANDARD_TAGS:
            raise self._error(event, f"unsupported YAML tag {tag!r}: only plain data is allowed")
        wanted = _STANDARD_TAGS[tag]
        resolved = value if wanted is str else self._plain(event, value)
        if wanted is not str and type(resolved) is not wanted:
            raise self._error(
                event, f"a {type(resolved).__name__} is not a valid {wanted.__name__}"
            )
        return resolved

    def _plain(self, event: Any, value: str) -> Any:
        try:
            return self.resolve_plain(value)
        except ValueError:  # an integer too long to convert
            raise self._error(
                event, "integer out of range: numbers must fit in 64 bits", "yaml-value"
            ) from None

    def _alias(self, event: Any) -> None:
        if event.anchor not in self.anchors:
            raise self._error(event, f"alias *{event.anchor} refers to an unknown anchor")
        self.aliases += 1
        if self.aliases > self.limits.max_aliases:
            raise self._error(
                event,
                f"more than {self.limits.max_aliases} aliases: refusing (alias bomb?)",
                "limit",
                cap=True,
            )
        value, size = self.anchors[event.anchor]
        self._count(event, size)
        self._add(event, value, size)

    def _count(self, event: Any, size: int) -> None:
        self.nodes += size
        if self.nodes > self.limits.max_expanded_nodes:
            raise self._error(
                event,
                f"document expands to more than {self.limits.max_expanded_nodes} nodes "
                "(alias bomb?)",
                "limit",
                cap=True,
            )

    def _open(self, event: Any) -> None:
        if event.tag not in (None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"):
            raise self._error(
                event, f"unsupported YAML tag {event.tag!r}: only plain data is allowed"
            )
        if len(self.stack) >= self.limits.max_depth:
            raise self._error(
                event, f"nesting deeper than {self.limits.max_depth} levels", "limit", cap=True
            )
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
        why = values.key_problem(key)
        if why is not None:
            raise self._error(event, why, "yaml-key")
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
