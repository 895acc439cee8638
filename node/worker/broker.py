"""Broker and result-store settings from Settings; the embedded SQLite broker and store, made quick."""

import sqlite3
from contextlib import closing
from pathlib import Path
from queue import Empty
from typing import Any

from celery.backends.database import DatabaseBackend
from kombu.transport.sqlalchemy import Channel as _SqlaChannel
from kombu.transport.sqlalchemy import Transport as _SqlaTransport
from sqlalchemy import event, make_url
from sqlalchemy.engine import Engine

from neurolink.config import Settings

SQLITE_TRANSPORT = "node.worker.broker:SQLiteTransport"
# kombu polls SQL queues; its 1 s default makes every task wait about a second.
SQLITE_POLL_S = 0.005


class SQLiteChannel(_SqlaChannel):
    """kombu's SQLAlchemy channel that looks before it locks.

    kombu's `_get` takes SQLite's write lock (`BEGIN IMMEDIATE`) and runs two ORM queries on every
    poll: at a poll every few ms an idle worker spent a quarter of a core on it and held the lock the
    dispatcher needs to publish. A plain read, which in WAL mode takes no lock, answers "nothing
    waiting" in microseconds; only a queue with a visible message goes through kombu's locked get.
    """

    _reader: sqlite3.Connection | None = None

    def _get(self, queue: str, timeout: Any = None) -> Any:
        if not self._waiting(queue):
            raise Empty()
        return super()._get(queue)  # type: ignore[no-untyped-call]

    def _waiting(self, queue: str) -> bool:
        try:
            if self._reader is None:
                path = make_url(self.connection.client.hostname).database
                self._reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            row = self._reader.execute(
                f"SELECT 1 FROM {self.message_tablename} m JOIN {self.queue_tablename} q ON q.id = m.queue_id"
                " WHERE q.name = ? AND m.visible = 1 LIMIT 1",
                (queue,),
            ).fetchone()
        except sqlite3.Error:
            return True  # no tables yet, say: kombu's own get creates them and decides
        return row is not None

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        super().close()  # type: ignore[no-untyped-call]


class SQLiteTransport(_SqlaTransport):
    """kombu's SQLAlchemy transport polling every few ms, each empty poll a lock-free read.

    The interval is a class attribute because kombu hands every broker transport option to
    `sqlalchemy.create_engine`, which rejects `polling_interval` and kills the worker.
    """

    Channel = SQLiteChannel
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


class EmbeddedResultBackend(DatabaseBackend):  # type: ignore[misc]
    """Celery's database result backend keeping one engine (and its compiled queries) per instance.

    Celery caches engines only in a forked worker child; elsewhere (the dispatcher, a `-P solo`
    worker) it builds a new engine with a new connection for every read and write, ~9 ms of CPU each,
    and the dispatcher reads every few ms while it waits for a rank. Nothing forks with these
    connections in use: the dispatcher runs jobs in threads, the solo worker runs ranks in processes
    that never touch the result store.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.session_manager.forked = True


def celery_backend_config(settings: Settings) -> dict[str, Any]:
    """`result_backend` (and `database_url` for the embedded SQLite store) for a Celery app's config."""
    if settings.result_backend == "sqlite":
        path = settings.home / "results.sqlite"
        _use_wal(path)
        return {
            "result_backend": "node.worker.broker:EmbeddedResultBackend",
            "database_url": f"sqlite:///{path}",
        }
    return {"result_backend": settings.result_backend}


def celery_broker_config(settings: Settings) -> dict[str, Any]:
    """`broker_url` (and `broker_transport` for SQL brokers) for a Celery app's config."""
    url = broker_url(settings)
    if url.startswith("sqla+sqlite:///"):
        _use_wal(Path(url.removeprefix("sqla+sqlite:///")))
        # A transport class can be named only outside the URL (kombu refuses import paths there).
        return {"broker_url": url.removeprefix("sqla+"), "broker_transport": SQLITE_TRANSPORT}
    return {"broker_url": url}
