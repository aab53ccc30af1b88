"""Pre-select the parts kit: the set of parts that most likely lets one visit fix the fault.

P(fix) = sum of the posterior of causes whose parts are all in the kit (causes needing no
part are always covered). The search is exact over subsets of causes: codes have 2-4.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from functions.domain.catalog import Catalog
from functions.domain.catalog.format import Part, resolve_in_family
from schemas.orders import Diagnosis, PartSelection, PartSource, SelectedPart
from schemas.registry import Appliance

DEFAULT_MAX_COST = 250.0
DEFAULT_VAN_SPACE = 6
DEFAULT_BACKORDER_DAYS = 5
# What a first-time fix is worth (a second truck roll and a lost day avoided): the price at
# which an extra part is worth carrying. `faultline bench diagnosis` shows the trade-off.
VALUE_OF_FIRST_TIME_FIX = 300.0
# Exact search is 2^n; beyond this many part-needing causes only the likeliest are considered.
MAX_SEARCH_CAUSES = 12


@dataclass(frozen=True)
class Stock:
    """Availability per current part number, as the DAL read it. Domain code does no I/O."""

    warehouse: Mapping[str, int] = field(default_factory=dict)
    van: Mapping[str, int] = field(default_factory=dict)
    lead_time_days: Mapping[str, int] = field(default_factory=dict)
    default_lead_time_days: int = DEFAULT_BACKORDER_DAYS

    def source(self, part_number: str) -> tuple[PartSource, int]:
        if self.van.get(part_number, 0) > 0:
            return PartSource.VAN, 0
        if self.warehouse.get(part_number, 0) > 0:
            return PartSource.WAREHOUSE, 0
        return PartSource.BACKORDER, self.lead_time_days.get(
            part_number, self.default_lead_time_days
        )


@dataclass(frozen=True)
class KitOption:
    """One feasible kit: the parts for a subset of the causes, within the caps."""

    parts: frozenset[str]
    cost: float
    fix_probability: float
    lead_time_days: int

    def score(self, value_of_fix: float | None) -> tuple[float, float, int]:
        gain = self.fix_probability
        if value_of_fix:
            gain -= self.cost / value_of_fix
        return (round(gain, 9), -self.cost, -self.lead_time_days)


@dataclass(frozen=True)
class KitOptions:
    """Every feasible kit for one diagnosis; choosing among them needs no catalog lookups."""

    options: tuple[KitOption, ...]
    needs: Mapping[str, frozenset[str]]
    current: Mapping[str, Part]
    stock: Stock

    def best(self, value_of_fix: float | None) -> KitOption:
        """The option maximising P(fix) - cost / value_of_fix (P(fix) alone when None)."""
        return max(self.options, key=lambda option: option.score(value_of_fix))

    def selection(self, option: KitOption) -> PartSelection:
        parts = [
            SelectedPart(
                part_number=pn,
                description=self.current[pn].description,
                for_causes=[c for c, p in self.needs.items() if pn in p],
                unit_price=self.current[pn].price,
            )
            for pn in sorted(option.parts)
        ]
        return with_sources(
            PartSelection(
                parts=parts,
                total_cost=round(sum(p.unit_price * p.quantity for p in parts), 2),
                fix_probability=min(1.0, option.fix_probability),
            ),
            self.stock,
        )


def kit_options(
    catalog: Catalog,
    appliance: Appliance,
    diagnosis: Diagnosis,
    stock: Stock | None = None,
    *,
    max_cost: float = DEFAULT_MAX_COST,
    van_space: int = DEFAULT_VAN_SPACE,
) -> KitOptions | None:
    """The kits within `max_cost` and `van_space`; None when the fault is not in the catalog.

    Without `stock` every part counts as in the warehouse.
    """
    family = catalog.family(appliance.manufacturer, appliance.model)
    entry = family.code(diagnosis.fault_code) if family else None
    if family is None or entry is None or not diagnosis.known_code:
        return None
    stock = stock or Stock(warehouse=_everything(family.parts))
    posterior = {c.cause_id: c.probability for c in diagnosis.causes}

    needs: dict[str, frozenset[str]] = {}
    current: dict[str, Part] = {}
    for cause in entry.causes:
        resolved = [resolve_in_family(family, pn) for pn in cause.parts]
        if any(p is None for p in resolved):
            continue  # validated catalogs never get here; an uncoverable cause just isn't kitted
        needs[cause.cause_id] = frozenset(p.part_number for p in resolved if p is not None)
        current.update({p.part_number: p for p in resolved if p is not None})

    candidates = sorted(
        (c for c, parts in needs.items() if parts and posterior.get(c, 0.0) > 0),
        key=lambda c: -posterior.get(c, 0.0),
    )[:MAX_SEARCH_CAUSES]
    options: dict[frozenset[str], KitOption] = {}
    for size in range(len(candidates) + 1):
        for chosen in itertools.combinations(candidates, size):
            kit = frozenset().union(*(needs[c] for c in chosen))
            if kit in options:
                continue
            cost = sum(current[p].price for p in kit)
            space = sum(current[p].van_space for p in kit)
            if cost > max_cost + 1e-9 or space > van_space:
                continue
            options[kit] = KitOption(
                parts=kit,
                cost=cost,
                fix_probability=sum(
                    posterior.get(c, 0.0) for c, parts in needs.items() if parts <= kit
                ),
                lead_time_days=max((stock.source(p)[1] for p in kit), default=0),
            )
    return KitOptions(tuple(options.values()), needs, current, stock)


def select_kit(
    catalog: Catalog,
    appliance: Appliance,
    diagnosis: Diagnosis,
    stock: Stock | None = None,
    *,
    max_cost: float = DEFAULT_MAX_COST,
    van_space: int = DEFAULT_VAN_SPACE,
    value_of_fix: float | None = None,
) -> PartSelection:
    """The kit maximising P(fix) within `max_cost` and `van_space`.

    `value_of_fix` (money a first-time fix saves: a second truck roll and a lost day) makes
    the choice cost-aware: it maximises P(fix) - cost / value_of_fix, so a part that buys
    little probability for its price is left behind. None maximises P(fix) alone; ties go
    to the cheaper, then the sooner kit.
    """
    options = kit_options(
        catalog, appliance, diagnosis, stock, max_cost=max_cost, van_space=van_space
    )
    if options is None:
        return PartSelection()
    return options.selection(options.best(value_of_fix))


def with_sources(selection: PartSelection, stock: Stock) -> PartSelection:
    """The same parts, each sourced from `stock` (van, warehouse or backorder with its lead)."""
    parts = []
    for part in selection.parts:
        source, lead = stock.source(part.part_number)
        parts.append(part.model_copy(update={"source": source, "lead_time_days": lead}))
    return selection.model_copy(
        update={
            "parts": parts,
            "lead_time_days": max((p.lead_time_days for p in parts), default=0),
        }
    )


def reserve(stock: Stock, selection: PartSelection) -> Stock:
    """The stock after taking the selection's parts from where they were sourced (pure)."""
    van, warehouse = dict(stock.van), dict(stock.warehouse)
    for part in selection.parts:
        if part.source is PartSource.VAN:
            van[part.part_number] = van.get(part.part_number, 0) - part.quantity
        elif part.source is PartSource.WAREHOUSE:
            warehouse[part.part_number] = warehouse.get(part.part_number, 0) - part.quantity
    return replace(stock, van=van, warehouse=warehouse)


def _everything(parts: list[Part]) -> dict[str, int]:
    return {p.part_number: 1 for p in parts}
