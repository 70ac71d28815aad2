"""A small calculator: ``Adder`` and ``Multiplier`` behind a ``Calculator`` ingress.

POST ``{"op": "add", "value": 5}`` (or ``"mul"``) and the ingress answers the result.
The amount each worker adds or multiplies by comes from its ``user_config``.
"""

from __future__ import annotations

from typing import Any

from ray import serve
from ray.serve.handle import DeploymentHandle
from starlette.requests import Request


@serve.deployment(user_config={"increment": 1})
class Adder:
    def __init__(self) -> None:
        self.increment = 1.0

    def reconfigure(self, config: dict[str, Any]) -> None:
        self.increment = float(config.get("increment", 1))

    def apply(self, value: float) -> float:
        return value + self.increment


@serve.deployment(user_config={"factor": 2})
class Multiplier:
    def __init__(self) -> None:
        self.factor = 2.0

    def reconfigure(self, config: dict[str, Any]) -> None:
        self.factor = float(config.get("factor", 2))

    def apply(self, value: float) -> float:
        return value * self.factor


@serve.deployment
class Calculator:
    """Ingress: dispatches ``add`` to the Adder and ``mul`` to the Multiplier."""

    def __init__(self, adder: DeploymentHandle, multiplier: DeploymentHandle) -> None:
        self.workers = {"add": adder, "mul": multiplier}

    async def __call__(self, request: Request) -> dict[str, Any]:
        body = await request.json()
        op = str(body.get("op", ""))
        value = float(body.get("value", 0))
        worker = self.workers.get(op)
        if worker is None:
            return {"error": f"unknown op {op!r}", "known": sorted(self.workers)}
        result: float = await worker.apply.remote(value)
        return {"op": op, "value": value, "result": result}


app = Calculator.bind(Adder.bind(), Multiplier.bind())
