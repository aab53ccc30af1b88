"""The security scanner a reviewer would run over template.yaml (checkov, CloudFormation
framework) fails no check: each finding is fixed in the template or skipped in the
resource's Metadata with its reason in one sentence.

checkov lives in a venv of its own (`make scan` installs it into .venv/checkov from
requirements-checkov.txt: its pins conflict with the project's). A new resource that fails
a check fails this test with the check ids and resources to fix or skip.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.template import TEMPLATE_PATH, load_template

REPO = TEMPLATE_PATH.parent
PINNED = REPO / "requirements-checkov.txt"
#: As a reviewer runs it; --skip-download: no call to Prisma Cloud for guidelines.
ARGS = ["-f", TEMPLATE_PATH.name, "--framework", "cloudformation", "--output", "json"]
ARGS += ["--compact", "--quiet", "--skip-download"]


def checkov_executable() -> Path:
    """$CHECKOV, else the venv `make scan` makes beside this interpreter's, else PATH's."""
    found = [os.environ.get("CHECKOV"), str(Path(sys.prefix) / "checkov" / "bin" / "checkov")]
    found.append(shutil.which("checkov"))
    for candidate in found:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    pytest.fail(
        "checkov is not installed: `make scan` installs it into .venv/checkov "
        "(requirements-checkov.txt), or set CHECKOV to its executable"
    )


@pytest.fixture(scope="module")
def scan() -> dict[str, Any]:
    run = subprocess.run(
        [str(checkov_executable()), *ARGS],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"},
    )
    assert run.stdout.strip(), f"checkov printed nothing (exit {run.returncode}): {run.stderr}"
    report = json.loads(run.stdout)
    # One report per framework run; a list when there are several.
    (report,) = report if isinstance(report, list) else [report]
    return dict(report)


def test_checkov_is_the_pinned_version(scan: dict[str, Any]) -> None:
    (pin,) = re.findall(r"^checkov==(\S+)$", PINNED.read_text(), flags=re.MULTILINE)
    assert scan["summary"]["checkov_version"] == pin


def test_the_template_fails_no_check(scan: dict[str, Any]) -> None:
    failed = [
        f"{c['check_id']} {c['resource']}: {c['check_name']}"
        for c in scan.get("results", {}).get("failed_checks", [])
    ]
    assert scan["summary"]["parsing_errors"] == 0
    assert failed == [], (
        "fix each in template.yaml, or skip it in the resource's Metadata "
        "(checkov: skip: - id: CKV_AWS_... comment: <the reason, one sentence>):\n"
        + "\n".join(failed)
    )
    assert scan["summary"]["passed"] > 0


def declared_skips() -> list[tuple[str, str, str]]:
    """(resource, check id, comment) of every skip in the template's Metadata."""
    return [
        (logical, skip.get("id", ""), skip.get("comment", ""))
        for logical, resource in load_template()["Resources"].items()
        for skip in ((resource.get("Metadata") or {}).get("checkov") or {}).get("skip", [])
    ]


def test_every_skip_gives_its_reason_in_one_sentence() -> None:
    skips = declared_skips()
    assert skips
    for logical, check, comment in skips:
        assert re.fullmatch(r"CKV2?_AWS_\d+", check), (logical, check)
        sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z])", comment.strip())
        assert len(sentences) == 1 and comment.endswith("."), (logical, check, comment)


def test_every_skip_is_one_checkov_used(scan: dict[str, Any]) -> None:
    # A skip left behind after its check stopped applying would hide nothing but still read
    # as a decision: the scanner counts each skip it applied.
    assert scan["summary"]["skipped"] == len(declared_skips())
