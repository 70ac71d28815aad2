"""JSON Schema validation of a deploy config, fast when valid and precise when not.

The schemas live in ``schemas/`` (shipped inside the wheel as ``gitsync/schemas``).
A compiled validator (jsonschema-rs) answers "is it valid?" in milliseconds; only when
it says no does ``jsonschema`` walk the config to explain why. Both use a *strict*
variant of the schemas in which objects whose unknown keys Ray drops
(``x-gitsync-unknown-keys: warn``) refuse them, so one fast check also proves there is
nothing to warn about.

Unknown keys that Ray drops are errors by default (a typo must never deploy silently,
as with ``kubectl --validate=strict``); with ``unknown_keys="warn"`` they are warnings,
which is Ray's own contract (the Serve REST API keeps it).
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import jsonschema_rs

from gitsync.config import rules, suggest, tally
from gitsync.config.issues import Finding, Issue, JsonPath
from gitsync.config.values import problems as non_json_values
from gitsync.errors import GitsyncError
from gitsync.redact import is_secret_path

if TYPE_CHECKING:
    import jsonschema

ROOT_SCHEMA = "deploy-config.schema.json"
MAX_FINDINGS = 100  # per validation: bounded work and a bounded answer
SCHEMA_BASE = "https://gitsync.dev/schemas/"
_WARN_MARK = "x-gitsync-unknown-keys"
_MESSAGE_MARK = "x-gitsync-message"

#: What an unknown key that Ray would drop is: an error (the default) or a warning.
UnknownKeys = Literal["error", "warn"]
UNKNOWN_KEY_MODES: tuple[UnknownKeys, ...] = ("error", "warn")


def schemas_dir() -> Path:
    """``gitsync/schemas`` in an installed wheel, ``schemas/`` in a source checkout."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "schemas", package.parent / "schemas"):
        if (candidate / ROOT_SCHEMA).is_file():
            return candidate
    raise GitsyncError(f"gitsync's JSON Schemas were not found next to {package}")


def _strict(node: Any) -> Any:
    """Turn ``x-gitsync-unknown-keys: warn`` objects into ones that refuse extra keys."""
    if isinstance(node, dict):
        out = {key: _strict(value) for key, value in node.items()}
        if node.get(_WARN_MARK) == "warn":
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_strict(item) for item in node]
    return node


class SchemaSet:
    """The loaded schemas with their two validators."""

    def __init__(self, directory: Path) -> None:
        self.documents: dict[str, dict[str, Any]] = {}
        for path in sorted(directory.glob("*.schema.json")):
            document = json.loads(path.read_text(encoding="utf-8"))
            self.documents[document.get("$id", SCHEMA_BASE + path.name)] = document
        strict = {uri: _strict(doc) for uri, doc in self.documents.items()}
        self.strict = strict
        self.root_uri = SCHEMA_BASE + ROOT_SCHEMA
        rs_registry = jsonschema_rs.Registry(list(strict.items()))
        self.fast = jsonschema_rs.Draft202012Validator(strict[self.root_uri], registry=rs_registry)
        self.keys = suggest.index(self.documents.values())
        self._rs_registry = rs_registry

    @functools.cached_property
    def counters(self) -> tally.Validators:
        """Compiled yes-or-no checks per part, to count what is not explained."""

        def part(name: str) -> tally.IsValid:
            ref = {"$ref": SCHEMA_BASE + name}
            validator = jsonschema_rs.Draft202012Validator(ref, registry=self._rs_registry)
            return validator.is_valid

        return tally.Validators(
            top=self.fast.is_valid,
            application=part("application.schema.json"),
            deployment=part("deployment.schema.json"),
        )

    @functools.cached_property
    def explainer(self) -> jsonschema.Draft202012Validator:
        """The validator that says why; built (and ``jsonschema`` imported, ~0.1 s) only
        when a config is invalid, so a process that validates good configs never pays."""
        import jsonschema
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012

        registry: Registry[Any] = Registry().with_resources(
            (uri, Resource.from_contents(doc, default_specification=DRAFT202012))
            for uri, doc in self.strict.items()
        )
        return jsonschema.Draft202012Validator(self.strict[self.root_uri], registry=registry)

    def resolve(self, uri: str) -> dict[str, Any]:
        """A schema document by ``$id`` (used for defaults and descriptions)."""
        return copy.deepcopy(self.documents[uri])


@functools.cache
def schema_set() -> SchemaSet:
    return SchemaSet(schemas_dir())


def validate_config(config: Any, unknown_keys: UnknownKeys = "error") -> list[Issue]:
    """Validate a merged deploy config (plain data); issues carry paths but no positions."""
    return [finding.to_issue() for finding in check(config, unknown_keys)]


