"""The import benchmark times the handler as Lambda loads it: from its built artifact."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.flow import FUNCTION, HANDLER, _import_seconds, build_artifact_code


def test_the_handler_is_imported_from_the_artifact_with_or_without_bytecode(
    tmp_path: Path,
) -> None:
    compiled = build_artifact_code(FUNCTION, tmp_path / "compiled", bytecode=True)
    sources = build_artifact_code(FUNCTION, tmp_path / "sources", bytecode=False)
    handler_file = Path(*HANDLER.split(".")[:-1])
    assert list((compiled / handler_file.parent / "__pycache__").glob("app.*.pyc"))
    assert not list(sources.rglob("*.pyc"))

    # _import_seconds raises when the module came from anywhere but the artifact.
    for artifact in (compiled, sources):
        assert _import_seconds(HANDLER.rsplit(".", 1)[0], artifact) > 0
    assert not list(sources.rglob("*.pyc")), "an import wrote bytecode into the artifact"


def test_an_import_from_outside_the_artifact_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    (empty / "json").mkdir(parents=True)  # not a package: the stdlib's json wins
    with pytest.raises(RuntimeError, match="not from the artifact"):
        _import_seconds("json", empty)
