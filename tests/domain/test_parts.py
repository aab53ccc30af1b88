"""Parts kit selection."""

from __future__ import annotations

from datetime import date

import pytest

from functions.domain.catalog import Catalog, default_catalog
from functions.domain.diagnosis import diagnose
from functions.domain.parts import Stock, kit_options, reserve, select_kit
from schemas.orders import CauseEstimate, Diagnosis, PartSource, Urgency
from schemas.registry import Appliance, Category
from tests.factories import fault_event as event

BOSCH_PUMP = "00145787"  # supersedes 00142370, which the E18 cause lists


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return default_catalog()


def washer() -> Appliance:
    return Appliance(
        thing_name="t1",
        home_id="h1",
        manufacturer="Bosch",
        model="WAT28401GB",
        category=Category.WASHER,
        serial="s1",
        installed_on=date(2023, 1, 1),
    )


def diagnosis(code: str, probabilities: dict[str, float]) -> Diagnosis:
    return Diagnosis(
        fault_code=code,
        known_code=True,
        title="t",
        required_skill=Category.WASHER,
        urgency=Urgency.NORMAL,
        confidence=max(probabilities.values()),
        causes=[
            CauseEstimate(cause_id=c, description=c, probability=p)
            for c, p in probabilities.items()
        ],
    )


def test_given_a_drain_fault_then_the_kit_carries_the_current_pump(catalog: Catalog) -> None:
    dx = diagnose(catalog, washer(), event("E18", drain_pump_current_a=0.0))
    kit = select_kit(catalog, washer(), dx)
    assert [p.part_number for p in kit.parts] == [BOSCH_PUMP]  # superseded number followed
    assert kit.fix_probability == pytest.approx(1.0)  # other causes need no part
    assert kit.total_cost == pytest.approx(44.0)


def test_given_a_tight_budget_then_the_best_affordable_causes_are_covered(catalog: Catalog) -> None:
    # E21: brushes 24, motor 165, control module 139
    dx = diagnosis("E21", {"brushes_worn": 0.3, "motor_failed": 0.3, "board_failed": 0.4})
    kit = select_kit(catalog, washer(), dx, max_cost=200)
    assert kit.total_cost <= 200
    assert {p.part_number for p in kit.parts} == {"00154740", "11028624"}
    assert kit.fix_probability == pytest.approx(0.7)
    roomy = select_kit(catalog, washer(), dx, max_cost=400)
    assert roomy.fix_probability == pytest.approx(1.0)


def test_given_little_van_space_then_bulky_parts_are_left_behind(catalog: Catalog) -> None:
    dx = diagnosis("E21", {"brushes_worn": 0.2, "motor_failed": 0.6, "board_failed": 0.2})
    kit = select_kit(catalog, washer(), dx, van_space=2)  # the motor takes 3 units
    assert "00145454" not in {p.part_number for p in kit.parts}


def test_given_a_value_of_fix_then_unlikely_costly_parts_are_skipped(catalog: Catalog) -> None:
    dx = diagnosis("E21", {"brushes_worn": 0.9, "motor_failed": 0.05, "board_failed": 0.05})
    kit = select_kit(catalog, washer(), dx, value_of_fix=300)
    assert [p.part_number for p in kit.parts] == ["00154740"]


def test_given_stock_then_sources_and_backorder_lead_time_are_set(catalog: Catalog) -> None:
    dx = diagnosis("E21", {"brushes_worn": 0.5, "motor_failed": 0.0, "board_failed": 0.5})
    stock = Stock(van={"00154740": 1}, warehouse={}, lead_time_days={"11028624": 7})
    kit = select_kit(catalog, washer(), dx, stock)
    sources = {p.part_number: (p.source, p.lead_time_days) for p in kit.parts}
    assert sources == {"00154740": (PartSource.VAN, 0), "11028624": (PartSource.BACKORDER, 7)}
    assert kit.lead_time_days == 7
    after = reserve(stock, kit)
    assert after.van["00154740"] == 0 and stock.van["00154740"] == 1


def test_given_an_unknown_code_then_the_kit_is_empty(catalog: Catalog) -> None:
    dx = diagnose(catalog, washer(), event("E99"))
    kit = select_kit(catalog, washer(), dx)
    assert kit.parts == [] and kit.fix_probability == 0.0


def test_given_a_self_fix_code_then_a_kit_is_still_computed(catalog: Catalog) -> None:
    dx = diagnose(catalog, washer(), event("E17", inlet_pressure_bar=3.0, fill_time_s=60))
    assert dx.self_fix
    kit = select_kit(catalog, washer(), dx)
    assert [p.part_number for p in kit.parts] == ["00428210"]


def test_given_kit_options_then_every_one_fits_and_the_best_is_what_select_kit_picks(
    catalog: Catalog,
) -> None:
    dx = diagnosis("E21", {"brushes_worn": 0.3, "motor_failed": 0.3, "board_failed": 0.4})
    options = kit_options(catalog, washer(), dx, max_cost=200, van_space=6)
    assert options is not None
    assert frozenset() in {o.parts for o in options.options}  # carrying nothing is an option
    assert all(o.cost <= 200 for o in options.options)
    for value_of_fix in (None, 50.0, 300.0, 5000.0):
        chosen = options.selection(options.best(value_of_fix))
        picked = select_kit(catalog, washer(), dx, max_cost=200, value_of_fix=value_of_fix)
        assert chosen == picked
    assert options.best(1.0).parts == frozenset()  # a fix worth 1 pays for no part


def test_given_an_unknown_code_then_there_are_no_kit_options(catalog: Catalog) -> None:
    assert kit_options(catalog, washer(), diagnose(catalog, washer(), event("E99"))) is None