def check(
    config: Any, unknown_keys: UnknownKeys = "error", code_refs: rules.CodeRefs | None = None
) -> list[Finding]:
    """Schema findings plus cross-field rules, fast when there is nothing to say. The
    rules' walk fills ``code_refs`` (see :class:`rules.CodeRefs`) when it runs."""
    schemas = schema_set()
    try:
        valid = schemas.fast.is_valid(config)
    except ValueError:  # a value the compiled validator cannot take (non-string key)
        valid = False
    findings: list[Finding] = []
    if not valid:
        # Stop early: a million bad items must not cost a million explanations.
        findings.extend(itertools.islice(_explain(schemas, config, unknown_keys), MAX_FINDINGS + 1))
    if len(findings) <= MAX_FINDINGS:
        findings.extend(itertools.islice(rules.check(config, code_refs), MAX_FINDINGS + 1))
    findings = _dedupe(findings)
    if len(findings) > MAX_FINDINGS:
        shown = findings[:MAX_FINDINGS]
        findings = [*shown, Finding((), _more_message(schemas, config, shown), rule="limit")]
    return findings


def _more_message(schemas: SchemaSet, config: Any, shown: list[Finding]) -> str:
    """ "and 999,900 more …": the entries past the cap are counted, not explained."""
    stop = f"only the first {MAX_FINDINGS} findings are explained; fix these first"
    try:
        counted = tally.count_failing(config, schemas.counters)
    except ValueError:  # a value the compiled validator cannot take: no count
        return f"and more: {stop}"
    more = tally.not_shown(counted, (finding.path for finding in shown))
    if not more:
        return f"and more: {stop}"
    bound = "" if counted.complete else "at least "
    return f"and {bound}{more:,} more applications or deployments with errors: {stop}"


def _dedupe(findings: list[Finding]) -> list[Finding]:
    """Drop repeats, warnings about a place that already has an error, and the plain
    "unknown key" finding where a cross-field rule says more about that key."""
    seen: set[tuple[JsonPath, str]] = set()
    errors_at = {f.path for f in findings if f.severity == "error"}
    explained = {f.path for f in findings if f.severity == "error" and f.rule != "unknown-key"}
    out = []
    for finding in findings:
        key = (finding.path, finding.message)
        if finding.severity == "warning" and finding.path in errors_at:
            continue
        if finding.rule == "unknown-key" and finding.path in explained:
            continue
        if key not in seen:
            seen.add(key)
            out.append(finding)
    return out


def _explain(schemas: SchemaSet, config: Any, unknown_keys: UnknownKeys) -> Iterator[Finding]:
    bad = list(itertools.islice(non_json_values(config), MAX_FINDINGS + 1))  # bounded too
    for path, message in bad:
        yield Finding(path, message, rule="yaml")
    if bad:
        return  # jsonschema would trip over the same values
    for error in schemas.explainer.iter_errors(config):
        yield from _describe(error, unknown_keys)


def _describe(error: jsonschema.ValidationError, unknown_keys: UnknownKeys) -> Iterator[Finding]:
    path: JsonPath = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    kind = error.validator
    if kind in ("anyOf", "oneOf") and error.context:
        branch = _matching_branch(error)
        if branch is not None:
            for sub in branch:
                yield from _describe(sub, unknown_keys)
            return
        yield Finding(path, _one_of_message(error.instance, error.validator_value, path))
        return
    if kind == "additionalProperties" and isinstance(error.instance, Mapping):
        yield from _unknown_keys(path, schema, error.instance, unknown_keys)
        return
    if kind == "type":
        yield _type_finding(path, error.instance, error.validator_value)
        return
    if kind == "required":
        missing = [key for key in error.validator_value if key not in error.instance]
        for key in missing:
            yield Finding(path, f"missing required key {key!r}")
        return
    message = schema.get(_MESSAGE_MARK) if kind in ("pattern", "format") else None
    if message:
        shown = _shown(path, error.instance, repr)
        yield Finding(path, f"{message}; got {shown}", rule=_rule_for(path))
        return
    yield Finding(path, _plain_message(error, path), rule=_rule_for(path))


HIDDEN = "(value hidden)"


def _shown(path: JsonPath, value: Any, render: Any = None) -> str:
    """How a message shows ``value``: never for env_vars or a secret-looking key."""
    if is_secret_path(path):
        return HIDDEN
    text = render(value) if render is not None else json.dumps(value)
    return str(text)[:60]


