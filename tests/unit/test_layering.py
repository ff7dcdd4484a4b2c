"""The domain imports no I/O and no outer layer; no test module imports another, or a
conftest. The layers and cycles are import-linter contracts, run by `make check`."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from importlib.util import resolve_name
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOMAIN_MAY_IMPORT = ("domain", "eventsourcing.domain")
# The pure part of the standard library the domain needs; sockets, files, processes,
# databases and event loops (os, io, socket, sqlite3, subprocess, asyncio...) stay out.
DOMAIN_STDLIB = frozenset(
    {
        "__future__",
        "abc",
        "collections",
        "copy",
        "dataclasses",
        "datetime",
        "decimal",
        "enum",
        "functools",
        "itertools",
        "operator",
        "re",
        "string",
        "types",
        "typing",
        "unicodedata",
        "uuid",
    }
)
NEVER_IN_DOMAIN = (
    "asyncpg",
    "starlette",
    "strawberry",
    "psycopg",
    "service",
    "projections",
    "schema",
)
IMPORTERS = frozenset({"importlib.import_module", "import_module", "__import__"})


def imported_modules(source: str, package: str) -> Iterator[str]:
    """Absolute names of the modules a source imports, wherever the import statement sits."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield absolute("." * node.level + (node.module or ""), package)
        elif isinstance(node, ast.Call) and ast.unparse(node.func) in IMPORTERS and node.args:
            name = node.args[0]
            if isinstance(name, ast.Constant) and isinstance(name.value, str):
                yield name.value


def absolute(name: str, package: str) -> str:
    try:
        return resolve_name(name, package)
    except ImportError:  # beyond the top-level package: keep the dots so no rule allows it
        return name


def is_within(module: str, packages: Iterable[str]) -> bool:
    return any(module == p or module.startswith(f"{p}.") for p in packages)


def is_test_module(module: str) -> bool:
    """A module pytest loads itself: a test_* module or a conftest."""
    name = module.rpartition(".")[2]
    return is_within(module, ["tests"]) and (name.startswith("test_") or name == "conftest")


def domain_may_import(module: str) -> bool:
    top = module.partition(".")[0]
    return top in DOMAIN_STDLIB or is_within(module, DOMAIN_MAY_IMPORT)


def sources(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def imports_of(path: Path) -> list[str]:
    package = ".".join(path.parent.relative_to(ROOT).parts)
    return list(imported_modules(path.read_text(encoding="utf-8"), package))


def label(path: Path) -> str:
    return str(path.relative_to(ROOT))


# The rules, on the code as it is.


@pytest.mark.parametrize("path", sources("domain"), ids=label)
def test_the_domain_imports_only_pure_standard_modules_itself_and_eventsourcing_domain(
    path: Path,
) -> None:
    assert [m for m in imports_of(path) if not domain_may_import(m)] == []


@pytest.mark.parametrize("path", sources("domain"), ids=label)
def test_the_domain_never_imports_io_or_an_outer_layer(path: Path) -> None:
    assert [m for m in imports_of(path) if is_within(m, NEVER_IN_DOMAIN)] == []


# What tests share lives in tests.scenarios: a test module then changes without breaking
# another, and a conftest holds only fixtures, which pytest injects.
@pytest.mark.parametrize("path", sources("tests") + sources("bench"), ids=label)
def test_no_test_code_imports_a_test_module_or_a_conftest(path: Path) -> None:
    assert [m for m in imports_of(path) if is_test_module(m)] == []


def test_the_layers_checked_are_there_and_their_imports_are_seen() -> None:
    assert sources("domain") and sources("service") and sources("projections")
    assert sources("tests/scenarios") and sources("bench")
    assert {"eventsourcing.domain", "domain.corrections"} <= set(
        imports_of(ROOT / "domain/family.py")
    )


# The checker itself, so the rules above can fail.


def domain_violations(source: str, package: str = "domain") -> list[str]:
    return [m for m in imported_modules(source, package) if not domain_may_import(m)]


def test_a_domain_module_may_import_the_standard_library_itself_and_eventsourcing_domain() -> None:
    source = (
        "from __future__ import annotations\nimport re\nfrom datetime import date\n"
        "from eventsourcing.domain import Aggregate, event\nimport domain.values\n"
        "from domain.errors import InvalidValue\nfrom .values import Place\nfrom . import errors\n"
    )
    assert domain_violations(source) == []


@pytest.mark.parametrize(
    ("source", "culprit"),
    [
        ("import asyncpg", "asyncpg"),
        ("from starlette.requests import Request", "starlette.requests"),
        ("import strawberry.types", "strawberry.types"),
        ("from service.eventstore.codec import create_mapper", "service.eventstore.codec"),
        ("from projections import runner", "projections"),
        ("from schema.context import Context", "schema.context"),
        ("from eventsourcing.persistence import Mapper", "eventsourcing.persistence"),
        ("from eventsourcing import domain", "eventsourcing"),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import asyncpg", "asyncpg"),
        ("def load() -> None:\n    import psycopg", "psycopg"),
        ("import importlib\nimportlib.import_module('asyncpg')", "importlib asyncpg"),
        ("__import__('strawberry')", "strawberry"),
        ("from ..service import codec", "..service"),
        ("import socket", "socket"),
        ("import os.path", "os.path"),
        ("from sqlite3 import connect", "sqlite3"),
        ("import subprocess", "subprocess"),
        ("import asyncio", "asyncio"),
        ("from urllib.request import urlopen", "urllib.request"),
    ],
)
def test_a_forbidden_import_in_the_domain_is_caught(source: str, culprit: str) -> None:
    assert domain_violations(source) == culprit.split()


def test_a_relative_import_resolves_against_its_package() -> None:
    source = "from ..values import Place\nfrom . import rules\nfrom .rules import check"
    assert list(imported_modules(source, "domain.case")) == [
        "domain.values",
        "domain.case",
        "domain.case.rules",
    ]


@pytest.mark.parametrize(
    ("module", "is_schema"),
    [("schema", True), ("schema.loaders", True), ("schemas", False), ("jsonschema", False)],
)
def test_only_the_schema_package_counts_as_the_schema(module: str, is_schema: bool) -> None:
    assert is_within(module, ["schema"]) is is_schema


@pytest.mark.parametrize(
    ("source", "allowed"),
    [
        ("from tests.scenarios.family import at", True),
        ("from tests.scenarios import family", True),
        ("from tests.faults.postgres import OwnPostgres", True),
        ("import pytest\nfrom service.settings import Settings", True),
        ("from tests.unit.test_family import separated_family", False),
        ("from .test_family import adult", False),
        ("import tests.integration.test_checkpoints", False),
        ("from tests.conftest import reset", False),
        ("from ..e2e.conftest import Client", False),
    ],
)
def test_a_test_module_or_conftest_imported_is_caught(source: str, allowed: bool) -> None:
    found = [m for m in imported_modules(source, "tests.unit") if is_test_module(m)]
    assert (found == []) is allowed
