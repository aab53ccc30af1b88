"""The scale bench: real key functions in, hot keys out as numbers (no emulator)."""

from __future__ import annotations

import json
from functools import partial

from bench import scale
from bench.fleet import Fleet, busy_home, fleet_storm, repeat_storm
from functions.domain.catalog import default_catalog

# Small but fast storms: the bench's own storm takes a minute.
BURST = scale.Scenario(
    "burst", "20,000 faults in 60 s", partial(fleet_storm, faults=20_000, seconds=60)
)
REPEATS = scale.Scenario(
    "repeats",
    "2,000 re-reporting every 2 s",
    partial(repeat_storm, appliances=2_000, every_seconds=2.0, seconds=60),
)
HOME = scale.Scenario("busy_home", "one home, 300 appliances", busy_home)


def by_status(report: dict, scenario: str) -> dict:
    return report["scenarios"][scenario]["tables"]["OrdersTable/by_status"]["write"]


def test_the_old_status_key_is_flagged_and_the_sharded_queue_holds() -> None:
    recorded = scale.recorded_profiles()
    old = scale.run([BURST, REPEATS], profiles=scale.superseded(recorded))
    new = scale.run([BURST, REPEATS], profiles=recorded)
    assert not by_status(old, "repeats")["holds"]  # a burst of new orders, then repeats
    for scenario in ("burst", "repeats"):
        assert by_status(old, scenario)["hottest_key"].startswith("STATUS#")
        assert by_status(new, scenario)["hottest_key"].startswith("QUEUE#")
        assert by_status(new, scenario)["holds"]
        # Sharding spreads the same traffic: the hottest key carries a fraction of it
        assert (
            by_status(new, scenario)["peak_units_per_s"]
            < by_status(old, scenario)["peak_units_per_s"] / 4
        )
    assert not old["all_hold"]


def test_a_home_with_hundreds_of_appliances_holds_and_is_its_own_hottest_key() -> None:
    report = scale.run([HOME])
    home = report["scenarios"]["busy_home"]["tables"]["OrdersTable/by_home"]["write"]
    assert home["hottest_key"] == "HOME#home-block-of-flats"
    assert home["hottest_key_share"] == 1.0
    assert home["holds"] and report["all_hold"]


def test_a_malformed_storm_spreads_over_the_days_shards() -> None:
    malformed = scale.Scenario("malformed", "rejected burst", BURST.faults, rejected=True)
    rejections = scale.run([malformed])["scenarios"]["malformed"]["tables"]["RejectionsTable"][
        "write"
    ]
    assert rejections["keys"] == 8
    assert rejections["hottest_key_share"] < 0.2


def test_the_storm_generator_is_one_model_in_one_region_in_time_order() -> None:
    faults = list(fleet_storm(Fleet(default_catalog()), faults=2_000, seconds=10))
    assert len(faults) == 2_000
    assert len({(f.manufacturer, f.model, f.fault_code) for f in faults}) == 1
    assert len({f.cell[:3] for f in faults}) == 1  # precision-3 parent: one region
    assert [f.at for f in faults] == sorted(f.at for f in faults)
    assert len({f.thing_name for f in faults}) == 2_000


def test_the_exit_status_says_whether_every_key_holds(monkeypatch, capsys) -> None:
    report = scale.run([HOME])
    monkeypatch.setattr(scale, "run", lambda *a, **k: json.loads(json.dumps(report)))
    asked: list[bool] = []

    def old_scheme_figures() -> dict:
        asked.append(True)
        return {}

    monkeypatch.setattr(scale, "old_scheme_figures", old_scheme_figures)
    assert scale.main(["--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["all_hold"] is True and printed["passed"] is True
    assert not asked  # the superseded key scheme only when asked for
    hot = report["scenarios"]["busy_home"]["tables"]["LearningTable"]["read"]
    hot.update(peak_units_per_s=scale.READ_LIMIT + 1, holds=False)
    report["all_hold"] = False
    assert scale.main(["--compare-superseded"]) == 1
    assert "all keys hold: NO" in capsys.readouterr().out
    assert asked == [True]
