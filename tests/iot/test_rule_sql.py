"""The IoT rule SQL subset: parsing, topic matching and evaluation as AWS IoT does it."""

from __future__ import annotations

import base64
import json

import pytest

from functions.common.topics import FAULT_TOPIC_FILTER
from infra.template import load_template, topic_rules
from iot.rule_sql import RuleEvaluationError, RuleSqlError, parse_rule, topic_matches

TOPIC = "dt/repair/wm-0042/fault"
NOW = 1_700_000_000_123
PAYLOAD = {
    "schema": "fault/1",
    "event_id": "e-1",
    "fault_code": "E21",
    "telemetry": {"drain_pump_current_a": 0.9, "drum_rpm": 0},
}


def run(sql: str, payload: object = PAYLOAD, topic: str = TOPIC) -> dict | None:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return parse_rule(sql).evaluate(topic, raw, "wm-0042", NOW)


def test_ingest_rule_from_template() -> None:
    (spec,) = (r for r in topic_rules(load_template()) if r.logical_id == "FaultTopicRule")
    raw = b"\x00not json at all\xff"
    rule = parse_rule(spec.sql)
    assert rule.topic_filter == FAULT_TOPIC_FILTER  # the topic the appliances publish on
    assert rule.evaluate(TOPIC, raw, "wm-0042", NOW) == {
        "raw": base64.b64encode(raw).decode(),
        "thing_name": "wm-0042",
        "topic": TOPIC,
        "client_id": "wm-0042",
        "received_at": NOW,
    }


def test_star_with_topic_and_where() -> None:
    sql = "SELECT *, topic(3) AS thing_name FROM 'dt/repair/+/fault' WHERE fault_code <> 'TEST'"
    assert run(sql) == {**PAYLOAD, "thing_name": "wm-0042"}
    assert run(sql, {**PAYLOAD, "fault_code": "TEST"}) is None
    # A missing field is undefined, so the comparison is undefined and the rule does not fire.
    assert run(sql, {"event_id": "e-2"}) is None


def test_topic_mismatch_returns_none() -> None:
    assert run("SELECT * FROM 'dt/repair/+/fault'", topic="dt/repair/x/status") is None


@pytest.mark.parametrize(
    ("topic_filter", "topic", "expected"),
    [
        ("dt/repair/+/fault", "dt/repair/a/fault", True),
        ("dt/repair/+/fault", "dt/repair/a/b/fault", False),
        ("dt/repair/+/fault", "dt/repair//fault", True),
        ("dt/#", "dt", True),
        ("dt/#", "dt/repair/a/fault", True),
        ("#", "anything/at/all", True),
        ("#", "$aws/things/x", False),
        ("+/repair", "$sys/repair", False),
        ("dt/repair", "dt/repair/a", False),
        ("dt/repair/a", "dt/repair", False),
    ],
)
def test_topic_matching(topic_filter: str, topic: str, expected: bool) -> None:
    assert topic_matches(topic_filter, topic) is expected
    assert parse_rule(f"SELECT * FROM '{topic_filter}'").matches(topic) is expected


def test_functions_and_literals() -> None:
    sql = (
        "select topic(1) as a, topic(9) as missing, 'x' as s, 42 as i, -1.5 as f, "
        "true as t from 'dt/#'"
    )
    assert run(sql) == {"a": "dt", "s": "x", "i": 42, "f": -1.5, "t": True}


def test_paths_default_names_and_undefined_omitted() -> None:
    sql = "SELECT telemetry.drum_rpm, telemetry.nope, fault_code AS code FROM 'dt/#'"
    assert run(sql) == {"drum_rpm": 0, "code": "E21"}


def test_quoted_identifier_path() -> None:
    assert run("SELECT \"odd-name\".x AS v FROM 'dt/#'", {"odd-name": {"x": 1}}) == {"v": 1}


def test_null_is_not_undefined() -> None:
    assert run("SELECT a FROM 'dt/#'", {"a": None}) == {"a": None}


