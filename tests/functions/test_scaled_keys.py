"""Keys that hold at scale, against the emulator: the sharded work queue, sharded rejections,
technicians per cell and skill."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from chalice.test import Client

from functions.api.app import app
from functions.common.wiring import dependencies
from functions.dal.keys import QUEUE_SHARDS, REJECTION_SHARDS, shard_of
from schemas.orders import OrderStatus, Rejection, RejectionReason
from schemas.registry import Category, GeoPoint
from tests.factories import NOW, a_technician, an_order

# Later than anything other tests write (they use the clock), so ours are the newest.
LATER = datetime(2100, 1, 1, tzinfo=UTC)


def test_open_orders_spread_over_every_shard_are_listed_newest_first(aws_stack) -> None:
    # Given more awaiting orders than shards, each changed at its own minute
    orders = [
        an_order(
            order_id=f"ord_q{n:03d}",
            thing_name=f"washer-q{n}",
            event_ids=[f"evt-q{n}"],
            home_id="home-q",
            updated_at=LATER + timedelta(minutes=n),
        )
        for n in range(3 * QUEUE_SHARDS)
    ]
    assert len({shard_of(o.order_id, QUEUE_SHARDS) for o in orders}) > QUEUE_SHARDS // 2
    table = dependencies().orders
    for order in orders:
        table.open_order(order, settled=True)
    # When the operator lists the newest ten
    listed = [o.order_id for o in table.list_by_status(OrderStatus.AWAITING_APPROVAL, limit=10)]
    # Then they are the ten newest, newest first, whichever shard holds them
    ours = [o for o in listed if o.startswith("ord_q")]
    assert ours == [o.order_id for o in reversed(orders)][: len(ours)]
    assert len(ours) == 10


def test_a_closed_order_leaves_the_work_queue_but_stays_in_its_home(aws_stack) -> None:
    table = dependencies().orders
    order = an_order(
        order_id="ord_closing",
        home_id="home-closing",
        thing_name="washer-closing",
        event_ids=["evt-closing"],
    )
    table.open_order(order, settled=True)
    closed = order.model_copy(update={"status": OrderStatus.DECLINED, "version": 2})
    table.save_order(closed, expected_version=1)
    awaiting = table.list_by_status(OrderStatus.AWAITING_APPROVAL, limit=1000)
    assert "ord_closing" not in {o.order_id for o in awaiting}
    assert [o.status for o in table.list_by_home("home-closing")] == [OrderStatus.DECLINED]
    with pytest.raises(ValueError, match="declined orders are not in the work queue"):
        table.list_by_status(OrderStatus.DECLINED)


def test_the_api_answers_a_closed_status_with_the_statuses_it_lists(identity) -> None:
    operator = identity.user("operator")
    with Client(app) as client:
        response = client.http.get(
            "/orders?status=completed", headers={"Authorization": operator.authorization}
        )
    assert response.status_code == 400
    message = response.json_body["message"]
    assert "completed orders are closed" in message
    assert "awaiting_approval, approved, offered, dispatched, en_route, on_site" in message
    assert "/homes/{home_id}/orders" in message


def test_a_days_rejections_are_listed_newest_first_across_shards(aws_stack) -> None:
    rejections = [
        Rejection(
            rejection_id=f"rej_shard{n:03d}",
            received_at=NOW + timedelta(seconds=n),
            thing_name="washer-bad",
            topic="dt/repair/washer-bad/fault",
            reason=RejectionReason.MALFORMED_JSON,
            detail="not JSON",
        )
        for n in range(4 * REJECTION_SHARDS)
    ]
    assert len({shard_of(r.rejection_id, REJECTION_SHARDS) for r in rejections}) > 1
    table = dependencies().rejections
    for rejection in rejections:
        table.record(rejection)
    listed = table.list_day(NOW.date(), limit=5)
    assert [r.rejection_id for r in listed] == [r.rejection_id for r in reversed(rejections)][:5]


def test_a_cell_lists_only_the_technicians_of_the_skill_asked_for(aws_stack) -> None:
    place = GeoPoint(lat=-61.5, lon=150.5)  # far from every other test's technicians
    table = dependencies().technicians
    table.put(a_technician(technician_id="tech-washers", skills=[Category.WASHER], home_base=place))
    table.put(
        a_technician(
            technician_id="tech-both", skills=[Category.WASHER, Category.BOILER], home_base=place
        )
    )
    washers = {t.technician_id for t in table.candidates_near(place, Category.WASHER)}
    boilers = {t.technician_id for t in table.candidates_near(place, Category.BOILER)}
    assert washers == {"tech-washers", "tech-both"}
    assert boilers == {"tech-both"}
