"""Real device workers on a real broker, once per session and broker (SQLite default, Redis)."""

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from execution_support import SLOTS, Node

from neurolink.config import Settings, load_settings
from node.worker.dispatch import Dispatcher
from node.worker.pool import WorkerPool, settings_env

# Shared with other sessions on this machine: a DB of our own and a unique queue prefix per session.
REDIS_URL = os.environ.get("NEUROLINK_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")


@contextmanager
def _workers_cli(settings: Settings) -> Iterator[tuple[int, ...]]:
    # The SQLite node runs through `neurolink node workers`, as an operator would start it.
    env = {**os.environ, **settings_env(settings)}
    cli = Path(sys.executable).with_name("neurolink")
    proc = subprocess.Popen(
        [str(cli), "node", "workers", "--slots", str(SLOTS), "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait()
        pytest.fail(
            f"`neurolink node workers` exited {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}"
        )
    devices = json.loads(line)["devices"]
    try:
        yield tuple(d["pid"] for d in devices)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, "the workers command must stop cleanly on SIGTERM"


@contextmanager
def _worker_pool(settings: Settings) -> Iterator[tuple[int, ...]]:
    with WorkerPool(settings, slots=SLOTS) as pool:
        devices = pool.start()
        pool.wait_ready(timeout=120)
        yield tuple(d.pid for d in devices)


@pytest.fixture(scope="session", params=["sqlite", "redis"])
def node(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    broker = request.param
    home = tmp_path_factory.mktemp(f"node-{broker}")
    url = "sqlite" if broker == "sqlite" else REDIS_URL
    settings = load_settings(
        home=home, broker_url=url, result_backend=url, queue_prefix=f"test-{uuid.uuid4().hex[:12]}"
    )
    start = _workers_cli if broker == "sqlite" else _worker_pool
    with start(settings) as pids:
        yield Node(broker, settings, Dispatcher(settings), pids)
