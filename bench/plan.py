"""`faultline bench plan`: the route planner's solver on six Solomon VRPTW instances, against
their best known solutions.

Each instance is solved by the planner's own solver adapter (the one that plans technicians'
days) for `--seconds` and checked by the problem's own numbers, not by the solver's word:
every route within capacity, every service inside its customer's window, back at the depot
before it closes, each customer exactly once, no more routes than vehicles. The gap is to
the best known cost of the `.sol` file (DIMACS: distances truncated to one decimal); the
`.sol` routes are checked the same way, so the reader and the checker are held to the file.

Target: every route feasible and a mean gap of at most 1 % at 5 s per instance.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from functions.common.routing_solver import SolveLimit
from functions.common.vrptw import (
    SCALE,
    InstanceError,
    customer_routes,
    read_instance,
    solve_instance,
)
from functions.common.vrptw import read_solution as read_sol
from functions.domain.planning.routing import Trip, check

INSTANCES = ("C101", "C201", "R101", "R201", "RC101", "RC201")
TARGET_MEAN_GAP_PERCENT = 1.0
DEFAULT_SECONDS = 5.0


def benchmarks_dir() -> Path:
    """`shared/benchmarks/vrptw` beside the repository (or beside its worktrees' folder)."""
    repo = Path(__file__).resolve().parents[1]
    for shared in (repo / ".." / "shared", repo / ".." / ".." / "shared"):
        if (shared / "benchmarks" / "vrptw").is_dir():
            return (shared / "benchmarks" / "vrptw").resolve()
    return (repo / ".." / "shared" / "benchmarks" / "vrptw").resolve()


def run_instance(vrp: Path, sol: Path, seconds: float, seed: int) -> dict[str, Any]:
    instance = read_instance(vrp)
    best_routes, best_cost = read_sol(sol)
    best_trips = [Trip(0, tuple(c - 1 for c in route)) for route in best_routes]
    best_checked = check(instance.problem, best_trips)
    result = solve_instance(instance, SolveLimit(seconds=seconds), seed)
    routes = customer_routes(result.solution.trips)
    return {
        "instance": instance.name,
        "customers": len(instance.problem.stops),
        "routes": len(routes),
        "vehicles": instance.problem.fleets[0].count,
        "cost": round(result.cost, 1),
        "best_known": best_cost,
        "gap_percent": round(100 * (result.cost - best_cost) / best_cost, 3),
        "feasible": result.checked.feasible,
        "issues": list(result.checked.issues),
        "seconds": round(result.solution.seconds, 2),
        "iterations": result.solution.iterations,
        # The .sol file's own routes, through the same reader and checker.
        "best_known_checks": best_checked.feasible
        and round(best_checked.distance / SCALE, 1) == best_cost,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="faultline bench plan", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--seconds", type=float, default=DEFAULT_SECONDS, help="solver time per instance"
    )
    parser.add_argument("--seed", type=int, default=1, help="solver seed")
    parser.add_argument(
        "--dir", type=Path, default=None, help="the instances' folder (default: shared/)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.seconds <= 0:
        parser.error("--seconds must be positive")
    folder = args.dir or benchmarks_dir()
    rows = []
    try:
        for name in INSTANCES:
            vrp, sol = folder / f"{name}.vrp", folder / f"{name}.sol"
            rows.append(run_instance(vrp, sol, args.seconds, args.seed))
    except InstanceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    mean_gap = sum(r["gap_percent"] for r in rows) / len(rows)
    feasible = all(r["feasible"] for r in rows)
    ok = feasible and mean_gap <= TARGET_MEAN_GAP_PERCENT
    report = {
        "seconds_per_instance": args.seconds,
        "seed": args.seed,
        "cpus": os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 2),
        "instances": rows,
        "mean_gap_percent": round(mean_gap, 3),
        "all_feasible": feasible,
        "target_mean_gap_percent": TARGET_MEAN_GAP_PERCENT,
        "ok": ok,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0 if ok else 1


def print_report(report: dict[str, Any]) -> None:
    print(
        f"VRPTW: {report['seconds_per_instance']:g} s per instance, seed {report['seed']}, "
        f"{report['cpus']} CPUs (load average {report['load_average']})"
    )
    print(f"{'instance':<9}{'routes':>7}{'cost':>10}{'best':>10}{'gap %':>8}  feasible  s")
    for r in report["instances"]:
        print(
            f"{r['instance']:<9}{r['routes']:>4}/{r['vehicles']:<2}{r['cost']:>10.1f}"
            f"{r['best_known']:>10.1f}{r['gap_percent']:>8.2f}"
            f"  {'yes' if r['feasible'] else 'NO':<8}"
            f"  {r['seconds']:.1f}"
        )
        for issue in r["issues"]:
            print(f"    {issue}")
    held = all(r["best_known_checks"] for r in report["instances"])
    print(
        "the .sol routes through the same reader and checker: "
        + ("feasible, their costs as the files say" if held else "DO NOT CHECK (see --json)")
    )
    verdict = "met" if report["ok"] else "MISSED"
    print(
        f"mean gap {report['mean_gap_percent']:.2f} % (target <= "
        f"{report['target_mean_gap_percent']:g} %), every route feasible: "
        f"{'yes' if report['all_feasible'] else 'NO'}; target {verdict}"
    )


if __name__ == "__main__":
    sys.exit(main())
