"""`faultline plan solve`, `bench plan` and `bench dispatch`, kept short: a truncated
Solomon instance, the best known solutions through the reader and checker, a small city."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.city import build_city
from bench.dispatch import evaluate, greedy_day, planner_day
from bench.plan import INSTANCES, benchmarks_dir
from faultline.cli import main
from functions.common.routing_solver import SolveLimit
from functions.common.vrptw import SCALE, read_instance, read_solution
from functions.domain.planning.routing import Trip, check
from functions.domain.planning.travel import GreatCircleTravel

SHARED = benchmarks_dir()


def truncated(source: Path, customers: int, target: Path) -> Path:
    """The instance with its first `customers` customers only (a valid VRPLIB file)."""
    keep = customers + 1
    out: list[str] = []
    section = None
    rows = 0
    for line in source.read_text().splitlines():
        head = line.split(":")[0].strip()
        if head == "DIMENSION":
            out.append(f"DIMENSION : {keep}")
            continue
        if line.strip().endswith("_SECTION"):
            section, rows = line.strip(), 0
            out.append(line)
            continue
        if line.strip() == "EOF" or section is None or section == "DEPOT_SECTION":
            out.append(line)
            continue
        rows += 1
        if rows <= keep:
            out.append(line)
    target.write_text("\n".join(out) + "\n")
    return target


@pytest.mark.parametrize("name", INSTANCES)
def test_the_best_known_routes_check_and_cost_what_their_file_says(name: str) -> None:
    instance = read_instance(SHARED / f"{name}.vrp")
    routes, cost = read_solution(SHARED / f"{name}.sol")
    checked = check(instance.problem, [Trip(0, tuple(c - 1 for c in r)) for r in routes])
    assert checked.feasible, checked.issues
    assert round(checked.distance / SCALE, 1) == cost


def test_plan_solve_prints_feasible_routes_numbered_as_in_sol_files(tmp_path, capsys):
    path = truncated(SHARED / "C101.vrp", 25, tmp_path / "C101-25.vrp")
    code = main(["plan", "solve", str(path), "--seconds", "0.5", "--json"])
    answer = json.loads(capsys.readouterr().out)
    assert code == 0
    assert sorted(c for route in answer["routes"] for c in route) == list(range(1, 26))
    instance = read_instance(path)
    checked = check(instance.problem, [Trip(0, tuple(c - 1 for c in r)) for r in answer["routes"]])
    assert checked.feasible and answer["cost"] == round(checked.distance / SCALE, 1)


@pytest.mark.parametrize(
    "text", ["", "NAME : x\nTYPE : CVRPTW\nDIMENSION : 3\nEOF\n", "not vrplib at all"]
)
def test_a_file_that_does_not_parse_is_exit_2_with_a_message(tmp_path, capsys, text):
    path = tmp_path / "bad.vrp"
    path.write_text(text)
    assert main(["plan", "solve", str(path), "--seconds", "0.1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}") and len(err.splitlines()) == 1


def test_a_missing_file_is_exit_2(tmp_path, capsys):
    assert main(["plan", "solve", str(tmp_path / "none.vrp")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_the_planner_day_replays_without_a_late_visit_and_everyone_qualified():
    city = build_city(visits=80, technicians=25, seed=3)
    travel = GreatCircleTravel()
    greedy = greedy_day(city)
    quick = SolveLimit(iterations=150)
    planned, replans, parts = planner_day(city, greedy, travel, quick, quick, seed=3)
    emergencies = sum(v.emergency for v in city.visits)
    assert replans == emergencies and parts >= 1
    for day in (greedy, planned):
        figures = evaluate(city, day, travel)
        assert figures["served"] + figures["unserved"] == len(city.visits)
        assert figures["served_twice"] == figures["unqualified_assignments"] == 0
    figures = evaluate(city, planned, travel)
    assert figures["late_visits"] == 0 and figures["overtime_minutes"] == 0


def test_the_city_is_the_same_in_every_process():
    """Seeded and deterministic, even though string hashing (set order) differs between
    processes: another process with another hash seed builds the same city."""
    code = (
        "import hashlib; from bench.city import build_city; "
        "print(hashlib.sha256(repr(build_city(visits=40, technicians=15)).encode()).hexdigest())"
    )
    other = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"
    there = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONHASHSEED": other},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    here = hashlib.sha256(repr(build_city(visits=40, technicians=15)).encode()).hexdigest()
    assert there == here
