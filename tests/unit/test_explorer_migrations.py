"""The explorer's Alembic migrations build exactly the schema its models declare."""

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from coordinator.explorer.db import make_engine, migrate
from coordinator.explorer.models import Base


def test_migrations_match_the_models_and_run_twice(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'explorer.sqlite'}")
    migrate(engine)
    migrate(engine)  # a current schema is left as it is
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
