"""Did-you-mean for unknown keys: a close key allowed at that place, or the place a key
belongs (as ``kubectl --validate=strict`` names the field it expected)."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Mapping
from typing import Any

# Where each schema's keys are written, in the words of a config file. The order is the
# order in which a key known at several places is suggested.
PLACES: dict[str, str] = {
    "deploy-config.schema.json": "the top level of the config",
    "application.schema.json": "an application (applications[])",
    "deployment.schema.json": "a deployment (applications[].deployments[])",
    "ray-actor-options.schema.json": "a deployment's ray_actor_options",
    "autoscaling-config.schema.json": "a deployment's autoscaling_config",
    "runtime-env.schema.json": "runtime_env",
    "http-options.schema.json": "http_options",
    "grpc-options.schema.json": "grpc_options",
    "logging-config.schema.json": "logging_config",
    "tracing-config.schema.json": "tracing_config",
    "controller-options.schema.json": "controller_options",
    "request-router-config.schema.json": "a deployment's request_router_config",
    "backpressure-config.schema.json": "a deployment's backpressure_config",
    "gang-scheduling-config.schema.json": "a deployment's gang_scheduling_config",
    "deployment-actor.schema.json": "a deployment's deployment_actors[]",
}
# Free-form places where settings of the user's own code go, per schema.
_USER_DATA = {
    "deployment.schema.json": ("user_config", "a setting of the deployment's own code"),
    "application.schema.json": ("args", "an argument of the application's builder"),
}
_CUTOFF = 0.75


def schema_name(schema: Mapping[str, Any]) -> str:
    """``deployment.schema.json`` for a schema document, ``""`` for a nested object."""
    uri = schema.get("$id")
    return str(uri).rsplit("/", 1)[-1] if isinstance(uri, str) else ""


@functools.cache
def _keys_by_place(documents: tuple[tuple[str, frozenset[str]], ...]) -> dict[str, list[str]]:
    places: dict[str, list[str]] = {}
    order = {name: index for index, name in enumerate(PLACES)}
    for name, keys in sorted(documents, key=lambda item: order.get(item[0], len(order))):
        if name not in PLACES:
            continue
        for key in keys:
            places.setdefault(key, []).append(name)
    return places


def index(documents: Iterable[Mapping[str, Any]]) -> tuple[tuple[str, frozenset[str]], ...]:
    """The top-level keys of each schema document (the input of :func:`hint`)."""
    return tuple(
        (schema_name(doc), frozenset(doc.get("properties", {})))
        for doc in documents
        if schema_name(doc)
    )


def hint(
    key: str,
    place: str,
    allowed: Iterable[str],
    instance: Mapping[str, Any],
    documents: tuple[tuple[str, frozenset[str]], ...],
) -> str | None:
    """What to write instead of unknown ``key`` found in an object of schema ``place``:
    ``did you mean 'x'?``, where the key belongs, or None when nothing fits."""
    if not isinstance(key, str):
        return None
    close = difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=_CUTOFF)
    if close:
        return f"did you mean {close[0]!r}?"
    places = _keys_by_place(documents)
    elsewhere = [name for name in places.get(key, []) if name != place]
    if elsewhere:
        return f"{key!r} belongs in {PLACES[elsewhere[0]]}, not here"
    other_keys = sorted(k for k, names in places.items() if any(n != place for n in names))
    close = difflib.get_close_matches(key, other_keys, n=1, cutoff=0.85)
    if close:
        where = next(name for name in places[close[0]] if name != place)
        return f"did you mean {close[0]!r}? (a key of {PLACES[where]})"
    user_data = _USER_DATA.get(place)
    if user_data is not None:
        field, what = user_data
        existing = instance.get(field)
        if isinstance(existing, Mapping) and key in existing:
            return f"did you mean {field}.{key}?"
        return f"if it is {what}, it belongs under {field!r} ({field}: {{{key}: ...}})"
    return None
