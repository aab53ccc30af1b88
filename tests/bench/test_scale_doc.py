"""docs/scale.md's figures are the bench's: the test fails when they disagree.

The per-operation table and the cost are rendered again from the recording and compared;
the partition-key tables carry the fingerprint of what they were computed from. When this
fails after a change, run `faultline bench scale --write-doc` and commit the doc."""

from __future__ import annotations

from pathlib import Path

from bench import scale, scale_doc
from functions.domain.catalog import default_catalog


def test_the_docs_figures_are_the_benchs() -> None:
    assumptions = scale.with_measured(None, default_catalog())
    stale = scale_doc.stale(scale.recorded_profiles(), assumptions)
    assert not stale, (
        f"docs/scale.md disagrees with the bench in {', '.join(stale)}: "
        "run `faultline bench scale --write-doc`"
    )


def test_a_changed_figure_is_found(tmp_path: Path) -> None:
    doc = tmp_path / "scale.md"
    text = scale_doc.DOC.read_text()
    body = scale_doc.blocks_in(text)["operations"]
    changed = body.replace("| ingest |", "| ingest (edited) |", 1)
    assert changed != body
    doc.write_text(scale_doc.with_blocks(text, {"operations": changed}))
    assumptions = scale.with_measured(None, default_catalog())
    assert "operations" in scale_doc.stale(scale.recorded_profiles(), assumptions, doc)
