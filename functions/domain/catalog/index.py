"""The catalog index: every manufacturer's file loaded, validated and looked up by
manufacturer, model and fault code."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from functions.domain.catalog.format import (
    CATALOG_SCHEMA,
    CatalogIssue,
    CodeEntry,
    ManufacturerCatalog,
    ModelFamily,
    TelemetrySpec,
    read_file,
)
from functions.domain.catalog.telemetry import CATALOG_DIR, TELEMETRY_FILE, load_telemetry
from functions.domain.catalog.validation import manufacturer_issues
from functions.domain.errors import CatalogError
from schemas.registry import Category


@dataclass(frozen=True)
class ModelInfo:
    """One appliance model the catalog knows, and the fault codes it can report."""

    manufacturer: str
    model: str
    family: str
    category: Category
    codes: tuple[str, ...]


class Catalog:
    """All manufacturers' catalogs, indexed for lookups by manufacturer and model."""

    def __init__(
        self,
        manufacturers: Iterable[ManufacturerCatalog],
        telemetry: Mapping[str, TelemetrySpec],
    ) -> None:
        self._by_maker: dict[str, ManufacturerCatalog] = {}
        self.telemetry: dict[str, TelemetrySpec] = dict(telemetry)
        for maker in manufacturers:
            self._by_maker[maker.manufacturer.strip().lower()] = maker
            self.telemetry.update(maker.telemetry)

    @property
    def manufacturers(self) -> list[str]:
        return [m.manufacturer for m in self._by_maker.values()]

    def manufacturer(self, name: str) -> ManufacturerCatalog | None:
        return self._by_maker.get(name.strip().lower())

    def family(self, manufacturer: str, model: str) -> ModelFamily | None:
        maker = self.manufacturer(manufacturer)
        if maker is None:
            return None
        return next((f for f in maker.families if f.matches(model)), None)

    def find_model(self, manufacturer: str, model: str) -> ModelInfo | None:
        maker = self.manufacturer(manufacturer)
        fam = self.family(manufacturer, model)
        if maker is None or fam is None:
            return None
        return _model_info(maker, fam, model.strip())

    def code(self, manufacturer: str, model: str, fault_code: str) -> CodeEntry | None:
        fam = self.family(manufacturer, model)
        return fam.code(fault_code) if fam else None

    def models(self) -> list[ModelInfo]:
        """Every explicitly listed model (patterns cannot be enumerated), for seeding fleets."""
        return [
            _model_info(maker, fam, model)
            for maker in self._by_maker.values()
            for fam in maker.families
            for model in fam.models
        ]

    def telemetry_spec(self, name: str) -> TelemetrySpec | None:
        return self.telemetry.get(name)


def _model_info(maker: ManufacturerCatalog, fam: ModelFamily, model: str) -> ModelInfo:
    return ModelInfo(
        manufacturer=maker.manufacturer,
        model=model,
        family=fam.family,
        category=Category(fam.category),
        codes=tuple(c.code for c in fam.codes),
    )


def catalog_files(directory: Path = CATALOG_DIR) -> list[Path]:
    """The manufacturer files in `directory` (every JSON file but the telemetry file)."""
    return sorted(p for p in directory.glob("*.json") if p.name != TELEMETRY_FILE.name)


def load_catalog(
    paths: Iterable[Path] | None = None, telemetry_file: Path = TELEMETRY_FILE
) -> Catalog:
    """Load and validate catalog files (all shipped files when None) with the telemetry they
    write rules on; all-or-nothing."""
    files = catalog_files() if paths is None else [Path(p) for p in paths]
    telemetry = load_telemetry(telemetry_file)
    loaded: list[ManufacturerCatalog] = []
    issues: list[CatalogIssue] = []
    owners: dict[str, str] = {}
    for path in files:
        cat, parse_issues = read_file(path, ManufacturerCatalog, CATALOG_SCHEMA)
        issues.extend(parse_issues)
        if cat is None:
            continue
        issues.extend(manufacturer_issues(path.name, cat, telemetry))
        key = cat.manufacturer.strip().lower()
        if key in owners:
            msg = f"manufacturer {cat.manufacturer} already defined in {owners[key]}"
            issues.append(
                CatalogIssue(path.name, None, "manufacturer", msg, "duplicate_manufacturer")
            )
        owners[key] = path.name
        loaded.append(cat)
    if issues:
        raise CatalogError(issues)
    return Catalog(loaded, telemetry)


@functools.cache
def default_catalog() -> Catalog:
    """The shipped catalog, loaded once per process (a Lambda container keeps it warm)."""
    return load_catalog(None)
