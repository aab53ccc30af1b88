"""What the end-to-end tests share: the seeded fleet of the module's local stack."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from functions.domain.catalog import default_catalog
from infra.stack import LocalStack
from iot.faults import sim_appliances
from iot.simulator import Fleet


@pytest.fixture
def fleet(stack: LocalStack, request: pytest.FixtureRequest) -> Iterator[Fleet]:
    """Every seeded appliance of the module's `stack`, connected to its broker over plain
    MQTT; the module's FLEET_SEED (default 11) seeds what they publish."""
    assert stack.broker is not None and stack.seed_data is not None
    with Fleet(
        stack.broker.host,
        stack.broker.port,
        sim_appliances(stack.seed_data.appliances, default_catalog()),
        seed=getattr(request.module, "FLEET_SEED", 11),
    ) as running:
        yield running
