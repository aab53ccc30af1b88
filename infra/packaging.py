"""What ships to Lambda: each function's artifact holds its handler's import closure.

The closure is found by reading the source (ast), not by importing it: every module of the
repository that the handler imports, directly or through other modules, plus the parent
packages' ``__init__`` files and the data folders those modules name (the catalog's JSON).
Imports under ``if TYPE_CHECKING:`` never run, so they do not count.

`sam build` runs the Makefile's ``build-<Function>`` targets, which call this module
(``python -m infra.packaging code|requirements <FunctionLogicalId> ...``); the local stack
zips the same files for the emulator (``package_code``).
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import shutil
import sys
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.template import SERVERLESS_FUNCTION, TEMPLATE_PATH, functions, load_template

#: The repository's top-level packages that Lambda code may come from. A handler that
#: imports another one (the device simulator, the local stack) is a packaging error.
CODE_PACKAGES: tuple[str, ...] = ("functions", "schemas")

#: The pinned third-party requirements of all functions; each artifact gets those it imports.
REQUIREMENTS_FILE = "requirements-lambda.txt"

#: Provided by the Lambda Python runtime, so never installed into an artifact
#: (snapshot_restore_py: the SnapStart runtime hooks).
RUNTIME_PROVIDED: frozenset[str] = frozenset({"boto3", "botocore", "snapshot_restore_py"})

#: Top-level import names that differ from their distribution's (normalised) name.
DISTRIBUTION_OF_IMPORT: dict[str, str] = {"jwt": "pyjwt"}


class PackagingError(Exception):
    """The code cannot be packaged as declared (an import leaves CODE_PACKAGES, ...)."""


@dataclass
class Closure:
    """The project files a handler needs and the third-party packages it imports."""

    files: set[Path] = field(default_factory=set)  # relative to the repository root
    third_party: set[str] = field(default_factory=set)  # top-level import names


def handler_module(handler: str) -> str:
    """``functions.ingest_fault.app.handler`` -> ``functions.ingest_fault.app``."""
    module, _, attribute = handler.rpartition(".")
    if not module or not attribute:
        raise PackagingError(f"handler {handler!r} is not module.attribute")
    return module


def import_closure(module: str, root: Path = TEMPLATE_PATH.parent) -> Closure:
    """Every project file ``module`` needs at run time, found by following its imports."""
    own = {p.name for p in root.iterdir() if (p / "__init__.py").is_file()}
    closure = Closure()
    seen: set[str] = set()
    pending = [module]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        path = _module_path(name, root)
        if path is None:
            raise PackagingError(f"module {name} not found under {root}")
        closure.files.add(path.relative_to(root))
        parent = name.rpartition(".")[0]
        if parent:
            pending.append(parent)  # importing a.b runs a/__init__.py first
        tree = ast.parse(path.read_bytes(), filename=str(path))
        for imported in _runtime_imports(tree, name, is_package=path.name == "__init__.py"):
            top = imported.partition(".")[0]
            if top in own:
                if top not in CODE_PACKAGES:
                    raise PackagingError(
                        f"{name} imports {imported}, but {top}/ is not shipped to Lambda "
                        f"(infra.packaging.CODE_PACKAGES: {', '.join(CODE_PACKAGES)})"
                    )
                if _module_path(imported, root) is not None:
                    pending.append(imported)
            elif top not in sys.stdlib_module_names and top != "__future__":
                closure.third_party.add(top)
        closure.files.update(_named_data_files(tree, path, root))
    return closure


def _module_path(module: str, root: Path) -> Path | None:
    base = root.joinpath(*module.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _runtime_imports(tree: ast.Module, module: str, *, is_package: bool) -> Iterator[str]:
    """Names imported by the module when it runs (``from a import b`` gives a and a.b)."""
    package = module if is_package else module.rpartition(".")[0]
    for node in _walk_skipping_type_checking(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            yield base
            # `from a import b` may import the submodule a.b; non-modules are filtered later.
            yield from (f"{base}.{alias.name}" for alias in node.names if alias.name != "*")


def _walk_skipping_type_checking(node: ast.AST) -> Iterator[ast.AST]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for orelse in child.orelse:
                yield orelse
                yield from _walk_skipping_type_checking(orelse)
            continue
        yield child
        yield from _walk_skipping_type_checking(child)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _named_data_files(tree: ast.Module, path: Path, root: Path) -> set[Path]:
    """Files of the data folders (no Python inside) of the module's top-level package that
    the module names in a string literal, e.g. ``"catalog_data"``: the files it reads."""
    package_dir = root / path.relative_to(root).parts[0]
    literals = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    files: set[Path] = set()
    for folder in package_dir.rglob("*"):
        if folder.is_dir() and folder.name in literals and not any(folder.rglob("*.py")):
            files.update(
                f.relative_to(root)
                for f in folder.rglob("*")
                if f.is_file() and "__pycache__" not in f.parts
            )
    return files


# --------------------------------------------------------------------------- per function


def function_closure(logical_id: str, template_path: Path = TEMPLATE_PATH) -> Closure:
    """The import closure of a template function's handler."""
    specs = functions(load_template(template_path))
    if logical_id not in specs:
        raise PackagingError(f"no function {logical_id} in {template_path}")
    return import_closure(handler_module(specs[logical_id].handler), template_path.parent)


