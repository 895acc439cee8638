"""The embedded SQLite broker and result store: an empty poll takes no lock, a waiting message is still
delivered once, and the result store keeps one engine instead of opening one per read."""

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from queue import Empty

import pytest
from kombu import Connection

from neurolink.config import load_settings
from node.worker.app import make_app
from node.worker.broker import SQLiteTransport, celery_broker_config


@pytest.fixture
def channel(tmp_path: Path) -> Iterator[object]:
    settings = load_settings(home=tmp_path, broker_url="sqlite", result_backend="sqlite")
    url = celery_broker_config(settings)["broker_url"]
    with Connection(url, transport=SQLiteTransport) as conn:
        chan = conn.channel()
        chan._new_queue("q")
        yield chan
        chan.close()


def test_an_empty_poll_does_not_wait_for_the_write_lock(channel: object, tmp_path: Path) -> None:
    """kombu's get took SQLite's write lock on every poll, so a poll waited behind a publisher (and an
    idle worker held the lock a publisher needs every few ms); now an empty queue is seen lock-free."""
    holder = sqlite3.connect(tmp_path / "broker.sqlite", timeout=0)
    holder.execute("BEGIN IMMEDIATE")  # another process mid-publish
    try:
        with pytest.raises(Empty):
            channel._get("q")  # type: ignore[attr-defined]
    finally:
        holder.rollback()
        holder.close()


def test_a_waiting_message_is_delivered_once(channel: object) -> None:
    channel._put("q", {"body": "job 7"})  # type: ignore[attr-defined]
    assert channel._get("q") == {"body": "job 7"}  # type: ignore[attr-defined]
    with pytest.raises(Empty):
        channel._get("q")  # type: ignore[attr-defined]
    with pytest.raises(Empty):
        channel._get("another")  # type: ignore[attr-defined]


def test_the_result_store_reads_through_one_engine(tmp_path: Path) -> None:
    """Celery's database backend built a new engine, connection and compiled query for every read in
    a process that has not forked (the dispatcher polls it every few ms while a rank runs)."""
    app = make_app(load_settings(home=tmp_path, broker_url="sqlite", result_backend="sqlite"))
    backend = app.backend
    assert backend.get_task_meta("job-1.r0")["status"] == "PENDING"
    engines = dict(backend.session_manager._engines)
    assert len(engines) == 1
    backend.store_result("job-1.r0", {"ok": True}, "SUCCESS")
    assert backend.get_task_meta("job-1.r0")["result"] == {"ok": True}
    assert backend.session_manager._engines == engines
    assert backend.url == f"sqlite:///{tmp_path / 'results.sqlite'}"
