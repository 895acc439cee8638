"""Both content backends against a real /api/v0 daemon (js-ipfs): same CIDs, verified round trips."""

import base64
import hashlib
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import ipfshttpclient
import pytest

from neurolink.config import Settings
from neurolink.content import (
    ContentNotFoundError,
    ContentUnavailableError,
    IntegrityError,
    KuboStore,
    LocalStore,
    cid_to_digest,
    digest_to_cid,
    hash_stream,
    open_store,
    parse_cid,
)
from neurolink.content.cid import DAG_PB
from neurolink.content.dagpb import decode_file_node
from neurolink.content.importer import CHUNK_SIZE, MAX_LINKS
from neurolink.content.testing import IpfsDaemon
from neurolink.devnet.anvil import free_port
from neurolink.errors import ExitCode

pytestmark = pytest.mark.integration

NEUROLINK = Path(sys.executable).with_name("neurolink")


def pattern(size: int, seed: bytes = b"") -> bytes:
    block = hashlib.sha512(seed + str(size).encode()).digest()
    return (block * (size // len(block) + 1))[:size]


@pytest.fixture(scope="module")
def kubo(ipfs_api_url: str) -> Iterator[KuboStore]:
    with KuboStore(ipfs_api_url, timeout=5) as store:
        yield store


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    return LocalStore(tmp_path_factory.mktemp("content"))


@pytest.mark.parametrize(
    "size",
    [0, 1, CHUNK_SIZE, CHUNK_SIZE + 1, 7 * CHUNK_SIZE + 12345],
    ids=["empty", "1 byte", "256KiB", "256KiB+1", "7 chunks+"],
)
def test_cids_agree_and_round_trip(kubo: KuboStore, local: LocalStore, size: int) -> None:
    data = pattern(size)
    cid = kubo.put_bytes(data)
    assert cid == local.put_bytes(data)
    assert kubo.get_bytes(cid) == data
    assert kubo.has(cid)
    assert kubo.size(cid) == size


def test_known_cids_come_from_the_daemon(kubo: KuboStore) -> None:
    assert kubo.put_bytes(b"") == "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    zeros = b"\0" * (CHUNK_SIZE + 1)
    assert kubo.put_bytes(zeros) == "bafybeigllfqgfpqydppr6cmv56g7ax4wyhruzswvcefv6j5kj77nzttfki"


def test_two_level_dag_of_a_large_file_agrees(kubo: KuboStore, local: LocalStore, tmp_path: Path) -> None:
    size = (MAX_LINKS + 1) * CHUNK_SIZE + 1  # 176 chunks: one level more than a node holds (~44 MB)
    source = tmp_path / "large.bin"
    with open(source, "wb") as out:
        for i in range(0, size, 1 << 20):
            out.write(pattern(min(1 << 20, size - i), seed=str(i).encode()))
    cid = kubo.put_file(source)
    assert cid == local.put_file(source)
    root = parse_cid(cid)
    assert root.codec == DAG_PB
    children = decode_file_node(kubo._verified_block(root), root).links
    assert len(children) == 2  # a full 174-link node and one holding the rest
    fetched = tmp_path / "fetched.bin"
    kubo.get_file(cid, fetched)
    assert fetched.stat().st_size == size
    with open(fetched, "rb") as stream:
        assert hash_stream(stream) == root
    assert hashlib.sha256(fetched.read_bytes()).digest() == hashlib.sha256(source.read_bytes()).digest()


def test_three_level_dag_agrees_with_the_daemon(ipfs_api_url: str) -> None:
    # 16-byte chunks reach a third level (more than 174 * 174 leaves) with half a megabyte.
    data = pattern(MAX_LINKS * MAX_LINKS * 16 + 5 * 16 + 3)
    client = ipfshttpclient.Client(ipfs_api_url.replace("http://127.0.0.1:", "/ip4/127.0.0.1/tcp/") + "/http")
    reply = client.add(io.BytesIO(data), cid_version=1, raw_leaves=True, chunker="size-16", pin=False)
    assert parse_cid(reply["Hash"]) == hash_stream(io.BytesIO(data), chunk_size=16)


def _daemon_block_file(daemon: IpfsDaemon, cid: str) -> Path:
    # js-ipfs keeps blocks in a flatfs: base32 multihash, sharded by its next-to-last two characters.
    key = base64.b32encode(bytes([0x12, 0x20]) + cid_to_digest(cid)).decode().rstrip("=")
    return daemon.repo / "blocks" / key[-3:-1] / f"{key}.data"


def test_wrong_bytes_from_the_daemon_are_rejected(ipfs_daemon: IpfsDaemon, kubo: KuboStore) -> None:
    data = pattern(3 * CHUNK_SIZE, seed=b"tamper")
    cid = kubo.put_bytes(data)
    leaf = digest_to_cid(hashlib.sha256(data[CHUNK_SIZE : 2 * CHUNK_SIZE]).digest(), "raw")
    path = _daemon_block_file(ipfs_daemon, leaf)
    damaged = bytearray(path.read_bytes())
    damaged[100] ^= 0x01
    path.write_bytes(bytes(damaged))
    with pytest.raises(IntegrityError, match=f"block {leaf} does not hash to its CID") as info:
        kubo.get_bytes(cid)
    assert info.value.exit_code == ExitCode.INTEGRITY


def test_has_pin_and_resolve_digest(kubo: KuboStore) -> None:
    single = kubo.put_bytes(b"resolve me")
    multi = kubo.put_bytes(pattern(CHUNK_SIZE + 10, seed=b"resolve"))
    for cid in (single, multi):
        kubo.pin(cid)
        assert kubo.resolve_digest(cid_to_digest(cid)) == cid
    absent = digest_to_cid(hashlib.sha256(b"nobody has this").digest(), "raw")
    assert not kubo.has(absent)


def test_missing_content_is_not_found_within_the_timeout(ipfs_api_url: str) -> None:
    absent = digest_to_cid(hashlib.sha256(b"nobody has this either").digest(), "raw")
    with KuboStore(ipfs_api_url, timeout=1) as store, pytest.raises(ContentNotFoundError) as info:
        store.get_bytes(absent)
    assert info.value.exit_code == ExitCode.NOT_FOUND


def test_daemon_down_fails_clearly_after_bounded_retries() -> None:
    with KuboStore(f"http://127.0.0.1:{free_port()}", retries=2, backoff=0.01) as store:
        expected = r"not reachable .*3 attempts\): is it running"
        with pytest.raises(ContentUnavailableError, match=expected) as info:
            store.put_bytes(b"x")
        assert info.value.exit_code == ExitCode.UNAVAILABLE
        with pytest.raises(ContentUnavailableError, match="3 attempts"):
            store.get_bytes("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku")


def test_open_store_and_cli_against_the_daemon(ipfs_api_url: str, local: LocalStore, tmp_path: Path) -> None:
    data = pattern(2 * CHUNK_SIZE + 3, seed=b"cli")
    source = tmp_path / "job.bin"
    source.write_bytes(data)
    by_name = ipfs_api_url.replace("127.0.0.1", "localhost")  # a host name: a /dns/ multiaddr
    with open_store(Settings(home=tmp_path, content_url=by_name)) as store:
        assert isinstance(store, KuboStore)
        assert store.put_file(source) == local.put_file(source)

    env = {"NEUROLINK_HOME": str(tmp_path / "home"), "PATH": str(NEUROLINK.parent)}
    added = subprocess.run(
        [NEUROLINK, "content", "add", source, "--content-url", ipfs_api_url, "--json"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    info = json.loads(added.stdout)
    assert info["cid"] == local.put_bytes(data)
    assert info["digest"] == "0x" + cid_to_digest(info["cid"]).hex()
    out = tmp_path / "back.bin"
    subprocess.run(
        [NEUROLINK, "content", "get", info["cid"], "-o", out, "--content-url", ipfs_api_url],
        env=env, capture_output=True, check=True,
    )  # fmt: skip
    assert out.read_bytes() == data
    missing = subprocess.run(
        [NEUROLINK, "content", "get", "not-a-cid", "-o", out],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert missing.returncode == ExitCode.INVALID_INPUT
    assert "not a CID" in missing.stderr
