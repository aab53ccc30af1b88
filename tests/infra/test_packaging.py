"""Each Lambda artifact holds its handler's imports and nothing else (code only, no pip)."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra.packaging import (
    PackagingError,
    copy_code,
    function_closure,
    handler_module,
    import_closure,
    package_code,
    requirements,
)
from infra.template import TEMPLATE_PATH, functions, load_template

ROOT = TEMPLATE_PATH.parent
FUNCTIONS = {
    "IngestFaultFunction": "functions/ingest_fault/app.py",
    "ApiFunction": "functions/api/app.py",
    "ReplayDeadLettersFunction": "functions/replay_dead_letters/app.py",
    "SweepStuckOrdersFunction": "functions/sweep_stuck_orders/app.py",
}
NEVER_SHIPPED = ("iot", "infra", "bench", "tests")

# Run in a fresh interpreter as Lambda does: import the handler from the artifact alone and
# list the project modules that came with it.
LOADED_MODULES = """
import importlib, json, sys
handler, lazy, packages = sys.argv[1], sys.argv[2].split(","), sys.argv[3:]
for module in [handler, *filter(None, lazy)]:
    importlib.import_module(module)
print(json.dumps({name: getattr(module, "__file__", None) for name, module in sys.modules.items()
                  if name.partition(".")[0] in packages}))
"""

#: Modules the composition root imports on first use only (so a handler that never needs
#: them does not load them on a cold start): shipped, and imported by the check below.
LAZY_IMPORTS = (
    "functions.auth.tokens",
    "functions.dal.accounts",
    "functions.dal.dead_letters",
    "functions.logic.progress",
    "functions.logic.replay",
    "functions.logic.sweeper",
    "functions.logic.triage",
    "functions.logic.tickets",
    "functions.logic.homes",
)


def build(function: str, destination: Path) -> set[str]:
    copy_code(function_closure(function), destination)
    return {p.relative_to(destination).as_posix() for p in destination.rglob("*") if p.is_file()}


def test_every_function_in_the_template_is_covered() -> None:
    assert set(functions(load_template())) == set(FUNCTIONS)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_an_artifact_holds_the_handler_and_no_device_or_local_code(
    function: str, tmp_path: Path
) -> None:
    files = build(function, tmp_path)
    assert FUNCTIONS[function] in files
    assert not [f for f in files if f.partition("/")[0] in NEVER_SHIPPED]
    assert not [f for f in files if "simulator" in f]
    assert {f.partition("/")[0] for f in files} == {"functions", "schemas"}
    catalog = {f for f in files if f.startswith("functions/catalog_data/")}
    assert catalog == {
        p.relative_to(ROOT).as_posix() for p in (ROOT / "functions" / "catalog_data").glob("*.json")
    }
    for name in catalog:
        json.loads((tmp_path / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("function", FUNCTIONS)
def test_an_artifact_holds_exactly_the_modules_its_handler_loads(
    function: str, tmp_path: Path
) -> None:
    files = build(function, tmp_path)
    module = handler_module(functions(load_template())[function].handler)
    loaded = json.loads(
        subprocess.run(
            [
                sys.executable,
                "-c",
                LOADED_MODULES,
                module,
                ",".join(LAZY_IMPORTS),
                "functions",
                "schemas",
                *NEVER_SHIPPED,
            ],
            cwd=tmp_path,
            env={"PYTHONPATH": str(tmp_path), "PATH": ""},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    loaded_files = {Path(path).relative_to(tmp_path).as_posix() for path in loaded.values()}
    # Every module came from the artifact (none missing), and the artifact has no module
    # the handler does not load. A module imported only inside a function (lazily) would
    # show up here as shipped but not loaded: import it in this check too.
    assert loaded_files == {f for f in files if f.endswith(".py")}


def test_only_the_api_gets_chalice() -> None:
    ingest = requirements(function_closure("IngestFaultFunction"))
    api = requirements(function_closure("ApiFunction"))
    assert not [r for r in ingest if r.startswith("chalice")]
    assert [r for r in api if r.startswith("chalice")]
    # PyJWT comes with the composition root, which can build every function's verifier;
    # ingest never verifies a token, so it never imports it (see the next test).
    assert {r.partition("=")[0] for r in ingest} == {
        "aws-lambda-powertools[tracer]",
        "pydantic",
        "PyJWT[crypto]",
    }


def test_a_handler_import_does_not_import_pyjwt() -> None:
    # jwt + cryptography take ~100 ms to import: paid on the first token verified, never on
    # a cold start of ingest (which verifies none).
    for function, path in FUNCTIONS.items():
        module = path.removesuffix(".py").replace("/", ".")
        loaded = subprocess.run(
            [sys.executable, "-c", LOADED_MODULES, module, "", "jwt", "cryptography"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert json.loads(loaded) == {}, function


def test_import_names_map_to_their_distributions() -> None:
    closure = import_closure("functions.auth.tokens")
    assert "jwt" in closure.third_party
    assert requirements(closure) == ["PyJWT[crypto]==2.15.1"]


def test_the_local_stack_zip_is_the_functions_code(tmp_path: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(package_code())) as zf:
        zipped = set(zf.namelist())
    expected = set().union(*(build(f, tmp_path / f) for f in FUNCTIONS))
    assert zipped == expected


def write(root: Path, relative: str, text: str = "") -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_a_handler_importing_device_code_is_a_packaging_error(tmp_path: Path) -> None:
    write(tmp_path, "functions/__init__.py")
    write(tmp_path, "functions/app.py", "from iot.topics import fault_topic\n")
    write(tmp_path, "iot/__init__.py")
    write(tmp_path, "iot/topics.py")
    with pytest.raises(PackagingError, match=r"functions.app imports iot.topics.*not shipped"):
        import_closure("functions.app", tmp_path)


def test_type_checking_imports_lazy_imports_and_named_data(tmp_path: Path) -> None:
    write(tmp_path, "functions/__init__.py")
    write(
        tmp_path,
        "functions/app.py",
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from functions import typing_only\n"
        "else:\n    from . import runtime\n"
        "def later():\n    import functions.lazy\n"
        "DATA = 'tables'\n",
    )
    for name in ("typing_only", "runtime", "lazy", "unused"):
        write(tmp_path, f"functions/{name}.py")
    write(tmp_path, "functions/tables/a.json", "{}")
    write(tmp_path, "functions/other_data/b.json", "{}")
    closure = import_closure("functions.app", tmp_path)
    assert {p.as_posix() for p in closure.files} == {
        "functions/__init__.py",
        "functions/app.py",
        "functions/runtime.py",
        "functions/lazy.py",
        "functions/tables/a.json",
    }


def test_the_build_targets_the_template_runtime() -> None:
    makefile = (TEMPLATE_PATH.parent / "Makefile").read_text(encoding="utf-8")
    [version] = re.findall(r"^LAMBDA_PYTHON := (\S+)$", makefile, flags=re.MULTILINE)
    runtime = load_template()["Globals"]["Function"]["Runtime"]
    assert runtime == f"python{version}"


def test_the_web_page_ships_with_the_api_alone(tmp_path: Path) -> None:
    # functions/api/page.py names its data folder "web": the API's artifact holds the page
    # it serves at GET /app, and no other function carries it.
    page = {p.relative_to(ROOT).as_posix() for p in (ROOT / "functions/api/web").iterdir()}
    assert page and page <= build("ApiFunction", tmp_path / "api")
    for function in set(FUNCTIONS) - {"ApiFunction"}:
        files = build(function, tmp_path / function)
        assert not [f for f in files if f.startswith("functions/api/web/")], function
