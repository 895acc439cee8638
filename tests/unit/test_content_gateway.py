"""`content serve` and the content sources: blocks over HTTP, checked by the fetcher, tried in order."""

import http.client
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from neurolink.config import load_settings
from neurolink.content import (
    ContentNotFoundError,
    ContentUnavailableError,
    IntegrityError,
    LocalStore,
    UnsupportedContentError,
    open_store,
)
from neurolink.content.cid import ContentId, parse_cid
from neurolink.content.gateway import RAW_BLOCK, GatewayServer
from neurolink.content.importer import CHUNK_SIZE
from neurolink.content.remote import GatewayStore, SourcesStore
from neurolink.errors import ConfigError

DATA = os.urandom(3 * CHUNK_SIZE + 123)  # a dag-pb root over four raw leaves


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[LocalStore, GatewayServer]]:
    store = LocalStore(tmp_path / "served")
    server = GatewayServer(store, port=0)
    server.start()
    yield store, server
    server.shutdown()
    server.server_close()


class _LyingStore(LocalStore):
    """Serves other bytes than the block asked for: what a hostile gateway would do."""

    def get_block(self, cid: str | ContentId) -> bytes:
        return b"not the block " + str(cid).encode()


def _get(url: str, accept: str | None = None, method: str = "GET") -> http.client.HTTPResponse:
    request = urllib.request.Request(url, method=method, headers={"Accept": accept} if accept else {})
    try:
        return urllib.request.urlopen(request, timeout=5)  # type: ignore[no-any-return]
    except urllib.error.HTTPError as exc:
        return exc  # type: ignore[return-value]


def test_a_raw_block_request_gets_exactly_the_block(served: tuple[LocalStore, GatewayServer]) -> None:
    store, server = served
    cid = store.put_bytes(DATA)
    reply = _get(f"{server.url}/ipfs/{cid}", accept=RAW_BLOCK)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == RAW_BLOCK
    body = reply.read()
    assert body == store.get_block(cid) and parse_cid(cid).verify(body)
    assert _get(f"{server.url}/ipfs/{cid}?format=raw").read() == body


def test_without_raw_the_whole_file_is_streamed(served: tuple[LocalStore, GatewayServer]) -> None:
    store, server = served
    cid = store.put_bytes(DATA)
    reply = _get(f"{server.url}/ipfs/{cid}")
    assert reply.headers["Content-Length"] == str(len(DATA))
    assert reply.read() == DATA


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [
        ("/ipfs/bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku", "GET", 404),
        ("/ipfs/not-a-cid", "GET", 400),
        ("/ipns/example.org", "GET", 404),
        ("/", "GET", 404),
        ("/ipfs/bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku", "PUT", 501),
        ("/ipfs/bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku", "POST", 501),
    ],
)
def test_only_reads_of_known_cids_are_answered(
    served: tuple[LocalStore, GatewayServer], path: str, method: str, status: int
) -> None:
    _, server = served
    assert _get(server.url + path, method=method).status == status


def test_a_fresh_store_reads_through_the_gateway_and_keeps_the_blocks(
    served: tuple[LocalStore, GatewayServer], tmp_path: Path
) -> None:
    origin, server = served
    cid = origin.put_bytes(DATA)
    own = LocalStore(tmp_path / "own")
    sources = SourcesStore(own, [GatewayStore(server.url)])
    assert sources.get_bytes(cid) == DATA
    server.shutdown()
    assert own.get_bytes(cid) == DATA, "every block fetched was kept in the own store"


def test_a_lying_gateway_is_caught_and_the_next_source_used(
    served: tuple[LocalStore, GatewayServer], tmp_path: Path
) -> None:
    origin, honest = served
    cid = origin.put_bytes(DATA)
    liar = GatewayServer(_LyingStore(origin.root), port=0)
    liar.start()
    try:
        with pytest.raises(IntegrityError):
            GatewayStore(liar.url).get_bytes(cid)
        own = LocalStore(tmp_path / "own")
        sources = SourcesStore(own, [GatewayStore(liar.url), GatewayStore(honest.url)])
        assert sources.get_bytes(cid) == DATA
        assert not any(own.root.joinpath("blocks").rglob("*.tmp"))
    finally:
        liar.shutdown()
        liar.server_close()


def test_missing_everywhere_is_not_found_and_unreachable_is_unavailable(
    served: tuple[LocalStore, GatewayServer], tmp_path: Path
) -> None:
    _, server = served
    missing = LocalStore(tmp_path / "elsewhere").put_bytes(b"only here")
    own = LocalStore(tmp_path / "own")
    with pytest.raises(ContentNotFoundError, match="none of the content sources"):
        SourcesStore(own, [GatewayStore(server.url)]).get_bytes(missing)
    with pytest.raises(ContentUnavailableError, match="unreachable"):
        SourcesStore(own, [GatewayStore("http://127.0.0.1:9", timeout=2)]).get_bytes(missing)


def test_a_gateway_takes_no_writes(served: tuple[LocalStore, GatewayServer]) -> None:
    _, server = served
    with pytest.raises(UnsupportedContentError, match="read-only"):
        GatewayStore(server.url).put_bytes(b"x")


def test_settings_list_gateways_and_open_store_tries_them(
    served: tuple[LocalStore, GatewayServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    origin, server = served
    cid = origin.put_bytes(b"from the gateway")
    monkeypatch.setenv("NEUROLINK_CONTENT_GATEWAYS", f"{server.url}, http://127.0.0.1:9")
    settings = load_settings(home=tmp_path)
    assert settings.gateway_urls == (server.url, "http://127.0.0.1:9")
    assert load_settings(home=tmp_path, content_gateways=[server.url]).gateway_urls == (server.url,)
    with open_store(settings) as store:
        assert store.get_bytes(cid) == b"from the gateway"
    monkeypatch.setenv("NEUROLINK_CONTENT_GATEWAYS", "ftp://example.org")
    with pytest.raises(ConfigError, match="content_gateways"):
        load_settings(home=tmp_path)
