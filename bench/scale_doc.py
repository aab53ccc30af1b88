"""docs/scale.md's figures, written by the bench: `faultline bench scale --write-doc`.

Each figure sits in a block the bench generates, between `<!-- bench:NAME -->` and
`<!-- /bench:NAME -->`. The per-operation table and the cost come from the recording in a
few seconds, so a test renders them again and compares them with the doc. The partition-key
tables come from the scenarios (minutes): their blocks carry a fingerprint of everything
they were computed from (the recorded operations as key templates and units, the
assumptions, the scenarios and the model's code), and the test recomputes the fingerprint.
Either way, a dal change that moves a figure fails the test until the doc is written again.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench import cost, fleet, scale
from bench.scale import Assumptions, Profile

DOC = Path(__file__).resolve().parents[1] / "docs" / "scale.md"
SCENARIO_BLOCKS = ("hot-keys", "whole-table", "superseded")
RECORDING_BLOCKS = ("operations", "cost", "prices")
_BLOCK = re.compile(
    r"(<!-- bench:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /bench:(?P=name) -->)", re.S
)


# --------------------------------------------------------------------------- fingerprint


def fingerprint(profiles: Mapping[str, Profile], assumptions: Assumptions) -> str:
    """What the scenario blocks were computed from, hashed."""
    inputs = {
        "profiles": {
            name: [
                [u.target, u.kind, u.template, u.units_at_scale(assumptions), u.per_part]
                for u in p.uses
            ]
            for name, p in sorted(profiles.items())
        },
        "assumptions": assumptions.__dict__,
        "scenarios": [[s.name, s.what, s.rejected] for s in scale.SCENARIOS],
        "code": [
            inspect.getsource(obj)
            for obj in (
                scale.KeyUse,
                scale.KeyLoad,
                scale.RepairFlow,
                scale.run_scenario,
                scale.learned_snapshot_bytes,
                fleet,
                render_hot_keys,
                render_whole_table,
                render_superseded,
            )
        ],
    }
    text = json.dumps(inputs, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _stamp(mark: str) -> str:
    return f"<!-- computed from inputs {mark}: `faultline bench scale --write-doc` -->\n"


# --------------------------------------------------------------------------- blocks

HOT_KEY_SCENARIOS = ("steady_day", "storm", "repeats", "busy_home", "malformed_storm")


def _cell(figures: dict[str, Any] | None, kind: str) -> str:
    if figures is None:
        return "-"
    units = f"{figures['peak_units_per_s']:,.0f} {kind[0].upper()}"
    share = figures["of_limit"]
    return f"{units} ({share:.1%})" if share >= 0.01 else units


def render_hot_keys(report: dict[str, Any], mark: str) -> str:
    """Peak units per second on each table's and index's hottest key, per scenario."""
    scenarios = report["scenarios"]
    names = [n for n in HOT_KEY_SCENARIOS if n in scenarios]
    targets = sorted({t for n in names for t in scenarios[n]["tables"]})
    head = " | ".join(
        f"{n.replace('_', ' ')} (peak {scenarios[n]['peak_faults_per_s']:,}/s)" for n in names
    )
    lines = [_stamp(mark), f"| table / index | {head} |", "|---" * (len(names) + 1) + "|"]
    for target in targets:
        cells = []
        for n in names:
            row = scenarios[n]["tables"].get(target, {})
            parts = [_cell(row.get(k), k) for k in ("write", "read") if k in row]
            cells.append(", ".join(parts) if parts else "-")
        lines.append(f"| {target} | " + " | ".join(cells) + " |")
    hold = "All keys hold" if report["all_hold"] else "**Not every key holds**"
    lines.append("")
    lines.append(
        f"{hold} (W: write units/s, R: read units/s; in brackets the share of the per-key "
        "limit, when above 1 %)."
    )
    return "\n".join(lines) + "\n"


def render_whole_table(report: dict[str, Any], mark: str) -> str:
    """The whole table's (or index's) busiest second: on-demand's warm throughput."""
    scenarios = report["scenarios"]
    names = [n for n in ("steady_day", "storm", "repeats") if n in scenarios]
    lines = [
        _stamp(mark),
        "| units/s, whole table or index | "
        + " | ".join(n.replace("_", " ") for n in names)
        + " |",
        "|---" * (len(names) + 1) + "|",
    ]
    targets = sorted({t for n in names for t in scenarios[n]["tables"]})
    for target in targets:
        for kind in ("write", "read"):
            figures = [scenarios[n]["tables"].get(target, {}).get(kind) for n in names]
            if not any(figures):
                continue
            cells = [f"{f['all_keys_peak_units_per_s']:,.0f}" if f else "-" for f in figures]
            lines.append(f"| {target} ({kind}s) | " + " | ".join(cells) + " |")
    units = {n: scenarios[n]["units"] for n in names}
    lines.append("")
    lines.append(
        "Units in all: "
        + "; ".join(
            f"{n.replace('_', ' ')} {u['write_units']:,.0f} W and {u['read_units']:,.0f} R "
            f"for {scenarios[n]['faults']:,} reports"
            for n, u in units.items()
        )
        + "."
    )
    return "\n".join(lines) + "\n"


