"""Targets a benchmark prints, each with a pass or a miss, and the exit status they make.

A benchmark turns its results into `Check`s (a figure against the target printed beside it),
prints them (text, or a "checks" list in its JSON object) and exits 0 only when every check
passed: a figure that misses its target fails the command in every output mode. A figure
that could not be measured (None) is a miss, never a silent pass.
"""

from __future__ import annotations

import json
import operator
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, TextIO

_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
    "==": operator.eq,
}


@dataclass(frozen=True)
class Check:
    name: str
    figure: float | int | bool | None
    target: str  # as printed: "<= 2", "< 250", "0", "yes"
    passed: bool


def meets(figure: float | int | bool | None, target: str) -> bool:
    """Whether `figure` meets `target`: "<= 2", "< 250", ">= 0.9", "== 1", a bare number
    (equal to it), or "yes" / "no" for a figure that is a truth."""
    if figure is None:
        return False
    text = target.strip()
    if text in ("yes", "no"):
        return bool(figure) is (text == "yes")
    for symbol in sorted(_COMPARISONS, key=len, reverse=True):
        if text.startswith(symbol):
            return _COMPARISONS[symbol](float(figure), float(text[len(symbol) :]))
    return float(figure) == float(text)


def check(name: str, figure: float | int | bool | None, target: str) -> Check:
    return Check(name, figure, target, meets(figure, target))


def exit_status(checks: Iterable[Check]) -> int:
    """0 when every check passed, else 1."""
    return 0 if all(c.passed for c in checks) else 1


def as_json(checks: Iterable[Check]) -> dict[str, Any]:
    """The checks as a JSON object's fields: every check, and whether all passed."""
    listed = [asdict(c) for c in checks]
    return {"checks": listed, "passed": all(c["passed"] for c in listed)}


def print_checks(checks: Iterable[Check], out: TextIO) -> None:
    """One line per target: the figure, the target and pass / MISS, then the verdict."""
    listed = list(checks)
    width = max((len(c.name) for c in listed), default=0)
    print("Targets", file=out)
    for c in listed:
        print(
            f"  {c.name:<{width}}  {_shown(c.figure):>10}  target {c.target:<8} "
            f"{'pass' if c.passed else 'MISS'}",
            file=out,
        )
    missed = sum(not c.passed for c in listed)
    print(
        f"  {'all targets met' if not missed else f'{missed} of {len(listed)} targets missed'}",
        file=out,
    )


def _shown(figure: float | int | bool | None) -> str:
    if figure is None:
        return "not measured"
    if isinstance(figure, bool):
        return "yes" if figure else "no"
    return f"{figure:g}" if isinstance(figure, float) else str(figure)


def finish(
    results: dict[str, Any],
    checks: list[Check],
    *,
    json_mode: bool,
    print_text: Callable[[], None],
    indent: int | None = None,
) -> int:
    """Print the results (one JSON object with the checks, or the text and the checks) and
    return the exit status they make."""
    if json_mode:
        print(json.dumps({**results, **as_json(checks)}, indent=indent))
    else:
        print_text()
        print_checks(checks, sys.stdout)
    return exit_status(checks)
