"""Seed data for the local stack: homes with appliances from the catalog, technicians and
stock, and a user of the pool for each of them (and an operator) with what they own.

Deterministic for a given seed, so a demo or a test can predict who gets dispatched.
"""

from __future__ import annotations

import random
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, time, timedelta

import boto3

from functions.dal.accounts import AccountsTable
from functions.dal.registry import RegistryTable
from functions.dal.stock import WAREHOUSE, StockTable
from functions.dal.technicians import TechniciansTable
from functions.domain.catalog import Catalog
from infra.cognito import UserPoolIds, create_user
from schemas.registry import (
    Appliance,
    ApprovalPolicy,
    Category,
    GeoPoint,
    Home,
    Technician,
    WorkingHours,
)

CITY = GeoPoint(lat=52.0907, lon=5.1214)  # Utrecht: homes and technicians around it
HOME_SPREAD_KM = 20.0
CERTIFICATIONS_BY_CATEGORY = {
    Category.BOILER: ["gas_safe"],
    Category.OVEN: ["gas_safe", "electrical"],
    Category.REFRIGERATOR: ["refrigerant_handling", "electrical"],
    Category.HEAT_PUMP: ["refrigerant_handling", "electrical"],
    Category.WATER_HEATER: ["gas_safe", "electrical"],
}
FIRST_NAMES = [
    "Anouk",
    "Bram",
    "Daan",
    "Eva",
    "Fenna",
    "Joris",
    "Lotte",
    "Milan",
    "Noor",
    "Pieter",
    "Sanne",
    "Thijs",
    "Vera",
    "Wouter",
    "Yara",
    "Zeger",
]


#: Every seeded user's password: the local stack is for one developer's machine. It meets
#: the template's password policy (12+ characters, upper, lower, digit, symbol).
LOCAL_PASSWORD = "Faultline-local-2026"


@dataclass(frozen=True)
class SeedUser:
    """A user to seed: the pool's username and group, and what the user owns."""

    username: str
    group: str
    homes: tuple[str, ...] = ()
    technician_id: str | None = None
    manufacturer: str | None = None
    password: str = LOCAL_PASSWORD
    user_id: str | None = None  # the pool's sub, once created


@dataclass(frozen=True)
class SeedData:
    homes: list[Home]
    appliances: list[Appliance]
    technicians: list[Technician]


def _near(rng: random.Random, center: GeoPoint, spread_km: float) -> GeoPoint:
    return GeoPoint(
        lat=round(center.lat + rng.uniform(-1, 1) * spread_km / 111.0, 5),
        lon=round(center.lon + rng.uniform(-1, 1) * spread_km / 68.0, 5),
    )


def build(catalog: Catalog, *, homes: int = 40, technicians: int = 16, seed: int = 1) -> SeedData:
    rng = random.Random(seed)
    models = catalog.models()
    if not models:
        raise ValueError("the catalog has no models to seed appliances from")
    today = date(2026, 1, 1)
    home_list: list[Home] = []
    appliances: list[Appliance] = []
    for h in range(homes):
        # Two homes in three let the policy approve repairs; the rest approve each ticket.
        auto = h % 3 != 2
        home = Home(
            home_id=f"home-{h:03d}",
            location=_near(rng, CITY, HOME_SPREAD_KM),
            timezone="Europe/Amsterdam",
            policy=ApprovalPolicy(auto_approve=auto, max_auto_cost=400.0 if auto else None),
        )
        home_list.append(home)
        for a in range(1 + h % 3):
            info = models[(h * 3 + a) % len(models)]
            installed = today - timedelta(days=rng.randint(30, 3000))
            appliances.append(
                Appliance(
                    thing_name=f"{info.category.value.replace('_', '-')}-{h:03d}-{a}",
                    home_id=home.home_id,
                    manufacturer=info.manufacturer,
                    model=info.model,
                    category=info.category,
                    serial=f"SN{rng.randint(10**7, 10**8 - 1)}",
                    installed_on=installed,
                    warranty_until=installed + timedelta(days=730),
                )
            )
    categories = list(Category)
    manufacturers = sorted({m.manufacturer for m in models})
    techs: list[Technician] = []
    for t in range(technicians):
        skills = [categories[t % len(categories)], categories[(t + 3) % len(categories)]]
        if t % 4 == 0:
            skills.append(categories[(t + 5) % len(categories)])
        certs = sorted({c for s in skills for c in CERTIFICATIONS_BY_CATEGORY.get(s, [])})
        techs.append(
            Technician(
                technician_id=f"tech-{t:02d}",
                name=f"{FIRST_NAMES[t % len(FIRST_NAMES)]} {chr(65 + t)}.",
                skills=sorted(set(skills)),
                # Every third technician is a brand specialist; the others service all brands.
                brands=[manufacturers[t % len(manufacturers)]] if t % 3 == 1 else [],
                certifications=certs,
                home_base=_near(rng, CITY, 12.0),
                service_radius_km=rng.choice([30.0, 35.0, 40.0]),
                working_hours=WorkingHours(
                    weekdays=[0, 1, 2, 3, 4, 5, 6] if t % 2 else [0, 1, 2, 3, 4, 5],
                    start=time(7, 0),
                    end=time(22, 0),
                ),
                rating=round(rng.uniform(3.8, 5.0), 1),
                max_active_orders=rng.choice([20, 30, 40]),
                # Every third takes emergencies out of hours (night and the day off).
                on_call=t % 3 == 0,
                # Most accept offers by hand on their device; one in five at once.
                auto_accept_offers=t % 5 == 4,
            )
        )
    return SeedData(homes=home_list, appliances=appliances, technicians=techs)