def render_superseded(report: dict[str, Any], mark: str) -> str:
    old = report.get("old_scheme", {})
    new = report["scenarios"]
    lines = [_stamp(mark)]
    for name, figures in old.items():
        now = new[name]["tables"]["OrdersTable/by_status"]["write"]
        lines.append(
            f"- {name.replace('_', ' ')}: one `STATUS#` key would peak at "
            f"**{figures['peak_units_per_s']:,.0f} write units/s ({figures['of_limit']:.0%} of "
            f"the limit)** on `{figures['hottest_key']}`; the 16 `QUEUE#` shards peak at "
            f"{now['peak_units_per_s']:,.0f} ({now['of_limit']:.1%})."
        )
    return "\n".join(lines) + "\n"


def render_operations(rows: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| operation | function | requests | read units | write units (table + indexes) | "
        "IoT out | notifications |",
        "|---|---|---|---|---|---|---|",
    ]
    short = {
        "IngestFaultFunction": "ingest",
        "ApiFunction": "API",
        "SweepStuckOrdersFunction": "sweeper",
    }
    for name, r in rows.items():
        writes = r["write_units_table"] + r["write_units_indexes"]
        lines.append(
            f"| `{name}`: {r['what']} | {short.get(r['function'], r['function'])} | "
            f"{r['requests']} | {r['read_units']:g} | {writes:g} ({r['write_units_table']:g} + "
            f"{r['write_units_indexes']:g}) | {r['iot_messages_out']} | {r['notifications']} |"
        )
    return "\n".join(lines) + "\n"


