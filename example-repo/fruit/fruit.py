"""A fruit stand: three priced stands behind one market that routes orders.

POST ``{"fruit": "mango", "amount": 2}`` to the application's route and the market
answers the cost. Each stand's price comes from its ``user_config`` and can be
changed in place (``reconfigure``) without restarting replicas.
"""

from __future__ import annotations

import os
from typing import Any

from ray import serve
from ray.serve.handle import DeploymentHandle
from starlette.requests import Request


class _PricedStand:
    """Shared behaviour: a price per fruit, set from ``user_config``."""

    default_price = 1.0

    def __init__(self) -> None:
        self.price = self.default_price

    def reconfigure(self, config: dict[str, Any]) -> None:
        self.price = float(config.get("price", self.default_price))

    def check_price(self, amount: float) -> float:
        return self.price * amount


@serve.deployment(user_config={"price": 3})
class MangoStand(_PricedStand):
    default_price = 3.0


@serve.deployment(user_config={"price": 2})
class OrangeStand(_PricedStand):
    default_price = 2.0


@serve.deployment(user_config={"price": 4})
class PearStand(_PricedStand):
    default_price = 4.0


@serve.deployment
class FruitMarket:
    """Ingress: reads an order and asks the matching stand for its cost."""

    def __init__(
        self,
        mango_stand: DeploymentHandle,
        orange_stand: DeploymentHandle,
        pear_stand: DeploymentHandle,
    ) -> None:
        self.stands = {"mango": mango_stand, "orange": orange_stand, "pear": pear_stand}
        # Set through the application's runtime_env.env_vars in serve/apps/fruit.yaml.
        self.currency = os.environ.get("FRUIT_CURRENCY", "USD")

    async def check_price(self, fruit: str, amount: float) -> float:
        stand = self.stands.get(fruit)
        if stand is None:
            return -1.0
        cost: float = await stand.check_price.remote(amount)
        return cost

    async def __call__(self, request: Request) -> dict[str, Any]:
        order = await request.json()
        fruit = str(order.get("fruit", ""))
        amount = float(order.get("amount", 0))
        cost = await self.check_price(fruit, amount)
        if cost < 0:
            return {"error": f"no stand sells {fruit!r}", "known": sorted(self.stands)}
        return {"fruit": fruit, "amount": amount, "cost": cost, "currency": self.currency}


app = FruitMarket.bind(MangoStand.bind(), OrangeStand.bind(), PearStand.bind())
