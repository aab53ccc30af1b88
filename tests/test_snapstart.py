"""SnapStart hooks: a restored environment re-seeds random and builds its own dependencies."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest

from functions.common import snapstart, wiring

ROOT = Path(__file__).resolve().parents[1]

ENVIRONMENT = {
    "REGISTRY_TABLE": "r",
    "ORDERS_TABLE": "o",
    "TECHNICIANS_TABLE": "t",
    "REJECTIONS_TABLE": "x",
    "LEARNING_TABLE": "l",
    "STOCK_TABLE": "s",
    "ACCOUNTS_TABLE": "a",
    "NOTIFICATIONS_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:notifications",
    "USER_POOL_CLIENT_ID": "client",
    "TOKEN_ISSUER": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_pool",
    "JWKS_URL": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_pool/.well-known/jwks.json",
    "IOT_DATA_ENDPOINT": "example.iot",
}


def test_after_restore_dependencies_are_rebuilt_and_random_reseeded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    wiring.forget_dependencies()
    in_snapshot = wiring.dependencies()
    assert wiring.dependencies() is in_snapshot  # once per container
    random.seed(7)
    snapshot_draw = random.Random(7).random()

    snapstart.forget_environment_state()

    assert wiring.dependencies() is not in_snapshot, "the snapshot's clients were dropped"
    assert random.random() != snapshot_draw, "random was re-seeded, not left as in the snapshot"
    wiring.forget_dependencies()


def test_the_hooks_are_registered_only_where_the_runtime_offers_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import fails
    assert snapstart.register_runtime_hooks() is False
    before: list[Callable[[], None]] = []
    after: list[Callable[[], None]] = []
    runtime = types.ModuleType("snapshot_restore_py")
    runtime.register_before_snapshot = before.append  # type: ignore[attr-defined]
    runtime.register_after_restore = after.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime)
    assert snapstart.register_runtime_hooks() is True
    assert before == [snapstart.prepare_snapshot]
    assert after == [snapstart.forget_environment_state]


# In a fresh interpreter, as a cold start: what the handler's import built, and what the
# before-snapshot hook left unbuilt.
MODELS_BUILT = """
import json, sys
from functions.common import snapstart
import functions.ingest_fault.app
from pydantic import BaseModel

def ours():
    pending, seen = list(BaseModel.__subclasses__()), set()
    while pending:
        model = pending.pop()
        if model not in seen:
            seen.add(model)
            pending.extend(model.__subclasses__())
            if model.__module__.partition(".")[0] in snapstart.OUR_PACKAGES:
                yield model

def built():
    return sorted(m.__name__ for m in ours() if m.__pydantic_complete__)

at_import = built()
snapstart.prepare_snapshot()
print(json.dumps({"at_import": at_import, "models": len(list(ours())), "unbuilt": sorted(
    m.__name__ for m in ours() if not m.__pydantic_complete__)}))
"""


def test_models_are_built_before_the_snapshot_not_on_import() -> None:
    done = subprocess.run(
        [sys.executable, "-c", MODELS_BUILT],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(done.stdout)
    assert report["at_import"] == [], "a model built its validator on the handler's import"
    assert report["models"] > 20  # the order, registry, device and catalog models at least
    assert report["unbuilt"] == []