def _rule_for(path: JsonPath) -> str:
    """Constraints Ray itself checks only at apply time carry their own rule name."""
    leaf = path[-1] if path else ""
    return {
        "route_prefix": "route-prefix-format",
        "max_replicas_per_node": "max-replicas-per-node",
        "placement_group_strategy": "placement-group-strategy",
    }.get(str(leaf), "autoscaling-bounds" if "autoscaling_config" in path else "schema")


def _matching_branch(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError] | None:
    """The anyOf branch meant for this value's type, if exactly one is."""
    branches: dict[int, list[jsonschema.ValidationError]] = {}
    for sub in error.context or []:
        branches.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
    if not isinstance(error.instance, Mapping | list):
        return None  # a scalar: "expected X or Y" says it best
    candidates = [
        errs
        for errs in branches.values()
        if not any(e.validator in ("type", "const", "enum") and not e.path for e in errs)
    ]
    return candidates[0] if len(candidates) == 1 else None


def _unknown_keys(
    path: JsonPath, schema: Mapping[str, Any], instance: Mapping[str, Any], mode: UnknownKeys
) -> Iterator[Finding]:
    known = set(schema.get("properties", {}))
    dropped_by_ray = schema.get(_WARN_MARK) == "warn"
    place = suggest.schema_name(schema)
    for key in instance:
        if key in known:
            continue
        hint = suggest.hint(key, place, known, instance, schema_set().keys)
        if dropped_by_ray and mode == "warn":
            message = f"unknown key {key!r}: Ray ignores it, so it has no effect"
            if hint:
                message += f"; {hint}"
            yield Finding((*path, key), message, "warning", "unknown-key", at_key=True)
            continue
        rule = (
            "ray-actor-options-key" if path and path[-1] == "ray_actor_options" else "unknown-key"
        )
        if hint:
            message = f"unknown key {key!r}; {hint}"
        else:
            message = f"unknown key {key!r} (allowed: {', '.join(sorted(known))})"
        yield Finding((*path, key), message, rule=rule, at_key=True)


_JSON_TYPES = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "a boolean",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "mapping" if isinstance(value, Mapping) else type(value).__name__


def _type_finding(path: JsonPath, value: Any, expected: Any) -> Finding:
    wanted = [expected] if isinstance(expected, str) else list(expected)
    names = " or ".join(_JSON_TYPES.get(w, w) for w in wanted)
    message = f"expected {names}, got {_json_type(value)} {_shown(path, value)}"
    numeric = {"integer", "number"} & set(wanted)
    if is_secret_path(path):
        return Finding(path, message)
    if numeric and isinstance(value, bool):
        hint = f"Ray would silently read {json.dumps(value)} as {int(value)}; write {int(value)}"
        return Finding(path, f"{message} ({hint})", rule="lax-coercion")
    if numeric and isinstance(value, str) and _is_number(value):
        hint = f"Ray would coerce the string {value!r}; write {value} without quotes"
        return Finding(path, f"{message} ({hint})", rule="lax-coercion")
    return Finding(path, message)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _one_of_message(value: Any, branches: Any, path: JsonPath) -> str:
    options = []
    for branch in branches if isinstance(branches, list) else []:
        if "const" in branch:
            options.append(json.dumps(branch["const"]))
        elif "minimum" in branch and "type" not in branch:
            options.append(f">= {branch['minimum']}")
        elif "$ref" in branch:
            options.append("a mapping")
        elif "type" in branch:
            kind = branch["type"]
            text = _JSON_TYPES.get(kind, str(kind)) if isinstance(kind, str) else str(kind)
            if "minimum" in branch:
                text += f" >= {branch['minimum']}"
            options.append(text)
    return f"expected {' or '.join(options) or 'another value'}, got {_shown(path, value)}"


def _plain_message(error: jsonschema.ValidationError, path: JsonPath) -> str:
    value = _shown(path, error.instance) if _json_type(error.instance) != "mapping" else "mapping"
    bound = error.validator_value
    messages: dict[str, str] = {
        "minimum": f"must be >= {bound}, got {value}",
        "exclusiveMinimum": f"must be > {bound}, got {value}",
        "maximum": f"must be <= {bound}, got {value}",
        "exclusiveMaximum": f"must be < {bound}, got {value}",
        "enum": f"must be one of {', '.join(json.dumps(v) for v in bound) if isinstance(bound, list) else bound}, got {value}",
        "const": f"must be {json.dumps(bound)}, got {value}",
        "minLength": "must not be empty"
        if bound == 1
        else f"must have at least {bound} characters",
        "minItems": f"must have at least {bound} items",
        "maxItems": f"must have at most {bound} items",
    }
    fallback = str(error.message) if not is_secret_path(path) else f"invalid value {HIDDEN}"
    return messages.get(str(error.validator), fallback)
