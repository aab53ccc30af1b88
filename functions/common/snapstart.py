"""Lambda SnapStart runtime hooks: what environments restored from one snapshot must not share.

With SnapStart (template.yaml) a published version starts from a snapshot of one
initialised environment, so whatever module state held then is shared by every environment
restored from it: the ``random`` state (each would draw the same numbers), the AWS clients
with their open connections and credentials, and caches timed with ``time.monotonic()``
(the appliance registry cache), whose clock means nothing on another host. After a restore
each environment re-seeds ``random`` and builds its own dependencies on first use. Before
the snapshot, the fault-code catalog is parsed and the models the function imported are
built (they defer that from import to first use, see schemas.contract), so restored
environments start with both.
"""

from __future__ import annotations

import random

from pydantic import BaseModel

from functions.common.wiring import forget_dependencies
from functions.domain.catalog import default_catalog

#: Where our models live (the packages shipped to Lambda).
OUR_PACKAGES = ("schemas", "functions")


def build_deferred_models() -> list[type[BaseModel]]:
    """Build the validators and serializers of every model of ours imported so far that
    deferred them; returns those it built."""
    built: list[type[BaseModel]] = []
    seen: set[type[BaseModel]] = set()
    pending = list(BaseModel.__subclasses__())
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.add(model)
        pending.extend(model.__subclasses__())
        ours = model.__module__.partition(".")[0] in OUR_PACKAGES
        if ours and not model.__pydantic_complete__:
            model.model_rebuild()
            built.append(model)
    return built


def prepare_snapshot() -> None:
    default_catalog()
    build_deferred_models()


def forget_environment_state() -> None:
    random.seed()  # from os.urandom: a fresh state per environment
    forget_dependencies()


def register_runtime_hooks() -> bool:
    """Register the hooks with the Lambda runtime.

    Returns False where the runtime's ``snapshot_restore_py`` is missing (tests, the local
    stack, a runtime without SnapStart): there is no snapshot to take or restore.
    """
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:
        return False
    register_before_snapshot(prepare_snapshot)
    register_after_restore(forget_environment_state)
    return True
