"""A content store that is down for a moment delays a job, it does not lose it: the node retries the
spec with backoff and claims the job once the store answers again.

The store is a real js-ipfs daemon behind a TCP relay that the test holds closed, then opens: to the
node that is exactly an IPFS API that refuses connections for a while. The old node recorded the job
as skipped ("spec unusable: ContentUnavailableError") on the first refusal and never looked again.
"""

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from provider_bench import (
    TOKEN,
    Network,
    NodeLog,
    NodeProcess,
    RedisServer,
    benchmark_spec,
    create_job,
    ledger_of,
    make_host,
    make_provider,
    start_workers,
    wait_settled,
    wait_until,
)

from neurolink.content.kubo import KuboStore
from neurolink.devnet.anvil import free_port

pytestmark = pytest.mark.integration


class Relay:
    """Forwards 127.0.0.1:`port` to `target` once opened; until then the port refuses connections."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port = port
        self.target = target
        self._server: socket.socket | None = None

    def open(self) -> None:
        server = socket.create_server(("127.0.0.1", self.port))
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def close(self) -> None:
        if self._server is not None:
            self._server.close()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, sink):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def relay(ipfs_api_url: str) -> Iterator[Relay]:
    parsed = urlparse(ipfs_api_url)
    box = Relay(free_port(), (str(parsed.hostname), int(parsed.port or 5001)))
    yield box
    box.close()


def test_a_job_whose_spec_store_is_down_is_claimed_once_it_is_back(
    network: Network,
    redis_server: RedisServer,
    ipfs_api_url: str,
    relay: Relay,
    tmp_path: Path,
) -> None:
    host = make_host(tmp_path / "host", redis_server.url, slots=1)
    host.env["NEUROLINK_CONTENT_URL"] = f"http://127.0.0.1:{relay.port}"
    pool = start_workers(host)
    provider = make_provider(network, host, 15)
    spec = benchmark_spec(seed=1501)
    KuboStore(ipfs_api_url).put_bytes(spec)  # the store the node reads holds the spec
    node = NodeProcess(provider, "--no-workers")
    try:
        job_id = create_job(network, spec, host, payment=2 * TOKEN)

        def outage_retries() -> int:
            return sum(
                1
                for e in NodeLog(provider).entries()
                if e["msg"] == "step failed on an outage, will retry"
                and e.get("job_id") == job_id
                and "ContentUnavailableError" in e.get("error", "")
            )

        wait_until(lambda: outage_retries() >= 2, 90, "the node to retry the spec", process=node)
        row = ledger_of(provider).job(job_id)
        assert row is None, f"the job was decided while the store was down: {row}"
        relay.open()
        wait_settled(network, job_id, 120, "the job claimed and settled once the store is back", process=node)
    finally:
        node.stop()
        pool.stop()
