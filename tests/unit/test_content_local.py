"""LocalStore: round trips, verified reads, size limits, digest resolution, store selection."""

import hashlib
import io
import tracemalloc
from pathlib import Path

import pytest

from neurolink.config import Settings
from neurolink.content import (
    ContentNotFoundError,
    ContentTooLargeError,
    ContentUnavailableError,
    IntegrityError,
    KuboStore,
    LocalStore,
    UnsupportedContentError,
    cid_to_digest,
    digest_to_cid,
    hash_stream,
    open_store,
)
from neurolink.content.cid import DAG_PB, RAW, ContentId
from neurolink.content.dagpb import Link, decode_file_node, encode_file_node
from neurolink.content.importer import CHUNK_SIZE
from neurolink.content.testing import jsipfs_daemon
from neurolink.errors import ConfigError, ExitCode

# CIDs js-ipfs 0.66 gave for these contents with cid-version=1, raw-leaves, size-262144
# (and re-checked against the daemon in tests/integration/test_content_ipfs.py).
KNOWN = {
    b"": "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
    b"\0" * (CHUNK_SIZE + 1): "bafybeigllfqgfpqydppr6cmv56g7ax4wyhruzswvcefv6j5kj77nzttfki",
}


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "content")


def pattern(size: int) -> bytes:
    return (hashlib.sha256(str(size).encode()).digest() * (size // 32 + 1))[:size]


@pytest.mark.parametrize(("data", "cid"), KNOWN.items(), ids=["empty", "256KiB+1 zeros"])
def test_known_cids(store: LocalStore, data: bytes, cid: str) -> None:
    assert store.put_bytes(data) == cid
    assert store.get_bytes(cid) == data


@pytest.mark.parametrize("size", [1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 5 * CHUNK_SIZE + 7])
def test_round_trip_bytes_and_files(store: LocalStore, tmp_path: Path, size: int) -> None:
    data = pattern(size)
    source = tmp_path / "in.bin"
    source.write_bytes(data)
    cid = store.put_file(source)
    assert cid == store.put_bytes(data) == str(hash_stream(io.BytesIO(data)))
    assert cid.startswith("bafkrei" if size <= CHUNK_SIZE else "bafybei")
    assert store.get_bytes(cid) == data
    out = tmp_path / "out.bin"
    store.get_file(cid, out)
    assert out.read_bytes() == data
    assert store.has(cid)
    assert store.size(cid) == size
    assert store.is_pinned(cid)


def test_progress_counts_every_byte(store: LocalStore, tmp_path: Path) -> None:
    data = pattern(3 * CHUNK_SIZE + 5)
    source = tmp_path / "in.bin"
    source.write_bytes(data)
    seen: list[int] = []
    cid = store.put_file(source, progress=seen.append)
    assert sum(seen) == len(data)
    seen.clear()
    store.get_file(cid, tmp_path / "out.bin", progress=seen.append)
    assert sum(seen) == len(data)


def _flip_first_byte(path: Path) -> None:
    block = bytearray(path.read_bytes())
    block[0] ^= 0xFF
    path.write_bytes(bytes(block))


def test_tampered_leaf_is_detected_on_read_and_no_file_is_left(store: LocalStore, tmp_path: Path) -> None:
    data = pattern(3 * CHUNK_SIZE)
    cid = store.put_bytes(data)
    leaf = ContentId.of_block(RAW, data[CHUNK_SIZE : 2 * CHUNK_SIZE])
    _flip_first_byte(store.block_path(leaf))
    with pytest.raises(IntegrityError, match=f"block {leaf} does not hash") as info:
        store.get_bytes(cid)
    assert info.value.exit_code == ExitCode.INTEGRITY
    with pytest.raises(IntegrityError):
        store.get_file(cid, tmp_path / "out.bin")
    assert list(tmp_path.glob("*out.bin*")) == []
    with pytest.raises(IntegrityError):
        store.pin(cid)
    # Storing the content again rewrites the damaged block.
    assert store.put_bytes(data) == cid
    assert store.get_bytes(cid) == data


def test_tampered_root_and_single_block_are_detected(store: LocalStore) -> None:
    multi = store.put_bytes(pattern(2 * CHUNK_SIZE + 1))
    single = store.put_bytes(b"hello")
    for cid in (multi, single):
        _flip_first_byte(store.block_path(cid))
        with pytest.raises(IntegrityError):
            store.get_bytes(cid)


def test_missing_blocks_are_not_found(store: LocalStore) -> None:
    cid = store.put_bytes(pattern(2 * CHUNK_SIZE + 1))
    missing = digest_to_cid(hashlib.sha256(b"never stored").digest(), "raw")
    assert not store.has(missing)
    with pytest.raises(ContentNotFoundError, match="not in the local store") as info:
        store.get_bytes(missing)
    assert info.value.exit_code == ExitCode.NOT_FOUND
    store.block_path(ContentId.of_block(RAW, pattern(2 * CHUNK_SIZE + 1)[:CHUNK_SIZE])).unlink()
    assert store.has(cid)  # the root is still there
    with pytest.raises(ContentNotFoundError):
        store.pin(cid)


def test_size_limits(tmp_path: Path) -> None:
    small = LocalStore(tmp_path / "small", max_size=1000)
    with pytest.raises(ContentTooLargeError, match="1001 bytes exceed the limit of 1000") as info:
        small.put_bytes(bytes(1001))
    assert info.value.exit_code == ExitCode.INVALID_INPUT
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(5000))
    with pytest.raises(ContentTooLargeError):
        small.put_file(big)
    assert small.put_bytes(bytes(1000))

    store = LocalStore(tmp_path / "content")
    cid = store.put_bytes(pattern(4 * CHUNK_SIZE))
    # The root declares the size: refused before a single leaf is read.
    with pytest.raises(ContentTooLargeError, match=f"holds {4 * CHUNK_SIZE} bytes"):
        store.get_bytes(cid, max_size=CHUNK_SIZE)
    assert store.get_bytes(cid, max_size=4 * CHUNK_SIZE) == pattern(4 * CHUNK_SIZE)
    # The store's own limit caps a larger per-call limit.
    capped = LocalStore(tmp_path / "content", max_size=CHUNK_SIZE)
    with pytest.raises(ContentTooLargeError):
        capped.get_bytes(cid, max_size=10 * CHUNK_SIZE)


def _put_node(store: LocalStore, block: bytes) -> ContentId:
    cid = ContentId.of_block(DAG_PB, block)
    path = store.block_path(cid)
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(block)
    return cid


def test_reading_stops_as_soon_as_a_lying_dag_passes_the_limit(store: LocalStore) -> None:
    leaves = [ContentId(RAW, hashlib.sha256(bytes([i]) * 100).digest()) for i in range(3)]
    for i in range(3):
        store.put_bytes(bytes([i]) * 100)
    # Hash-valid, but declares 100 bytes while linking 300: the declared size passes a 150 limit.
    liar = _put_node(store, encode_file_node([Link(c, 100) for c in leaves], [100]))
    fetched: list[ContentId] = []
    original = store._get_block

    def counting(cid: ContentId) -> bytes:
        fetched.append(cid)
        return original(cid)

    store._get_block = counting  # type: ignore[method-assign]
    with pytest.raises(ContentTooLargeError):
        store.get_bytes(str(liar), max_size=150)
    assert fetched == [liar, leaves[0], leaves[1]]  # the third leaf is never read
    with pytest.raises(IntegrityError, match="declares 100 bytes but its DAG holds 300"):
        store.get_bytes(str(liar))


def test_directories_are_not_files(store: LocalStore) -> None:
    # A UnixFS directory node with no entries: PBNode{Data: UnixFS{Type: Directory}}.
    directory = _put_node(store, bytes([0x0A, 0x02, 0x08, 0x01]))
    with pytest.raises(UnsupportedContentError, match="is a UnixFS directory"):
        store.get_bytes(str(directory))
    with pytest.raises(IntegrityError, match="malformed"):
        decode_file_node(b"\xff\xff", directory)


def test_resolve_digest_finds_raw_and_dag_pb(store: LocalStore) -> None:
    single = store.put_bytes(b"a single block")
    multi = store.put_bytes(pattern(CHUNK_SIZE + 1))
    for cid in (single, multi):
        assert store.resolve_digest(cid_to_digest(cid)) == cid
    with pytest.raises(ContentNotFoundError):
        store.resolve_digest(hashlib.sha256(b"absent").digest())


def test_open_store_follows_settings(tmp_path: Path) -> None:
    local = open_store(Settings(home=tmp_path))
    assert isinstance(local, LocalStore)
    assert local.root == tmp_path / "content"
    assert local.max_size == Settings().content_max_size
    with open_store(Settings(home=tmp_path, content_url="http://127.0.0.1:5001", content_max_size=7)) as kubo:
        assert isinstance(kubo, KuboStore)
        assert kubo.max_size == 7
    with pytest.raises(ConfigError, match="content_url must be"):
        open_store(Settings(home=tmp_path, content_url="ipfs://nope"))


def test_get_file_streams_without_holding_the_content(store: LocalStore, tmp_path: Path) -> None:
    source = tmp_path / "in.bin"
    with open(source, "wb") as out:
        for i in range(128):
            out.write(bytes([i]) * CHUNK_SIZE)
    cid = store.put_file(source)
    assert store.size(cid) == 128 * CHUNK_SIZE  # first CID parse loads multiformats' tables: not measured
    tracemalloc.start()
    try:
        store.get_file(cid, tmp_path / "out.bin")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * CHUNK_SIZE, peak  # a block or two in flight, never the 32 MiB
    assert (tmp_path / "out.bin").read_bytes() == source.read_bytes()


def test_a_missing_test_daemon_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEUROLINK_JSIPFS", str(tmp_path / "no-such-jsipfs"))
    with pytest.raises(ContentUnavailableError, match="run `make ipfs`"), jsipfs_daemon(tmp_path / "repo"):
        pass
