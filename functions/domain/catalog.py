"""The fault-code knowledge base: `catalog/1` files (one per manufacturer), loader and validator.

A file describes one manufacturer: model families (which models, which category), the parts
of each family (with supersession), and per fault code the causes with prior probabilities,
the parts each cause needs, and telemetry rules that shift the odds between causes.

The format grows by adding optional fields with defaults (old files stay valid); a breaking
change gets a new `schema` value (`catalog/2`). Free-form vendor data goes into `meta`.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from schemas.orders import Urgency
from schemas.registry import Category

CATALOG_DIR = Path(__file__).resolve().parent.parent / "catalog_data"
CATALOG_SCHEMA = "catalog/1"
PRIOR_SUM_TOLERANCE = 0.01

KNOWN_CERTIFICATIONS = frozenset(
    {"refrigerant_handling", "gas_safe", "electrical", "unvented_hot_water", "water_regulations"}
)

Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
CodeStr = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,16}$")]
PartNumber = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._/-]{1,40}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=600)]
LikelihoodRatio = Annotated[float, Field(gt=0, le=100)]


class _Strict(BaseModel):
    # Typos in a hand-written catalog must fail loudly, not be silently dropped.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class TelemetrySpec(_Strict):
    """What a telemetry reading must look like to count as evidence."""

    kind: Literal["number", "bool", "text"] = "number"
    min: float | None = None
    max: float | None = None
    unit: str = ""


def _num(kind_min: float, kind_max: float, unit: str) -> TelemetrySpec:
    return TelemetrySpec(kind="number", min=kind_min, max=kind_max, unit=unit)


_TEMP = _num(-50, 150, "°C")
_CURRENT = _num(0, 50, "A")
_RPM = _num(0, 20000, "rpm")

# Physically possible ranges: a reading outside is a broken sensor or a bad payload, not evidence.
# A catalog file may add names in its `telemetry` block.
TELEMETRY_RANGES: dict[str, TelemetrySpec] = {
    "drain_pump_current_a": _CURRENT,
    "motor_current_a": _CURRENT,
    "compressor_current_a": _CURRENT,
    "heater_current_a": _CURRENT,
    "drain_time_s": _num(0, 7200, "s"),
    "fill_time_s": _num(0, 7200, "s"),
    "inlet_pressure_bar": _num(0, 16, "bar"),
    "water_pressure_bar": _num(0, 10, "bar"),
    "water_level_mm": _num(0, 1000, "mm"),
    "wash_temp_c": _TEMP,
    "heater_resistance_ohm": _num(0, 1_000_000, "ohm"),
    "sensor_resistance_ohm": _num(0, 1_000_000, "ohm"),
    "door_locked": TelemetrySpec(kind="bool"),
    "leak_sensor_wet": TelemetrySpec(kind="bool"),
    "gas_detected": TelemetrySpec(kind="bool"),
    "tacho_rpm": _RPM,
    "drum_imbalance_pct": _num(0, 100, "%"),
    "fridge_temp_c": _TEMP,
    "freezer_temp_c": _TEMP,
    "evaporator_temp_c": _TEMP,
    "condenser_temp_c": _TEMP,
    "evap_fan_rpm": _RPM,
    "condenser_fan_rpm": _RPM,
    "fan_rpm": _RPM,
    "oven_temp_c": _num(-50, 600, "°C"),
    "keypad_stuck_s": _num(0, 86400, "s"),
    "flow_temp_c": _TEMP,
    "return_temp_c": _TEMP,
    "outdoor_temp_c": _num(-60, 60, "°C"),
    "flame_current_ua": _num(0, 100, "µA"),
    "gas_pressure_mbar": _num(0, 100, "mbar"),
    "ignition_attempts": _num(0, 100, ""),
    "high_pressure_bar": _num(0, 60, "bar"),
    "low_pressure_bar": _num(0, 60, "bar"),
    "compressor_outlet_temp_c": _TEMP,
    "inlet_water_temp_c": _TEMP,
    "outlet_water_temp_c": _TEMP,
    "flow_rate_lpm": _num(0, 200, "l/min"),
    "condensate_blocked": TelemetrySpec(kind="bool"),
    "comm_errors": _num(0, 1_000_000, ""),
    "board_selftest_ok": TelemetrySpec(kind="bool"),
    "motor_winding_ohm": _num(0, 1_000_000, "ohm"),
}


class Condition(_Strict):
    """When a rule fires: every bound given must hold (`eq` is for bool/text readings)."""

    lt: float | None = None
    le: float | None = None
    gt: float | None = None
    ge: float | None = None
    eq: bool | float | str | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Condition:
        if all(v is None for v in (self.lt, self.le, self.gt, self.ge, self.eq)):
            raise ValueError("a condition needs at least one of lt, le, gt, ge, eq")
        return self

    @property
    def label(self) -> str:
        """The condition in a few characters, e.g. `<0.1` or `>=40&<80`: stable across file
        edits that do not change it, so outcomes learned against it stay valid."""
        bounds = [
            f"{op}{value:g}"
            for op, value in ((">", self.gt), (">=", self.ge), ("<", self.lt), ("<=", self.le))
            if value is not None
        ]
        if self.eq is not None:
            shown = str(self.eq).lower() if isinstance(self.eq, bool) else f"{self.eq}"
            bounds.append(f"=={shown}")
        return "&".join(bounds)

    def holds(self, value: bool | float | str) -> bool:
        """Whether an already type-checked reading meets the condition."""
        if self.eq is not None and value != self.eq:
            return False
        if isinstance(value, bool | str):
            return self.eq is not None
        bounds_ok = (
            (self.lt is None or value < self.lt)
            and (self.le is None or value <= self.le)
            and (self.gt is None or value > self.gt)
            and (self.ge is None or value >= self.ge)
        )
        return bounds_ok


class Rule(_Strict):
    """Telemetry evidence: likelihood ratios per cause when the condition holds (or not)."""

    telemetry: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,47}$")]
    when: Condition
    favours: dict[str, LikelihoodRatio] = Field(min_length=1)
    otherwise: dict[str, LikelihoodRatio] = Field(
        default_factory=dict, description="Ratios applied when the reading is present but fails"
    )
    explain: Text


class Cause(_Strict):
    cause_id: Identifier
    description: Text
    prior: float = Field(ge=0, le=1)
    parts: list[PartNumber] = Field(default_factory=list, description="Empty: no part needed")
    labour_minutes: int = Field(30, ge=0, le=24 * 60)


class CodeEntry(_Strict):
    code: CodeStr
    title: Text
    skill: str = Field(description="A Category: the trade that fixes it")
    certifications: list[str] = Field(default_factory=list)
    urgency: Urgency = Urgency.NORMAL
    safety_advice: str = ""
    self_fix: str | None = None
    water_leak: bool = Field(False, description="Water escaping: always an emergency")
    no_heat: bool = Field(False, description="Heating lost: an emergency in freezing weather")
    causes: list[Cause] = Field(min_length=1)
    rules: list[Rule] = Field(default_factory=list)
    meta: dict[str, Any] = Field(default_factory=dict)

    def cause(self, cause_id: str) -> Cause | None:
        return next((c for c in self.causes if c.cause_id == cause_id), None)


class Part(_Strict):
    part_number: PartNumber
    description: Text
    price: float = Field(ge=0)
    van_space: int = Field(1, ge=0, le=100)
    supersedes: list[PartNumber] = Field(default_factory=list)


class ModelFamily(_Strict):
    family: Identifier
    category: str = Field(description="A Category")
    models: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        default_factory=list
    )
    model_patterns: list[str] = Field(default_factory=list, description="fnmatch, e.g. WAN28*")
    parts: list[Part] = Field(default_factory=list)
    codes: list[CodeEntry] = Field(min_length=1)
    meta: dict[str, Any] = Field(default_factory=dict)

    def matches(self, model: str) -> bool:
        wanted = model.strip().upper()
        return wanted in (m.upper() for m in self.models) or any(
            fnmatch.fnmatchcase(wanted, p.upper()) for p in self.model_patterns
        )

    def code(self, fault_code: str) -> CodeEntry | None:
        wanted = fault_code.strip().upper()
        return next((c for c in self.codes if c.code.upper() == wanted), None)


class ManufacturerCatalog(_Strict):
    schema_version: Literal["catalog/1"] = Field(alias="schema")
    manufacturer: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    telemetry: dict[str, TelemetrySpec] = Field(default_factory=dict)
    families: list[ModelFamily] = Field(min_length=1)
    meta: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class ModelInfo:
    """One appliance model the catalog knows, and the fault codes it can report."""

    manufacturer: str
    model: str
    family: str
    category: Category
    codes: tuple[str, ...]


@dataclass(frozen=True)
class CatalogIssue:
    """One problem in a catalog file. `code` is the fault code concerned, when there is one."""

    file: str
    code: str | None
    field: str | None
    message: str
    kind: str = "schema"
    line: int | None = None

    def __str__(self) -> str:
        where = ":".join(str(x) for x in (self.file, self.line) if x is not None)
        parts = [where, self.kind, self.code or "-", self.field or "-", self.message]
        return " | ".join(parts)


class CatalogError(Exception):
    """A catalog file did not validate; nothing was loaded."""

    def __init__(self, issues: list[CatalogIssue]) -> None:
        self.issues = issues
        shown = "; ".join(str(i) for i in issues[:5])
        more = f" (+{len(issues) - 5} more)" if len(issues) > 5 else ""
        super().__init__(f"{len(issues)} catalog issue(s): {shown}{more}")


class Catalog:
    """All manufacturers' catalogs, indexed for lookups by manufacturer and model."""

    def __init__(self, manufacturers: Iterable[ManufacturerCatalog]) -> None:
        self._by_maker: dict[str, ManufacturerCatalog] = {}
        self.telemetry: dict[str, TelemetrySpec] = dict(TELEMETRY_RANGES)
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

    def resolve_part(self, model: ModelInfo, part_number: str) -> Part | None:
        """The current part for a (possibly superseded) part number of the model's family."""
        maker = self.manufacturer(model.manufacturer)
        fam = next((f for f in maker.families if f.family == model.family), None) if maker else None
        return resolve_in_family(fam, part_number) if fam else None

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


