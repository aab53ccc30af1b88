"""Lambda SnapStart runtime hooks: what environments restored from one snapshot must not share.

With SnapStart (template.yaml) a published version starts from a snapshot of one
initialised environment, so whatever module state held then is shared by every environment
restored from it: the ``random`` state (each would draw the same numbers), the AWS clients
with their open connections and credentials, and caches timed with ``time.monotonic()``
(the appliance registry cache), whose clock means nothing on another host. After a restore
each environment drops them and builds its own on first use.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable

#: The composition-root modules: what they cache (settings, session and credentials,
#: clients, tables with their caches) belongs to one environment.
PER_ENVIRONMENT_MODULES: tuple[str, ...] = (
    "functions.common.wiring",
    "functions.common.aws",
    "functions.common.settings",
)


def forget_environment_state() -> None:
    """Re-seed ``random`` and drop every cached object of the composition root.

    Calls the module's ``reset()`` where it has one, then clears each ``functools.cache``
    the module defines. Modules not imported yet have nothing cached and are skipped.
    """
    random.seed()  # from os.urandom: a fresh state per environment
    for name in PER_ENVIRONMENT_MODULES:
        module = sys.modules.get(name)
        if module is None:
            continue
        reset = getattr(module, "reset", None)
        if callable(reset):
            reset()
        for value in list(vars(module).values()):
            clear: Callable[[], None] | None = getattr(value, "cache_clear", None)
            if callable(clear) and getattr(value, "__module__", None) == name:
                clear()


def register_runtime_hooks() -> bool:
    """Register ``forget_environment_state`` to run after each restore from a snapshot.

    Returns False where the Lambda runtime's ``snapshot_restore_py`` is missing (tests, the
    local stack, a runtime without SnapStart): there is no snapshot to restore from.
    """
    try:
        from snapshot_restore_py import register_after_restore
    except ImportError:
        return False
    register_after_restore(forget_environment_state)
    return True
