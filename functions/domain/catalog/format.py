"""The catalog file formats: `catalog/1` (one file per manufacturer) and `telemetry/1`.

A manufacturer file describes model families (which models, which category), the parts of
each family (with supersession), and per fault code the causes with prior probabilities,
the parts each cause needs, and telemetry rules that shift the odds between causes. The
telemetry file gives every reading its kind, physical range, healthy range and the
appliance categories that report it.

The formats grow by adding optional fields with defaults (old files stay valid); a breaking
change gets a new `schema` value (`catalog/2`). Free-form vendor data goes into `meta`.
Reading a file into its model, with every problem as a `CatalogIssue`, is here too.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

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

CATALOG_SCHEMA = "catalog/1"
TELEMETRY_SCHEMA = "telemetry/1"

Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
CodeStr = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,16}$")]
PartNumber = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._/-]{1,40}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=600)]
LikelihoodRatio = Annotated[float, Field(gt=0, le=100)]
TelemetryName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,47}$")]
M = TypeVar("M", bound=BaseModel)


class _Strict(BaseModel):
    # Typos in a hand-written catalog must fail loudly, not be silently dropped. Only loading
    # the catalog validates: its validators are built then (or before a SnapStart snapshot,
    # see functions.common.snapstart), not on every handler import.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)


class TelemetrySpec(_Strict):
    """What a telemetry reading must look like to count as evidence.

    A reading outside `min`..`max` is a broken sensor or a bad payload, not evidence.
    `normal` is what a healthy appliance reports (a [low, high] range for a number, the value
    for a bool): the simulator draws readings no rule points at from it.
    """

    kind: Literal["number", "bool", "text"] = "number"
    min: float | None = None
    max: float | None = None
    unit: str = ""
    normal: tuple[float, float] | bool | None = None
    categories: tuple[Category, ...] = Field(default=(), description="Who reports it")

    @model_validator(mode="after")
    def _normal_fits(self) -> TelemetrySpec:
        if self.normal is None:
            return self
        if self.kind == "bool":
            if not isinstance(self.normal, bool):
                raise ValueError("normal of a bool reading is true or false")
            return self
        if self.kind != "number" or isinstance(self.normal, bool):
            raise ValueError("normal of a number reading is a [low, high] range")
        low, high = self.normal
        lowest = -float("inf") if self.min is None else self.min
        highest = float("inf") if self.max is None else self.max
        if not lowest <= low <= high <= highest:
            raise ValueError(f"normal {low}..{high} is not inside {self.min}..{self.max}")
        return self


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

    telemetry: TelemetryName
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


def superseded_by(fam: ModelFamily) -> dict[str, str]:
    """Old part number -> the part that replaced it."""
    return {old: p.part_number for p in fam.parts for old in p.supersedes}


def resolve_in_family(fam: ModelFamily, part_number: str) -> Part | None:
    """Follow `supersedes` links to the newest part; None for an unknown number."""
    by_number = {p.part_number: p for p in fam.parts}
    newer = superseded_by(fam)
    current, seen = part_number, set()
    while current in newer and current not in seen:  # `seen` guards a cycle a bad file might hold
        seen.add(current)
        current = newer[current]
    return by_number.get(current)


class TelemetryFile(_Strict):
    """The shared telemetry names every manufacturer file may write rules on."""

    schema_version: Literal["telemetry/1"] = Field(alias="schema")
    telemetry: dict[TelemetryName, TelemetrySpec] = Field(min_length=1)


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


def read_raw(path: Path) -> tuple[Any, list[CatalogIssue]]:
    """The file's JSON, or the issue that stopped it being read."""
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [CatalogIssue(name, None, None, f"cannot read: {exc}", kind="io")]
    try:
        return json.loads(text), []
    except json.JSONDecodeError as exc:
        msg = f"line {exc.lineno} column {exc.colno}: {exc.msg}"
        return None, [CatalogIssue(name, None, None, msg, kind="json_syntax", line=exc.lineno)]


def parse_model(
    name: str, raw: Any, model: type[M], schema: str
) -> tuple[M | None, list[CatalogIssue]]:
    """`raw` as `model` when it declares `schema` and fits it; otherwise the issues."""
    if isinstance(raw, dict) and raw.get("schema") != schema:
        msg = f"unsupported schema {raw.get('schema')!r}, expected {schema!r}"
        return None, [CatalogIssue(name, None, "schema", msg, kind="schema_version")]
    try:
        return model.model_validate(raw), []
    except ValidationError as exc:
        issues = [
            CatalogIssue(name, _code_at(raw, err["loc"]), _loc_to_field(err["loc"]), err["msg"])
            for err in exc.errors()
        ]
        return None, issues


def read_file(path: Path, model: type[M], schema: str) -> tuple[M | None, list[CatalogIssue]]:
    """Read and parse one file; the model, or every issue found."""
    raw, issues = read_raw(path)
    if issues:
        return None, issues
    return parse_model(path.name, raw, model, schema)