def requirements(closure: Closure, root: Path = TEMPLATE_PATH.parent) -> list[str]:
    """The lines of requirements-lambda.txt for the third-party packages the closure imports."""
    pinned: dict[str, str] = {}
    for line in (root / REQUIREMENTS_FILE).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name = re.split(r"[\[=<>!~;\s]", line, maxsplit=1)[0]
            pinned[name.lower().replace("-", "_")] = line
    imported = {DISTRIBUTION_OF_IMPORT.get(name, name) for name in closure.third_party}
    missing = imported - RUNTIME_PROVIDED - set(pinned)
    if missing:
        raise PackagingError(
            f"imported but not in {REQUIREMENTS_FILE}: {', '.join(sorted(missing))}"
        )
    return [line for name, line in pinned.items() if name in imported]


def copy_code(closure: Closure, destination: Path, root: Path = TEMPLATE_PATH.parent) -> None:
    """Copy the closure's files into ``destination`` (an artifact folder), keeping paths."""
    for relative in sorted(closure.files):
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / relative, target)


# --------------------------------------------------------------------------- local stack


def package_code(template_path: Path = TEMPLATE_PATH) -> bytes:
    """One zip with the code of every function in the template (the local stack deploys
    the functions from it; it only needs what some function imports)."""
    root = template_path.parent
    files: set[Path] = set()
    for logical_id in functions(load_template(template_path)):
        files |= function_closure(logical_id, template_path).files
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for relative in sorted(files):
            # Fixed timestamp: the same sources give the same zip.
            info = zipfile.ZipInfo(relative.as_posix(), (1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, (root / relative).read_bytes())
    return buf.getvalue()


def rewrite_code_uris(template: dict[str, Any], s3_uri: str) -> None:
    """Point every ``CodeUri: .`` (function or Globals) at the uploaded code zip."""
    globals_fn = (template.get("Globals") or {}).get("Function") or {}
    if globals_fn.get("CodeUri") in (".", "./"):
        globals_fn["CodeUri"] = s3_uri
    for resource in (template.get("Resources") or {}).values():
        if resource.get("Type") != SERVERLESS_FUNCTION:
            continue
        props = resource.setdefault("Properties", {})
        if props.get("CodeUri") in (".", "./"):
            props["CodeUri"] = s3_uri


def drop_published_versions(template: dict[str, Any]) -> None:
    """Remove AutoPublishAlias and SnapStart (function or Globals): the local stack runs each
    handler's latest code in-process, and moto's CloudFormation cannot create Lambda aliases."""
    targets = [(template.get("Globals") or {}).get("Function") or {}]
    targets += [
        resource.get("Properties") or {}
        for resource in (template.get("Resources") or {}).values()
        if resource.get("Type") == SERVERLESS_FUNCTION
    ]
    for props in targets:
        for key in ("AutoPublishAlias", "SnapStart"):
            props.pop(key, None)


# --------------------------------------------------------------------------- sam build


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m infra.packaging", description="Build one function's Lambda artifact."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    code = commands.add_parser("code", help="copy the function's code into an artifact folder")
    code.add_argument("function", help="logical id in template.yaml, e.g. IngestFaultFunction")
    code.add_argument("destination", type=Path)
    reqs = commands.add_parser("requirements", help="print the function's requirements")
    reqs.add_argument("function", help="logical id in template.yaml, e.g. ApiFunction")
    args = parser.parse_args(None if argv is None else list(argv))
    try:
        closure = function_closure(args.function)
        if args.command == "code":
            copy_code(closure, args.destination)
        else:
            print("\n".join(requirements(closure)))
    except PackagingError as exc:
        parser.exit(1, f"{parser.prog}: {exc}\n")


if __name__ == "__main__":
    main()
