"""The demo's printed report: orders, backorders and one explained diagnosis."""

from __future__ import annotations

import io

from infra.demo import RunResult, print_report
from schemas.orders import CauseEstimate, PartSelection, PartSource, SelectedPart
from tests.factories import a_diagnosis, an_order


def test_the_report_shows_backorders_and_explains_an_order_with_evidence() -> None:
    # Given an order with evidence and a backordered part, and one without evidence
    explained = an_order(
        order_id="ord_why",
        diagnosis=a_diagnosis(
            causes=[
                CauseEstimate(
                    cause_id="pump",
                    description="Drain pump failed",
                    probability=0.9,
                    evidence=["pump draws no current: x6"],
                )
            ],
            explanation="Most likely: Drain pump failed (90%), because pump draws no current.",
        ),
        parts=PartSelection(
            parts=[
                SelectedPart(
                    part_number="P1",
                    description="pump",
                    for_causes=["pump"],
                    unit_price=40,
                    source=PartSource.BACKORDER,
                    lead_time_days=5,
                )
            ],
            fix_probability=0.9,
        ),
    )
    plain = an_order(order_id="ord_plain")
    out = io.StringIO()
    # When the report is printed
    print_report(RunResult(records=[], orders=[plain, explained], rejections=[]), out)
    # Then the backorder shows its lead time and the explained order says why
    text = out.getvalue()
    assert "P1 (backorder 5 d)" in text
    assert "Why ord_why (E18):" in text
    assert "Most likely: Drain pump failed (90%), because pump draws no current." in text
    assert "kit P(first-time fix) 90%" in text
