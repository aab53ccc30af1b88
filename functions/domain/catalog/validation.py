"""Checking catalog files: everything the file format alone cannot catch."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from functions.domain.catalog.format import (
    CATALOG_SCHEMA,
    TELEMETRY_SCHEMA,
    CatalogIssue,
    Condition,
    ManufacturerCatalog,
    ModelFamily,
    TelemetryFile,
    TelemetrySpec,
    parse_model,
    read_raw,
    superseded_by,
)
from functions.domain.catalog.telemetry import load_telemetry
from schemas.registry import Category

PRIOR_SUM_TOLERANCE = 0.01
KNOWN_CERTIFICATIONS = frozenset(
    {"refrigerant_handling", "gas_safe", "electrical", "unvented_hot_water", "water_regulations"}
)


def validate_catalog_file(
    path: Path, telemetry: Mapping[str, TelemetrySpec] | None = None
) -> list[CatalogIssue]:
    """Every problem in one catalog file (a manufacturer's, or the telemetry file); an empty
    list means the file is good. Rules are checked against `telemetry` (the shipped names
    when None)."""
    path = Path(path)
    raw, issues = read_raw(path)
    if issues:
        return issues
    if isinstance(raw, dict) and raw.get("schema") == TELEMETRY_SCHEMA:
        return parse_model(path.name, raw, TelemetryFile, TELEMETRY_SCHEMA)[1]
    cat, issues = parse_model(path.name, raw, ManufacturerCatalog, CATALOG_SCHEMA)
    if cat is None:
        return issues
    known = load_telemetry() if telemetry is None else telemetry
    return manufacturer_issues(path.name, cat, known)


def manufacturer_issues(
    name: str, cat: ManufacturerCatalog, telemetry: Mapping[str, TelemetrySpec]
) -> list[CatalogIssue]:
    """What the schema cannot see: unknown categories, parts, causes and telemetry, priors
    that do not sum to 1, duplicates and supersession cycles."""
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
        known_parts = {p.part_number for p in fam.parts} | set(superseded_by(fam))
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
