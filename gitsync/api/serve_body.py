"""What the Serve REST API accepts, before anything reaches the engine.

A ``PUT /api/serve/applications/`` body is one whole ``ServeDeploySchema`` document,
validated as one: ``applications`` is required and must be a list (Ray's pydantic
model says so). It never goes through the file loader's reading of a mapping without
application keys as an "instance options" file: ``{"application": [...]}`` is a typo
to refuse, not a request to remove every application.

The legacy V1 route (``/api/serve/deployments/``) takes one ``ServeApplicationSchema``
as Ray 2.0-2.x did (see ``docs/serve-rest.md`` for the shapes and where they come from):
no ``name``, and no mixing with a multi-application config in the same Serve instance.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from gitsync.config.issues import Issue
from gitsync.engine.records import JsonDict
from gitsync.errors import BadRequest, InvalidConfig

API_TYPES = ("imperative", "declarative")
#: The file a V1 PUT is stored as inside its package: its presence in the active
#: package is what marks the unit as deployed through the single-application API.
V1_CONFIG_FILE = "serve-api-v1.yaml"

# Ray's controller messages (serve/controller.py, Ray 2.4-2.x) for mixing the two APIs.
MULTI_APP_MIGRATION = (
    "Please see the documentation for ServeDeploySchema for more details on multi-app config files."
)
V1_NAME_REFUSED = (
    "Specifying the name of an application is only allowed for apps that are listed as "
    "part of a multi-app config file. " + MULTI_APP_MIGRATION
)
V1_AFTER_V2 = (
    "You are trying to deploy a single-application config, however a multi-application "
    "config has been deployed to the current Serve instance already. Mixing single-app "
    "and multi-app is not allowed. Please either redeploy using the multi-application "
    "config format `ServeDeploySchema`, or shutdown and restart Serve to submit a "
    "single-app config of format `ServeApplicationSchema`. If you are using the REST API, "
    "you can submit a single-app config to the single-app API endpoint "
    "`/api/serve/deployments/`."
)
V2_AFTER_V1 = (
    "You are trying to deploy a multi-application config, however a single-application "
    "config has been deployed to the current Serve instance already. Mixing single-app "
    "and multi-app is not allowed. Please either redeploy using the single-application "
    "config format `ServeApplicationSchema`, or shutdown and restart Serve to submit a "
    "multi-app config of format `ServeDeploySchema`. If you are using the REST API, you "
    "can submit a multi-app config to the the multi-app API endpoint "
    "`/api/serve/applications/`."
)


def api_type(raw: str | None) -> str | None:
    """``?api_type=``: case-insensitive as in Ray; the message quotes what was sent."""
    if raw is None or raw == "":
        return None
    lowered = raw.lower()
    if lowered not in API_TYPES:
        raise BadRequest(
            f"Invalid 'api_type' value: '{raw}'. Must be one of: {', '.join(API_TYPES)}"
        )
    return lowered


def _issue(path: tuple[str, ...], message: str, rule: str) -> Issue:
    return Issue("", 0, 0, path, "error", message, rule)


def check_deploy_document(body: Mapping[str, Any]) -> None:
    """Ray's ``ServeDeploySchema`` requires ``applications``, a list; InvalidConfig when
    it is missing (with a did-you-mean for a near miss) or not a list."""
    if "applications" not in body:
        message = "Field required"
        near = difflib.get_close_matches("applications", [str(k) for k in body], n=1)
        if near:
            message += f" (the body has '{near[0]}': did you mean 'applications'?)"
        raise InvalidConfig([_issue(("applications",), message, "required")])
    if not isinstance(body["applications"], list):
        kind = type(body["applications"]).__name__
        raise InvalidConfig(
            [_issue(("applications",), f"Input should be a valid list, got {kind}", "type")]
        )


def check_v1_document(body: Mapping[str, Any]) -> None:
    """A V1 body may not name its application (Ray refused it with a 400)."""
    if "name" in body:
        raise BadRequest(V1_NAME_REFUSED)


def v1_to_deploy_config(body: Mapping[str, Any]) -> JsonDict:
    """A V1 ``ServeApplicationSchema`` body as a one-application deploy config: its
    ``host``/``port`` become ``http_options``; no ``name`` is added (the application is
    ``default`` by the schema's default, and the V1 GET gives back what was PUT)."""
    app = {key: value for key, value in body.items() if key not in ("host", "port")}
    config: JsonDict = {"applications": [app]}
    http = {key: body[key] for key in ("host", "port") if key in body}
    if http:
        config["http_options"] = http
    return config