def _supersession_map(fam: ModelFamily) -> dict[str, str]:
    return {old: p.part_number for p in fam.parts for old in p.supersedes}


def resolve_in_family(fam: ModelFamily, part_number: str) -> Part | None:
    """Follow `supersedes` links to the newest part; None for an unknown number."""
    by_number = {p.part_number: p for p in fam.parts}
    newer = _supersession_map(fam)
    current, seen = part_number, set()
    while current in newer and current not in seen:  # `seen` guards a cycle a bad file might hold
        seen.add(current)
        current = newer[current]
    return by_number.get(current)


# --- loading and validation -------------------------------------------------------------


def _loc_to_field(loc: tuple[int | str, ...]) -> str:
    field = ""
    for item in loc:
        field += f"[{item}]" if isinstance(item, int) else (f".{item}" if field else str(item))
    return field


def _code_at(raw: Any, loc: tuple[int | str, ...]) -> str | None:
    """The fault code an error location points into, read from the raw JSON."""
    if len(loc) >= 4 and loc[0] == "families" and loc[2] == "codes":
        try:
            code = raw["families"][loc[1]]["codes"][loc[3]]["code"]
        except (KeyError, IndexError, TypeError):
            return None
        return code if isinstance(code, str) else None
    return None


def _parse(path: Path) -> tuple[ManufacturerCatalog | None, list[CatalogIssue]]:
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [CatalogIssue(name, None, None, f"cannot read: {exc}", kind="io")]
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"line {exc.lineno} column {exc.colno}: {exc.msg}"
        return None, [CatalogIssue(name, None, None, msg, kind="json_syntax", line=exc.lineno)]
    if isinstance(raw, dict) and raw.get("schema") != CATALOG_SCHEMA:
        msg = f"unsupported schema {raw.get('schema')!r}, expected {CATALOG_SCHEMA!r}"
        return None, [CatalogIssue(name, None, "schema", msg, kind="schema_version")]
    try:
        return ManufacturerCatalog.model_validate(raw), []
    except ValidationError as exc:
        issues = [
            CatalogIssue(name, _code_at(raw, err["loc"]), _loc_to_field(err["loc"]), err["msg"])
            for err in exc.errors()
        ]
        return None, issues