@pytest.mark.parametrize(
    ("where", "fires"),
    [
        ("fault_code = 'E21'", True),
        ("fault_code != 'E21'", False),
        ("telemetry.drain_pump_current_a > 0.5", True),
        ("telemetry.drain_pump_current_a >= 0.9", True),
        ("telemetry.drain_pump_current_a < 0.9", False),
        ("telemetry.drum_rpm <= 0", True),
        ("telemetry.drum_rpm = '0'", True),  # numeric string compares as a number
        ("fault_code = 'E21' AND telemetry.drum_rpm = 0", True),
        ("fault_code = 'X' OR telemetry.drum_rpm = 0", True),
        ("NOT fault_code = 'X'", True),
        ("NOT (fault_code = 'E21' OR fault_code = 'E22')", False),
        ("(fault_code = 'X' OR fault_code = 'E21') AND NOT telemetry.drum_rpm > 100", True),
        ("topic(3) = 'wm-0042' AND clientid() = 'wm-0042'", True),
        ("timestamp() > 0", True),
        # Undefined propagates: comparisons, NOT and AND/OR over it never fire.
        ("missing = 1", False),
        ("NOT missing = 1", False),
        ("missing = 1 OR fault_code = 'E21'", False),
        ("fault_code > 1", False),  # non-numeric string vs number
        ("telemetry > 1", False),  # object has no order
    ],
)
def test_where(where: str, fires: bool) -> None:
    result = run(f"SELECT fault_code FROM 'dt/repair/+/fault' WHERE {where}")
    assert (result is not None) is fires


def test_keywords_are_case_insensitive() -> None:
    sql = "sElEcT *, TOPIC(3) As thing FrOm 'dt/#' wHeRe fault_code = 'E21' aNd NoT false"
    assert run(sql) == {**PAYLOAD, "thing": "wm-0042"}


def test_select_star_on_non_json_raises() -> None:
    with pytest.raises(RuleEvaluationError, match="not valid JSON"):
        run("SELECT * FROM 'dt/#'", b"{broken")


def test_select_star_on_json_array_raises() -> None:
    with pytest.raises(RuleEvaluationError, match="JSON object"):
        run("SELECT * FROM 'dt/#'", [1, 2])


def test_field_path_on_non_json_raises() -> None:
    with pytest.raises(RuleEvaluationError):
        run("SELECT topic() AS t FROM 'dt/#' WHERE fault_code = 'E21'", b"\xff\xfe")


def test_non_json_payload_without_field_access_is_fine() -> None:
    assert run("SELECT topic(3) AS thing FROM 'dt/#'", b"\xff") == {"thing": "wm-0042"}


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("", "empty"),
        ("SELECT * FROM dt/repair", "quoted topic filter"),
        ("SELECT * FROM 'dt/#/x'", "'#'"),
        ("SELECT * FROM 'dt/a+/x'", "'\\+'"),
        ("SELECT * FROM 'dt/x", "unterminated"),
        ("SELECT topic() FROM 'dt/#'", "needs an alias"),
        ("SELECT 'x' FROM 'dt/#'", "needs an alias"),
        ("SELECT upper(a) AS b FROM 'dt/#'", "unsupported function upper"),
        ("SELECT encode(*, 'hex') AS b FROM 'dt/#'", "only 'base64'"),
        ("SELECT encode(a, 'base64') AS b FROM 'dt/#'", "only encode"),
        ("SELECT topic(0) AS b FROM 'dt/#'", "positive"),
        ("SELECT timestamp(1) AS b FROM 'dt/#'", "no arguments"),
        ("SELECT * FROM 'dt/#' WHERE", "expected a value"),
        ("SELECT * FROM 'dt/#' WHERE (a = 1", "expected \\)"),
        ("SELECT * FROM 'dt/#' LIMIT 1", "unexpected text"),
        ("SELECT a AS FROM 'dt/#'", "alias after AS"),
        ("SELECT a; FROM 'dt/#'", "expected FROM .* found ';'"),
        ("DELETE FROM 'dt/#'", "expected SELECT"),
    ],
)
def test_invalid_sql(sql: str, message: str) -> None:
    with pytest.raises(RuleSqlError, match=message):
        parse_rule(sql)


def test_rule_sql_error_is_a_value_error() -> None:
    assert issubclass(RuleSqlError, ValueError)
