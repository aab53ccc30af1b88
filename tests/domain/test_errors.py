"""The write conflicts: one type per failed condition, each carrying what it names."""

from __future__ import annotations

import pytest

from functions.domain.errors import (
    DuplicateEvent,
    ItemBusy,
    OpenOrderExists,
    OutOfStock,
    StaleOrder,
    TechnicianFullyBooked,
    WriteConflict,
)


@pytest.mark.parametrize(
    "error",
    [
        StaleOrder("ord_1"),
        DuplicateEvent("ord_1", settled=True),
        OpenOrderExists("ord_1"),
        TechnicianFullyBooked("tech-1"),
        OutOfStock("P-1", "WAREHOUSE", wanted=2, available=1),
        ItemBusy("technician tech-1"),
    ],
)
def test_every_conflict_is_a_write_conflict(error: Exception) -> None:
    assert isinstance(error, WriteConflict)


def test_out_of_stock_names_the_part_and_the_shortfall() -> None:
    error = OutOfStock("P-1", "van of tech-1", wanted=2, available=1)
    assert (error.part_number, error.location, error.wanted, error.available) == (
        "P-1",
        "van of tech-1",
        2,
        1,
    )
    assert "P-1" in str(error) and "van of tech-1" in str(error)


def test_the_errors_carry_the_ids_callers_act_on() -> None:
    assert DuplicateEvent("ord_1", settled=False).settled is False
    assert OpenOrderExists("ord_2").order_id == "ord_2"
    assert TechnicianFullyBooked("tech-1").technician_id == "tech-1"
    assert str(StaleOrder("ord_3", "changed since v2")) == "order ord_3 changed since v2"