def stock_levels(
    catalog: Catalog, data: SeedData, seed: int = 1
) -> list[tuple[str, str, int, int | None]]:
    """(part number, location, quantity, lead time) for the warehouse and the vans.

    Most parts are in the warehouse; one in eight is out (with a supplier lead time). Each
    van carries a few parts of the families its technician services.
    """
    rng = random.Random(seed)
    levels: list[tuple[str, str, int, int | None]] = []
    parts_by_category: dict[str, list[str]] = {}
    for name in catalog.manufacturers:
        maker = catalog.manufacturer(name)
        for family in maker.families if maker else []:
            for part in family.parts:
                parts_by_category.setdefault(family.category, []).append(part.part_number)
                quantity = 0 if rng.random() < 0.125 else rng.randint(2, 25)
                levels.append((part.part_number, WAREHOUSE, quantity, rng.choice([3, 5, 10])))
    for tech in data.technicians:
        pool = sorted({p for s in tech.skills for p in parts_by_category.get(s.value, [])})
        for part_number in rng.sample(pool, min(len(pool), 6)):
            levels.append((part_number, tech.technician_id, rng.randint(1, 3), None))
    return levels


def load(
    data: SeedData,
    catalog: Catalog,
    registry: RegistryTable,
    technicians: TechniciansTable,
    stock: StockTable,
) -> None:
    for home in data.homes:
        registry.put_home(home, [a for a in data.appliances if a.home_id == home.home_id])
    for tech in data.technicians:
        technicians.put(tech)
    for part_number, location, quantity, lead_time in stock_levels(catalog, data):
        stock.put(part_number, location, quantity, lead_time)


def users(data: SeedData) -> list[SeedUser]:
    """One homeowner per home, one user per technician and per manufacturer of the seeded
    appliances, and an operator."""
    manufacturers = sorted({appliance.manufacturer for appliance in data.appliances})
    return [
        *(SeedUser(f"owner-{h.home_id}", "homeowner", homes=(h.home_id,)) for h in data.homes),
        *(
            SeedUser(f"tech-{t.technician_id}", "technician", technician_id=t.technician_id)
            for t in data.technicians
        ),
        *(SeedUser(f"maker-{_slug(m)}", "manufacturer", manufacturer=m) for m in manufacturers),
        SeedUser("operator", "operator"),
    ]


def load_users(
    planned: list[SeedUser], session: boto3.Session, pool: UserPoolIds, accounts: AccountsTable
) -> dict[str, SeedUser]:
    """Create the users in the pool and write what they own; username -> user (with sub)."""

    def load(user: SeedUser) -> SeedUser:
        user_id = create_user(session, pool, user.username, user.password, user.group)
        for home_id in user.homes:
            accounts.grant_home(user_id, home_id)
        if user.technician_id is not None:
            accounts.grant_technician(user_id, user.technician_id)
        if user.manufacturer is not None:
            accounts.grant_manufacturer(user_id, user.manufacturer)
        return replace(user, user_id=user_id)

    # A few at a time: each user is four or five requests, and the stack waits for them all.
    with ThreadPoolExecutor(max_workers=8) as workers:
        return {user.username: user for user in workers.map(load, planned)}


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