def render_cost(
    per_fault: dict[str, Any], fixed: dict[str, Any], a: Assumptions, usage: cost.Usage
) -> str:
    lines = [
        "| item | per 1,000 faults | price | dollars |",
        "|---|---|---|---|",
    ]
    for line in per_fault["lines"]:
        price = cost.PRICES[line["price"]]
        lines.append(
            f"| {line['item']} | {line['quantity']:,.1f} | {price}"
            f"{'' if price.verified else ' (assumed)'} | ${line['dollars']:,.4f} |"
        )
    lines.append(
        f"| **total** | | | **${per_fault['total_dollars']:,.2f}** "
        f"(${per_fault['without_cognito_dollars']:,.4f} without Cognito) |"
    )
    lines.append("")
    lines.append(
        "Fixed, whatever faults: "
        + "; ".join(f"{line['item']} ${line['dollars']:,.2f}" for line in fixed["lines"])
        + f" a month: ${fixed['total_dollars']:,.2f}, or ${fixed['per_1000_faults_dollars']:,.2f} "
        f"per 1,000 faults at {usage.faults_per_month:,} faults a month."
    )
    mix = per_fault["operations_per_1000_faults"]
    lines.append("")
    lines.append(
        "Operations per 1,000 faults: "
        + ", ".join(f"{name} {n:g}" for name, n in mix.items())
        + "."
    )
    lines.append(
        f"Assumed: {a.auto_approved:.0%} of homes approve by policy, {a.unanswered:.0%} of waiting "
        f"orders are never answered (reminded, then expired), {a.declined:.0%} of the answers "
        f"decline, {a.redelivered:.0%} of faults are delivered twice; every homeowner with a fault "
        f"signs in that month ({cost.monthly_active_share(usage):.2f} monthly active users per "
        f"fault, {usage.appliances:,} appliances in homes of {usage.appliances_per_home:g}); a "
        f"visit loads the page once; one e-mail per notification; Lambda durations "
        + ", ".join(f"{f} {s:g} s" for f, s in cost.DEFAULT_SECONDS.items())
        + " (not measured on AWS)."
    )
    return "\n".join(lines) + "\n"


def render_prices() -> str:
    lines = [
        f"Prices as put together on {cost.PRICES_READ_ON} (`bench/cost.py`, `PRICES`):",
        "",
        "| price | dollars | source |",
        "|---|---|---|",
    ]
    for name, price in cost.PRICES.items():
        lines.append(
            f"| {name} | {price} | "
            f"{price.source}{'' if price.verified else ' (**not verified**)'} |"
        )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the doc


def recording_blocks(profiles: Mapping[str, Profile], assumptions: Assumptions) -> dict[str, str]:
    usage = cost.usage_from_template()
    rows = scale.operations_table(dict(profiles), assumptions)
    per_fault = cost.per_thousand_faults(profiles, assumptions, usage)
    fixed = cost.fixed_per_month(profiles, assumptions, usage)
    return {
        "operations": render_operations(rows),
        "cost": render_cost(per_fault, fixed, assumptions, usage),
        "prices": render_prices(),
    }


def scenario_blocks(report: dict[str, Any], mark: str) -> dict[str, str]:
    return {
        "hot-keys": render_hot_keys(report, mark),
        "whole-table": render_whole_table(report, mark),
        "superseded": render_superseded(report, mark),
    }


def blocks_in(text: str) -> dict[str, str]:
    return {m["name"]: m["body"] for m in _BLOCK.finditer(text)}


def with_blocks(text: str, blocks: Mapping[str, str]) -> str:
    missing = set(blocks) - set(blocks_in(text))
    if missing:
        raise ValueError(f"{DOC.name} has no block for {', '.join(sorted(missing))}")

    def replace(match: re.Match[str]) -> str:
        body = blocks.get(match["name"], match["body"])
        return f"{match.group(1)}{body}{match.group(4)}"

    return _BLOCK.sub(replace, text)


def write_doc(
    report: dict[str, Any],
    profiles: Mapping[str, Profile],
    assumptions: Assumptions,
    path: Path = DOC,
) -> None:
    mark = fingerprint(profiles, assumptions)
    blocks = {**recording_blocks(profiles, assumptions), **scenario_blocks(report, mark)}
    path.write_text(with_blocks(path.read_text(), blocks))


def stale(profiles: Mapping[str, Profile], assumptions: Assumptions, path: Path = DOC) -> list[str]:
    """The doc's blocks that disagree with the bench (the test's question)."""
    found = blocks_in(path.read_text())
    problems = []
    for name, body in recording_blocks(profiles, assumptions).items():
        if found.get(name) != body:
            problems.append(name)
    mark = fingerprint(profiles, assumptions)
    for name in SCENARIO_BLOCKS:
        if _stamp(mark) not in found.get(name, ""):
            problems.append(name)
    return problems
