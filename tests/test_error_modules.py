"""Each layer's errors live in one module: a new error class anywhere else fails here, so
callers never import an error from the use case that happens to raise it first."""

from __future__ import annotations

import ast
from pathlib import Path

FUNCTIONS = Path(__file__).resolve().parents[1] / "functions"

#: The one module of each layer that declares its errors. auth has one module, tokens.py,
#: whose two errors are what verifying a token can answer: a module of its own would hold
#: nothing else.
ERROR_MODULES = {
    "domain/errors.py",
    "logic/errors.py",
    "api/errors.py",
    "auth/tokens.py",
}


def _error_classes() -> dict[str, list[str]]:
    """Classes deriving from an exception, by module (relative to functions/): a base named
    like one (`Exception`, `...Error`) or an error class found in the tree."""
    classes: dict[str, list[tuple[str, list[str]]]] = {}
    for path in sorted(FUNCTIONS.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        found = [
            (node.name, [ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases])
            for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef)
        ]
        classes[path.relative_to(FUNCTIONS).as_posix()] = found
    errors: set[str] = set()
    changed = True
    while changed:  # a subclass of a subclass of an error is an error too
        changed = False
        for found in classes.values():
            for name, bases in found:
                is_error = any(b in errors or b.endswith(("Exception", "Error")) for b in bases)
                if is_error and name not in errors:
                    errors.add(name)
                    changed = True
    return {
        module: [name for name, _ in found if name in errors]
        for module, found in classes.items()
        if any(name in errors for name, _ in found)
    }


def test_errors_are_declared_in_their_layers_error_module() -> None:
    misplaced = {
        module: names
        for module, names in _error_classes().items()
        if module not in ERROR_MODULES
        # a data-access module's private errors never leave it (dal/orders.py _EventIdsFull)
        and not (module.startswith("dal/") and all(n.startswith("_") for n in names))
    }
    assert misplaced == {}


def test_the_scan_finds_the_errors_it_guards() -> None:
    found = _error_classes()
    assert {"WriteConflict", "StaleOrder", "InvalidTransition"} <= set(found["domain/errors.py"])
    assert {"OrderNotFound", "RefusedChange", "NotAFaultEvent"} <= set(found["logic/errors.py"])
    assert {"WrongGroup", "ServiceUnavailableError"} <= set(found["api/errors.py"])
