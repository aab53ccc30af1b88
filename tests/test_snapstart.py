"""SnapStart hooks: a restored environment re-seeds random and rebuilds its cached objects."""

from __future__ import annotations

import functools
import random
import sys
import types
from collections.abc import Callable

import pytest

from functions.common import snapstart

COMPOSITION_ROOT = "fake_composition_root"


@pytest.fixture
def root(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """A stand-in composition root: a cached factory and a reset() (whatever the real one
    caches, the hook clears it through the same two doors)."""
    module = types.ModuleType(COMPOSITION_ROOT)
    module.resets = 0  # type: ignore[attr-defined]

    def reset() -> None:
        module.resets += 1  # type: ignore[attr-defined]

    @functools.cache
    def client() -> object:
        return object()

    client.__module__ = reset.__module__ = COMPOSITION_ROOT
    module.reset, module.client = reset, client  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, COMPOSITION_ROOT, module)
    monkeypatch.setattr(snapstart, "PER_ENVIRONMENT_MODULES", (COMPOSITION_ROOT, "not_imported"))
    return module


def test_after_restore_the_caches_are_dropped_and_random_reseeded(root: types.ModuleType) -> None:
    before = root.client()
    random.seed(7)
    snapshot_draw = random.Random(7).random()
    snapstart.forget_environment_state()
    assert root.resets == 1
    assert root.client() is not before, "the cached client was dropped"
    assert random.random() != snapshot_draw, "random was re-seeded, not left as in the snapshot"


def test_the_hook_is_registered_only_where_the_runtime_offers_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import fails
    assert snapstart.register_runtime_hooks() is False
    registered: list[Callable[[], None]] = []
    runtime = types.ModuleType("snapshot_restore_py")
    runtime.register_after_restore = registered.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime)
    assert snapstart.register_runtime_hooks() is True
    assert registered == [snapstart.forget_environment_state]
