"""The streaming importer against a direct transcription of go-unixfs's balanced layout."""

import io
import tracemalloc
from typing import BinaryIO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurolink.content import ContentTooLargeError, hash_stream
from neurolink.content.cid import DAG_PB, RAW, ContentId
from neurolink.content.dagpb import Link, encode_file_node
from neurolink.content.importer import CHUNK_SIZE, import_stream

Built = tuple[ContentId, int, int]  # cid, tsize, filesize


def go_balanced_root(data: bytes, chunk_size: int, max_links: int) -> ContentId:
    """balanced.Layout and fillNodeRec from go-unixfs, recursive and over all chunks at once."""
    chunks = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)] or [b""]
    position = 0

    def done() -> bool:
        return position == len(chunks)

    def leaf() -> Built:
        nonlocal position
        chunk = chunks[position]
        position += 1
        return ContentId.of_block(RAW, chunk), len(chunk), len(chunk)

    def node(children: list[Built]) -> Built:
        block = encode_file_node([Link(c, t) for c, t, _ in children], [f for _, _, f in children])
        return (
            ContentId.of_block(DAG_PB, block),
            len(block) + sum(t for _, t, _ in children),
            sum(f for _, _, f in children),
        )

    def fill(children: list[Built], depth: int) -> Built:
        while len(children) < max_links and not done():
            children.append(leaf() if depth == 1 else fill([], depth - 1))
        return node(children)

    root = leaf()
    depth = 1
    while not done():
        root = fill([root], depth)
        depth += 1
    return root[0]


@pytest.mark.parametrize("max_links", [2, 3, 5])
def test_streaming_layout_equals_go_layout_for_every_small_size(max_links: int) -> None:
    # One-byte chunks and few links give DAGs four and five levels deep from a few dozen bytes.
    for size in range(0, 130):
        data = bytes(range(size))
        expected = go_balanced_root(data, 1, max_links)
        assert hash_stream(io.BytesIO(data), chunk_size=1, max_links=max_links) == expected, size


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=4000), st.integers(1, 64), st.integers(2, 8))
def test_streaming_layout_equals_go_layout(data: bytes, chunk_size: int, max_links: int) -> None:
    got = hash_stream(io.BytesIO(data), chunk_size=chunk_size, max_links=max_links)
    assert got == go_balanced_root(data, chunk_size, max_links)


class _ShortReads(io.RawIOBase):
    """A pipe-like stream that returns at most 1000 bytes per read."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._data.read(min(size, 1000) if size >= 0 else 1000)


def test_short_reads_chunk_like_full_reads() -> None:
    data = bytes(range(256)) * 3000  # 768000 bytes: three chunks, the last one partial
    stream: BinaryIO = _ShortReads(data)  # type: ignore[assignment]
    assert hash_stream(stream) == hash_stream(io.BytesIO(data))


class _Generated(io.RawIOBase):
    """`size` bytes produced on demand, so the test itself never holds the content."""

    def __init__(self, size: int) -> None:
        self.remaining = size
        self.read_total = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        n = min(self.remaining, size if size >= 0 else self.remaining)
        self.remaining -= n
        self.read_total += n
        return bytes([self.read_total % 251]) * n


def test_import_memory_stays_flat_for_a_large_stream() -> None:
    stream = _Generated(64 * 1024 * 1024)
    tracemalloc.start()
    try:
        import_stream(stream, lambda _cid, _block: None)  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # One chunk in flight (and its copy) plus the DAG spine; never the 64 MiB.
    assert peak < 4 * CHUNK_SIZE, peak


def test_reading_stops_once_the_size_limit_is_passed() -> None:
    stream = _Generated(100 * CHUNK_SIZE)
    with pytest.raises(ContentTooLargeError, match="limit of 1000000 bytes"):
        import_stream(stream, lambda _cid, _block: None, max_size=1_000_000)  # type: ignore[arg-type]
    assert stream.read_total <= 1_000_000 + CHUNK_SIZE
