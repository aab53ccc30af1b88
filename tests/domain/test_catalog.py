"""Catalog loader and validator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from functions.domain.catalog import catalog_files, default_catalog, load_catalog
from functions.domain.catalog.format import resolve_in_family
from functions.domain.catalog.telemetry import TELEMETRY_FILE, load_telemetry, reported_by
from functions.domain.catalog.validation import validate_catalog_file
from functions.domain.errors import CatalogError
from schemas.registry import Category


def minimal_catalog(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema": "catalog/1",
        "manufacturer": "Acme",
        "families": [
            {
                "family": "acme_washer",
                "category": "washer",
                "models": ["AW100"],
                "parts": [
                    {
                        "part_number": "P-NEW",
                        "description": "Pump",
                        "price": 40,
                        "supersedes": ["P-OLD"],
                    }
                ],
                "codes": [
                    {
                        "code": "E1",
                        "title": "No drain",
                        "skill": "washer",
                        "causes": [
                            {
                                "cause_id": "pump",
                                "description": "Pump",
                                "prior": 0.6,
                                "parts": ["P-OLD"],
                            },
                            {"cause_id": "filter", "description": "Filter", "prior": 0.4},
                        ],
                        "rules": [
                            {
                                "telemetry": "drain_pump_current_a",
                                "when": {"lt": 0.05},
                                "favours": {"pump": 4.0},
                                "explain": "no current",
                            }
                        ],
                    }
                ],
            }
        ],
    }
    doc.update(overrides)
    return doc


def write(tmp_path: Path, doc: dict[str, Any] | str, name: str = "acme.json") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=2))
    return path


def code_of(doc: dict[str, Any]) -> dict[str, Any]:
    code: dict[str, Any] = doc["families"][0]["codes"][0]
    return code


def test_every_shipped_catalog_file_validates_clean() -> None:
    files = catalog_files()
    assert len(files) >= 3
    for path in files:
        assert validate_catalog_file(path) == [], path.name


def test_shipped_catalog_covers_all_appliance_categories_but_dryer() -> None:
    categories = {m.category for m in default_catalog().models()}
    assert categories >= set(Category) - {Category.DRYER}


def test_given_a_good_file_when_loaded_then_models_codes_and_parts_resolve(tmp_path: Path) -> None:
    catalog = load_catalog([write(tmp_path, minimal_catalog())])
    model = catalog.find_model("acme", "aw100")
    assert model is not None and model.category is Category.WASHER and model.codes == ("E1",)
    assert catalog.code("Acme", "AW100", "e1") is not None
    assert catalog.code("Acme", "AW100", "E9") is None
    family = catalog.family("acme", "aw100")
    assert family is not None and family.family == model.family
    part = resolve_in_family(family, "P-OLD")
    assert part is not None and part.part_number == "P-NEW"
    assert resolve_in_family(family, "NOPE") is None


def test_given_model_patterns_when_finding_then_wildcards_match(tmp_path: Path) -> None:
    doc = minimal_catalog()
    doc["families"][0]["model_patterns"] = ["AW2*"]
    catalog = load_catalog([write(tmp_path, doc)])
    found = catalog.find_model("Acme", "AW2999")
    assert found is not None and found.model == "AW2999"
    assert catalog.find_model("Acme", "XY1") is None
    assert [m.model for m in catalog.models()] == ["AW100"]  # patterns are not enumerable


def test_given_a_json_syntax_error_then_the_line_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, '{\n  "schema": "catalog/1",\n  "manufacturer": \n}')
    [issue] = validate_catalog_file(path)
    assert (issue.file, issue.kind, issue.line) == ("acme.json", "json_syntax", 4)


def test_given_a_schema_violation_then_field_path_and_code_are_reported(tmp_path: Path) -> None:
    doc = minimal_catalog()
    code_of(doc)["causes"][1]["prior"] = "lots"
    [issue] = validate_catalog_file(write(tmp_path, doc))
    assert issue.code == "E1"
    assert issue.field == "families[0].codes[0].causes[1].prior"


def test_given_a_typo_field_then_it_is_rejected_not_ignored(tmp_path: Path) -> None:
    doc = minimal_catalog()
    code_of(doc)["urgancy"] = "high"
    [issue] = validate_catalog_file(write(tmp_path, doc))
    assert issue.field == "families[0].codes[0].urgancy"


@pytest.mark.parametrize(
    ("mutate", "kind", "field"),
    [
        (
            lambda d: code_of(d)["causes"][0].update(prior=0.5),
            "prior_sum",
            "families[0].codes[0].causes",
        ),
        (
            lambda d: code_of(d)["causes"][1].update(parts=["GHOST"]),
            "unknown_part",
            "families[0].codes[0].causes[1].parts",
        ),
        (
            lambda d: code_of(d).update(skill="plumber"),
            "unknown_skill",
            "families[0].codes[0].skill",
        ),
        (
            lambda d: d["families"][0].update(category="toaster"),
            "unknown_category",
            "families[0].category",
        ),
        (
            lambda d: code_of(d)["rules"][0].update(telemetry="flux_capacitor_gw"),
            "unknown_telemetry",
            "families[0].codes[0].rules[0].telemetry",
        ),
        (
            lambda d: code_of(d)["rules"][0].update(favours={"gremlins": 3.0}),
            "unknown_cause",
            "families[0].codes[0].rules[0].favours",
        ),
        (
            lambda d: d["families"][0]["codes"].append(dict(code_of(d))),
            "duplicate_code",
            "families[0].codes[1].code",
        ),
    ],
)
def test_given_a_semantic_error_then_exact_kind_code_and_field_are_reported(
    tmp_path: Path, mutate: Any, kind: str, field: str
) -> None:
    doc = minimal_catalog()
    mutate(doc)
    issues = validate_catalog_file(write(tmp_path, doc))
    code = None if kind == "unknown_category" else "E1"  # a family-level issue has no code
    assert [(i.file, i.code, i.field, i.kind) for i in issues] == [("acme.json", code, field, kind)]


def test_given_a_supersession_cycle_then_it_is_reported(tmp_path: Path) -> None:
    doc = minimal_catalog()
    doc["families"][0]["parts"].append(
        {"part_number": "P-OLD", "description": "Old pump", "price": 30, "supersedes": ["P-NEW"]}
    )
    kinds = {i.kind for i in validate_catalog_file(write(tmp_path, doc))}
    assert "supersession_cycle" in kinds


def test_given_one_bad_file_when_loading_then_it_raises_and_loads_nothing(tmp_path: Path) -> None:
    good = write(tmp_path, minimal_catalog(), "good.json")
    bad_doc = minimal_catalog(manufacturer="Other")
    code_of(bad_doc)["causes"][0]["prior"] = 0.9
    bad = write(tmp_path, bad_doc, "bad.json")
    with pytest.raises(CatalogError) as caught:
        load_catalog([good, bad])
    assert [(i.file, i.code, i.kind) for i in caught.value.issues] == [
        ("bad.json", "E1", "prior_sum")
    ]


def test_given_the_same_manufacturer_twice_then_loading_fails(tmp_path: Path) -> None:
    a = write(tmp_path, minimal_catalog(), "a.json")
    b = write(tmp_path, minimal_catalog(manufacturer="ACME"), "b.json")
    with pytest.raises(CatalogError) as caught:
        load_catalog([a, b])
    assert caught.value.issues[0].kind == "duplicate_manufacturer"


def test_given_an_unknown_schema_version_then_it_is_reported(tmp_path: Path) -> None:
    [issue] = validate_catalog_file(write(tmp_path, minimal_catalog(schema="catalog/9")))
    assert (issue.kind, issue.field) == ("schema_version", "schema")


def test_rules_are_checked_against_the_telemetry_file_given(tmp_path: Path) -> None:
    acme = write(tmp_path, minimal_catalog())
    ranges = {"schema": "telemetry/1", "telemetry": {"fan_rpm": {"min": 0, "max": 9000}}}
    without_pump = write(tmp_path, ranges, name="ranges.json")
    with pytest.raises(CatalogError) as caught:
        load_catalog([acme], telemetry_file=without_pump)
    assert [(i.kind, i.field) for i in caught.value.issues] == [
        ("unknown_telemetry", "families[0].codes[0].rules[0].telemetry")
    ]
    catalog = load_catalog([acme])  # the shipped telemetry file knows the pump current
    assert catalog.telemetry == load_telemetry()


def test_given_a_telemetry_file_with_a_healthy_range_outside_the_physical_one_then_it_is_reported(
    tmp_path: Path,
) -> None:
    ranges = {
        "schema": "telemetry/1",
        "telemetry": {"fan_rpm": {"min": 0, "max": 9000, "normal": [100, 12000]}},
    }
    [issue] = validate_catalog_file(write(tmp_path, ranges, name="telemetry.json"))
    assert issue.field == "telemetry.fan_rpm" and "not inside" in issue.message


def test_the_shipped_telemetry_file_validates_and_is_not_a_manufacturer_file() -> None:
    assert validate_catalog_file(TELEMETRY_FILE) == []
    assert TELEMETRY_FILE not in catalog_files()


def test_every_rule_reads_telemetry_its_family_category_reports() -> None:
    catalog = default_catalog()
    for name in catalog.manufacturers:
        maker = catalog.manufacturer(name)
        assert maker is not None
        for family in maker.families:
            reported = set(reported_by(catalog.telemetry, family.category))
            for entry in family.codes:
                unreported = {r.telemetry for r in entry.rules} - reported
                assert not unreported, (name, family.family, entry.code, unreported)
