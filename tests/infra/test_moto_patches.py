"""The moto patches refuse a moto release they were not written against."""

from __future__ import annotations

import re
from pathlib import Path

import moto
import pytest

from infra import moto_patches
from infra.moto_patches import MOTO_VERSION, MotoVersionError, patched_server

CONSTRAINTS = Path(__file__).resolve().parents[2] / "constraints.txt"


def test_the_patches_are_written_against_the_pinned_moto() -> None:
    pinned = re.search(r"^moto==(\S+)$", CONSTRAINTS.read_text(), re.MULTILINE)
    assert pinned is not None, "constraints.txt pins moto"
    assert pinned.group(1) == MOTO_VERSION
    assert moto.__version__ == MOTO_VERSION


def test_another_moto_version_is_refused_naming_both(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(moto, "__version__", "9.9.9")
    with pytest.raises(MotoVersionError) as refused:
        patched_server("127.0.0.1", 0)
    message = str(refused.value)
    assert f"written against moto {MOTO_VERSION}" in message
    assert "found moto 9.9.9" in message
    assert "constraints.txt" in message


def test_the_version_is_checked_before_anything_is_patched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    patched: list[str] = []
    for name in ("_item_level_transaction_rollback", "_quiet_moto_server"):
        monkeypatch.setattr(moto_patches, name, lambda *_, name=name: patched.append(name))
    monkeypatch.setattr(moto, "__version__", "9.9.9")
    with pytest.raises(MotoVersionError):
        patched_server("127.0.0.1", 0)
    assert patched == []
