"""Benchmarks that can fail: every printed target is a check, and the exit status follows a
miss in text and JSON alike. Fabricated results: no stack, no emulator."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench import burst, faults, flow, scale, targets
from faultline import cli


@pytest.mark.parametrize(
    "figure, target, passed",
    [
        (2, "<= 2", True),
        (3, "<= 2", False),
        (249.9, "< 250", True),
        (250, "< 250", False),
        (0, "0", True),
        (1, "0", False),
        (True, "yes", True),
        (False, "yes", False),
        (None, "<= 2", False),  # not measured is a miss, never a pass
    ],
)
def test_a_figure_meets_its_target_or_misses_it(figure: Any, target: str, passed: bool) -> None:
    assert targets.meets(figure, target) is passed


def _flow_results(**changes: Any) -> dict[str, Any]:
    row = {"outcome": "dispatched", "calls": [], "to_opened": 2, "to_outcome": 5}
    results: dict[str, Any] = {
        "round_trips": {
            **{name: dict(row) for name in flow.NEW_FAULT_ROWS},
            "duplicate_warm": {"calls": ["dynamodb.TransactWriteItems"], "count": 1},
            "duplicate_cold": {"calls": [], "count": 2},
            "repeat_of_open_fault": {"calls": [], "count": 2},
        },
        "import": {"ratio": 1.2},
        "end_to_end": {"p99_ms": 120.0, "lost": 0},
    }
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = results
        for part in parents:
            node = node[part]
        node[leaf] = value
    return results


def test_the_flow_bench_passes_when_every_figure_meets_its_target() -> None:
    checks = flow.checks(_flow_results())
    assert targets.exit_status(checks) == 0
    names = {c.name for c in checks}
    assert "import ratio" in names and "end to end lost" in names
    assert sum(c.name.startswith("round trips to opened") for c in checks) == 4


@pytest.mark.parametrize(
    "change",
    [
        {"round_trips__new_fault_cold__to_opened": 3},
        {"round_trips__duplicate_warm__count": 2},
        {"import__ratio": 1.9},
        {"end_to_end__p99_ms": 250.0},
        {"end_to_end__lost": 1},
        {"end_to_end__p99_ms": None},  # nothing dispatched: no p99 to show
    ],
)
def test_one_missed_target_fails_the_flow_bench(change: dict[str, Any]) -> None:
    checks = flow.checks(_flow_results(**change))
    assert targets.exit_status(checks) == 1
    assert [c for c in checks if not c.passed]


def test_a_cold_duplicate_is_shown_but_not_held_to_the_warm_target() -> None:
    results = _flow_results(round_trips__duplicate_cold__count=2)
    assert targets.exit_status(flow.checks(results)) == 0


def test_only_the_import_is_checked_when_only_the_import_was_measured() -> None:
    checks = flow.checks({"import": {"ratio": 1.31}})
    assert [c.name for c in checks] == ["import ratio"]
    assert targets.exit_status(checks) == 1


def _load_results(*lost: int) -> dict[str, Any]:
    return {
        "broker": "mosquitto mutual TLS",
        "saturated_at_per_s": None,
        "steps": [
            {
                "rate_per_s": 20.0 * (i + 1),
                "duration_s": 30.0,
                "published": 600,
                "dispatched": 600 - n,
                "median_ms": 50.0,
                "p99_ms": 90.0,
                "max_ms": 120.0,
                "lost": n,
                "failed_invocations": 0,
            }
            for i, n in enumerate(lost)
        ],
    }


@pytest.mark.parametrize("json_mode", [False, True])
def test_bench_load_fails_on_a_lost_fault_in_text_and_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], json_mode: bool
) -> None:
    argv = ["--json"] if json_mode else []
    monkeypatch.setattr(flow, "measure_load", lambda *a, **k: _load_results(0, 0))
    assert flow.load_main(argv) == 0
    monkeypatch.setattr(flow, "measure_load", lambda *a, **k: _load_results(0, 1))
    assert flow.load_main(argv) == 1
    out = capsys.readouterr().out
    if json_mode:
        printed = [json.loads(line) for line in out.splitlines()]
        assert [p["passed"] for p in printed] == [True, False]
        assert printed[1]["checks"][1] == {
            "name": "lost at 40/s",
            "figure": 1,
            "target": "0",
            "passed": False,
        }
    else:
        assert "lost at 40/s" in out and "MISS" in out


def test_bench_flow_exits_with_its_checks_in_json_mode(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(flow, "run", lambda *a: _flow_results(import__ratio=1.9))
    assert flow.main(["--json"]) == 1
    printed = json.loads(capsys.readouterr().out)
    assert printed["passed"] is False
    assert [c["name"] for c in printed["checks"] if not c["passed"]] == ["import ratio"]


def test_the_burst_and_faults_benches_fail_on_anything_lost_or_doubled() -> None:
    rows = {
        "unaccounted": 0,
        "events_in_two_orders": 0,
        "open_faults_with_two_orders": 0,
        "outcomes_agree": True,
        "failed_invocations": 0,
        "idle": True,
    }
    assert targets.exit_status(burst.checks(rows)) == 0
    assert targets.exit_status(burst.checks(rows | {"events_in_two_orders": 1})) == 1
    kind = faults.KindResult("throttle", 20, 20, 0, 0, 0, lost=0, duplicated=0, faults_injected=9)
    assert targets.exit_status(faults.checks([kind])) == 0
    doubled = faults.KindResult("crash", 20, 19, 0, 0, 0, lost=0, duplicated=1, faults_injected=4)
    assert targets.exit_status(faults.checks([kind, doubled])) == 1


def _scale_report(peak: float) -> dict[str, Any]:
    figures = {
        "hottest_key": "LEARNED",
        "peak_units_per_s": peak,
        "limit": scale.READ_LIMIT,
        "of_limit": peak / scale.READ_LIMIT,
        "hottest_key_share": 1.0,
        "keys": 1,
        "all_keys_peak_units_per_s": peak,
        "holds": peak <= scale.READ_LIMIT,
    }
    return {
        "scenarios": {
            "storm": {
                "what": "a storm",
                "faults": 10,
                "peak_faults_per_s": 10,
                "tables": {"LearningTable": {"read": figures}},
            }
        }
    }


def test_a_key_over_its_limit_fails_the_scale_bench() -> None:
    assert targets.exit_status(scale.checks(_scale_report(2_999.0))) == 0
    failed = scale.checks(_scale_report(3_001.0))
    assert targets.exit_status(failed) == 1
    assert failed[0].name == "storm LearningTable read units/s on the hottest key"


@pytest.mark.parametrize("json_mode", [False, True])
def test_the_cli_exit_code_follows_a_miss(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], json_mode: bool
) -> None:
    """`faultline bench load` through the command's own entry point."""
    argv = ["bench", "load", *(["--json"] if json_mode else [])]
    monkeypatch.setattr(flow, "measure_load", lambda *a, **k: _load_results(0))
    assert cli.main(argv) == 0
    monkeypatch.setattr(flow, "measure_load", lambda *a, **k: _load_results(3))
    assert cli.main(argv) == 1
    capsys.readouterr()
