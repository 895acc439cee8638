"""Integration fixtures: the contract build, compiled once per session before anything deploys it."""

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from neurolink.compiler.build import BuildResult, build


@pytest.fixture(scope="session")
def contracts_built() -> BuildResult:
    """build/contracts up to date (a no-op when sources are unchanged)."""
    return build()


# The explorer's databases: the embedded SQLite file and a PostgreSQL database of the test's own.
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", "postgresql"])
def explorer_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty explorer database URL: SQLite under tmp_path, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'explorer.sqlite'}"
        return
    import psycopg

    name = f"explorer_{secrets.token_hex(6)}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