def _semantic_issues(
    name: str, cat: ManufacturerCatalog, telemetry: Mapping[str, TelemetrySpec]
) -> list[CatalogIssue]:
    issues: list[CatalogIssue] = []
    known_telemetry = {**telemetry, **cat.telemetry}

    def add(code: str | None, field: str, kind: str, message: str) -> None:
        issues.append(CatalogIssue(name, code, field, message, kind=kind))

    for fi, fam in enumerate(cat.families):
        fp = f"families[{fi}]"
        if fam.category not in Category.__members__.values():
            add(None, f"{fp}.category", "unknown_category", f"unknown category {fam.category!r}")
        if not fam.models and not fam.model_patterns:
            add(None, f"{fp}.models", "no_models", "a family needs models or model_patterns")
        issues.extend(_part_issues(name, fam, fp))
        known_parts = {p.part_number for p in fam.parts} | set(_supersession_map(fam))
        seen_codes: set[str] = set()
        for ci, entry in enumerate(fam.codes):
            cp = f"{fp}.codes[{ci}]"
            code = entry.code
            if code.upper() in seen_codes:
                add(code, f"{cp}.code", "duplicate_code", f"code {code} appears twice in family")
            seen_codes.add(code.upper())
            if entry.skill not in Category.__members__.values():
                add(code, f"{cp}.skill", "unknown_skill", f"unknown skill {entry.skill!r}")
            for cert in entry.certifications:
                if cert not in KNOWN_CERTIFICATIONS:
                    add(code, f"{cp}.certifications", "unknown_certification", f"{cert!r}")
            total = sum(c.prior for c in entry.causes)
            if abs(total - 1.0) > PRIOR_SUM_TOLERANCE:
                add(code, f"{cp}.causes", "prior_sum", f"cause priors sum to {total:.3f}, not 1")
            cause_ids = [c.cause_id for c in entry.causes]
            if len(set(cause_ids)) != len(cause_ids):
                add(code, f"{cp}.causes", "duplicate_cause", "a cause_id appears twice")
            for ki, cause in enumerate(entry.causes):
                for part in cause.parts:
                    if part not in known_parts:
                        add(code, f"{cp}.causes[{ki}].parts", "unknown_part", f"unknown {part}")
            for ri, rule in enumerate(entry.rules):
                rp = f"{cp}.rules[{ri}]"
                spec = known_telemetry.get(rule.telemetry)
                if spec is None:
                    msg = f"unknown telemetry {rule.telemetry!r}"
                    add(code, f"{rp}.telemetry", "unknown_telemetry", msg)
                elif not _condition_fits(rule.when, spec):
                    msg = f"condition does not fit {spec.kind} telemetry {rule.telemetry!r}"
                    add(code, f"{rp}.when", "condition_type", msg)
                for key in ("favours", "otherwise"):
                    for cause_id in getattr(rule, key):
                        if cause_id not in cause_ids:
                            add(code, f"{rp}.{key}", "unknown_cause", f"unknown cause {cause_id}")
    return issues


