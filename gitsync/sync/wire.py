"""JSON forms of the engine's records for gitsync's own API (``/api/gitsync/v1``).

The server renders with these and ``gitsync.sync.client`` parses with them, so both sides
stay in step by construction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitsync.engine.records import (
    ActivateResult,
    AppId,
    AppLive,
    DeploymentLive,
    HistoryEntry,
)
from gitsync.sync.target import LiveView


def app_live_to_json(app: AppLive) -> dict[str, Any]:
    return {
        "name": app.name,
        "route_prefix": app.route_prefix,
        "status": app.status,
        "message": app.message,
        "last_deployed_time_s": app.last_deployed_time_s,
        "deployed_app_config": app.deployed_app_config,
        "deployments": [
            {
                "name": d.name,
                "status": d.status,
                "status_trigger": d.status_trigger,
                "message": d.message,
                "deployment_config": d.deployment_config,
                "target_num_replicas": d.target_num_replicas,
                "replicas": d.replicas,
            }
            for d in app.deployments
        ],
    }


def app_live_from_json(data: Mapping[str, Any]) -> AppLive:
    return AppLive(
        name=data["name"],
        route_prefix=data["route_prefix"],
        status=data["status"],
        message=data["message"],
        last_deployed_time_s=float(data["last_deployed_time_s"]),
        deployed_app_config=dict(data["deployed_app_config"]),
        deployments=[
            DeploymentLive(
                name=d["name"],
                status=d["status"],
                status_trigger=d["status_trigger"],
                message=d["message"],
                deployment_config=dict(d["deployment_config"]),
                target_num_replicas=int(d["target_num_replicas"]),
                replicas=list(d["replicas"]),
            )
            for d in data["deployments"]
        ],
    )


def history_from_json(data: Mapping[str, Any]) -> HistoryEntry:
    return HistoryEntry(
        app=AppId(data["tenant"], data["application"], data["instance"]),
        generation=int(data["generation"]),
        session_id=int(data["session-id"]),
        time=float(data["time"]),
        kind=str(data["kind"]),
        revision=str(data["revision"]),
        meta=dict(data["meta"]),
        summary=dict(data["summary"]),
        rollback_of=data.get("rollbackOf"),
        health=str(data.get("health") or ""),
        health_message=str(data.get("healthMessage") or ""),
    )


def live_to_json(view: LiveView) -> dict[str, Any]:
    return {
        "generation": view.generation,
        "config": view.config,
        "codeDigests": view.code_digests,
        "runtime": view.runtime,
        "applications": [app_live_to_json(app) for app in view.applications],
        "history": [entry.to_json() for entry in view.history],
        "runtimeDrift": view.runtime_drift,
        "runtimeError": view.runtime_error,
        "warnings": view.warnings,
    }


def live_from_json(data: Mapping[str, Any]) -> LiveView:
    return LiveView(
        generation=int(data["generation"]),
        config=data["config"],
        code_digests=dict(data["codeDigests"]),
        applications=[app_live_from_json(app) for app in data["applications"]],
        runtime=str(data["runtime"]),
        history=[history_from_json(entry) for entry in data["history"]],
        runtime_drift=[str(line) for line in data.get("runtimeDrift") or []],
        runtime_error=data.get("runtimeError"),
        warnings=[str(line) for line in data.get("warnings") or []],
    )


def activation_to_json(result: ActivateResult) -> dict[str, Any]:
    return {
        "tenant": result.app.tenant,
        "application": result.app.application,
        "instance": result.app.instance,
        "generation": result.generation,
        "previousActiveGeneration": result.previous_active_generation,
        "checksum": result.checksum,
        "activated": result.activated,
        "configChangeActions": result.actions.to_json(),
        "log": [entry.to_json() for entry in result.log],
    }
