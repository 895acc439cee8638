"""Broker and result-backend URLs from Settings; the embedded SQLite broker with a short poll."""

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from kombu.transport.sqlalchemy import Transport as _SqlaTransport
from sqlalchemy import event
from sqlalchemy.engine import Engine

from neurolink.config import Settings

SQLITE_TRANSPORT = "node.worker.broker:SQLiteTransport"
# kombu polls SQL queues; its 1 s default makes every task wait about a second.
SQLITE_POLL_S = 0.005


class SQLiteTransport(_SqlaTransport):
    """kombu's SQLAlchemy transport polling every few ms.

    The interval is a class attribute because kombu hands every broker transport option to
    `sqlalchemy.create_engine`, which rejects `polling_interval` and kills the worker.
    """

    polling_interval = SQLITE_POLL_S


# The embedded broker and result store files of this process (see _relaxed_sync).
_EMBEDDED: set[str] = set()


def _use_wal(path: Path) -> None:
    # WAL mode is stored in the file and needs at most one fsync per commit instead of several;
    # the embedded broker and result store commit on every message.
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA journal_mode=WAL")
    _EMBEDDED.add(str(path.resolve()))


@event.listens_for(Engine, "connect")
def _relaxed_sync(dbapi_connection: Any, _record: Any) -> None:
    """`synchronous=NORMAL` on the embedded broker's SQLite files only: no fsync per commit.

    Like Redis's default persistence, a power loss may drop the last messages; jobs are
    re-dispatched from the chain, and a process crash loses nothing.
    """
    if not isinstance(dbapi_connection, sqlite3.Connection) or not _EMBEDDED:
        return
    files = {row[2] for row in dbapi_connection.execute("PRAGMA database_list")}
    if files & _EMBEDDED:
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def broker_url(settings: Settings) -> str:
    return (
        f"sqla+sqlite:///{settings.home / 'broker.sqlite'}"
        if settings.broker_url == "sqlite"
        else settings.broker_url
    )


def backend_url(settings: Settings) -> str:
    if settings.result_backend == "sqlite":
        _use_wal(settings.home / "results.sqlite")
        return f"db+sqlite:///{settings.home / 'results.sqlite'}"
    return settings.result_backend


def celery_broker_config(settings: Settings) -> dict[str, Any]:
    """`broker_url` (and `broker_transport` for SQL brokers) for a Celery app's config."""
    url = broker_url(settings)
    if url.startswith("sqla+sqlite:///"):
        _use_wal(Path(url.removeprefix("sqla+sqlite:///")))
        # A transport class can be named only outside the URL (kombu refuses import paths there).
        return {"broker_url": url.removeprefix("sqla+"), "broker_transport": SQLITE_TRANSPORT}
    return {"broker_url": url}