def _condition_fits(cond: Condition, spec: TelemetrySpec) -> bool:
    has_bounds = any(v is not None for v in (cond.lt, cond.le, cond.gt, cond.ge))
    if spec.kind == "number":
        return cond.eq is None or (
            isinstance(cond.eq, float | int) and not isinstance(cond.eq, bool)
        )
    if spec.kind == "bool":
        return not has_bounds and isinstance(cond.eq, bool)
    return not has_bounds and isinstance(cond.eq, str)


def _part_issues(name: str, fam: ModelFamily, fp: str) -> list[CatalogIssue]:
    issues: list[CatalogIssue] = []
    numbers = [p.part_number for p in fam.parts]
    for dup in sorted({n for n in numbers if numbers.count(n) > 1}):
        issues.append(CatalogIssue(name, None, f"{fp}.parts", f"duplicate {dup}", "duplicate_part"))
    replaced_by: dict[str, str] = {}
    for pi, part in enumerate(fam.parts):
        for old in part.supersedes:
            if old in replaced_by and replaced_by[old] != part.part_number:
                msg = f"{old} superseded by both {replaced_by[old]} and {part.part_number}"
                issues.append(
                    CatalogIssue(name, None, f"{fp}.parts[{pi}].supersedes", msg, "supersession")
                )
            replaced_by[old] = part.part_number
    for start in replaced_by:
        chain, current = [start], start
        while current in replaced_by:
            current = replaced_by[current]
            if current in chain:
                msg = "supersession cycle: " + " -> ".join([*chain, current])
                issues.append(
                    CatalogIssue(name, None, f"{fp}.parts", msg, kind="supersession_cycle")
                )
                break
            chain.append(current)
        else:
            continue
        break  # one report per family is enough to find the cycle
    return issues


def validate_catalog_file(path: Path) -> list[CatalogIssue]:
    """Every problem in one catalog file; an empty list means the file is good."""
    cat, issues = _parse(Path(path))
    if cat is None:
        return issues
    return _semantic_issues(Path(path).name, cat, TELEMETRY_RANGES)


def catalog_files(directory: Path = CATALOG_DIR) -> list[Path]:
    return sorted(directory.glob("*.json"))


def load_catalog(paths: Iterable[Path] | None = None) -> Catalog:
    """Load and validate catalog files (all shipped files when None); all-or-nothing."""
    files = catalog_files() if paths is None else [Path(p) for p in paths]
    loaded: list[ManufacturerCatalog] = []
    issues: list[CatalogIssue] = []
    owners: dict[str, str] = {}
    for path in files:
        cat, parse_issues = _parse(path)
        issues.extend(parse_issues)
        if cat is None:
            continue
        issues.extend(_semantic_issues(path.name, cat, TELEMETRY_RANGES))
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
    return Catalog(loaded)


@functools.cache
def default_catalog() -> Catalog:
    """The shipped catalog, loaded once per process (a Lambda container keeps it warm)."""
    return load_catalog(None)


def is_valid_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
