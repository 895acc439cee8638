"""Database engines for the explorer (SQLite under NEUROLINK_HOME by default, PostgreSQL by URL) and
their schema, brought to the newest Alembic revision."""

from pathlib import Path
from typing import TYPE_CHECKING, Any

from coordinator.explorer.errors import ExplorerConfigError, ExplorerDatabaseError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def default_url(home: Path) -> str:
    return f"sqlite:///{home / 'explorer' / 'explorer.sqlite'}"


def make_engine(url: str) -> "Engine":
    """An engine for `url`; SQLite gets WAL and a busy timeout so the API reads while the indexer writes."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        if url.startswith("sqlite"):
            path = url.split("///", 1)[1] if "///" in url else ""
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

            @event.listens_for(engine, "connect")
            def _pragmas(connection: Any, _record: Any) -> None:
                cursor = connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.close()

            return engine
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise ExplorerConfigError(f"database URL {url!r}: {exc}") from exc


def migrate(engine: "Engine") -> None:
    """Create or upgrade the schema to the newest revision (a no-op when it is current)."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy.exc import OperationalError

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except OperationalError as exc:
        raise ExplorerDatabaseError(f"database {engine.url.render_as_string()}: {exc.orig}") from exc
