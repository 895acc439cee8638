"""Reads a UnixFS file back out of its DAG, block by verified block, in order and with a size cap."""

from collections.abc import Callable, Iterator
from typing import Final

from neurolink.content.cid import RAW, ContentId
from neurolink.content.dagpb import FileNode, UnixFSType, decode_file_node
from neurolink.content.errors import ContentTooLargeError, IntegrityError, UnsupportedContentError

# Kubo's own files are a few levels deep; a deeper DAG is hostile (or broken) and would blow the stack.
MAX_DEPTH: Final = 32

BlockSource = Callable[[list[ContentId]], Iterator[bytes]]
"""Yields the blocks for CIDs in order, each already checked against its CID (possibly fetched ahead)."""


def decode_root(cid: ContentId, block: bytes) -> FileNode | None:
    """The UnixFS file node of a dag-pb root (None for a raw block); UnsupportedContentError if not a file."""
    if cid.codec == RAW:
        return None
    node = decode_file_node(block, cid)
    if node.type not in (UnixFSType.FILE, UnixFSType.RAW):
        raise UnsupportedContentError(f"{cid} is a UnixFS {node.type.name.lower()}, not a file")
    return node


def declared_size(block: bytes, node: FileNode | None) -> int:
    """The file size a root block declares (its own length for a raw block)."""
    if node is None:
        return len(block)
    return node.filesize if node.filesize is not None else len(node.data) + sum(node.blocksizes)


class _Reader:
    def __init__(self, fetch: BlockSource, max_size: int | None) -> None:
        self._fetch = fetch
        self._max_size = max_size
        self.total = 0

    def _emit(self, data: bytes) -> bytes:
        self.total += len(data)
        if self._max_size is not None and self.total > self._max_size:
            raise ContentTooLargeError(f"content exceeds the limit of {self._max_size} bytes")
        return data

    def walk(self, cid: ContentId, node: FileNode, depth: int) -> Iterator[bytes]:
        if depth > MAX_DEPTH:
            raise IntegrityError(f"{cid}: DAG deeper than {MAX_DEPTH} levels")
        start = self.total
        if node.data:
            yield self._emit(node.data)
        for link, block in zip(node.links, self._fetch([link.cid for link in node.links]), strict=True):
            if link.cid.codec == RAW:
                yield self._emit(block)
                continue
            child = decode_file_node(block, link.cid)
            if child.type not in (UnixFSType.FILE, UnixFSType.RAW):
                raise IntegrityError(f"{cid}: file links to a UnixFS {child.type.name.lower()}")
            yield from self.walk(link.cid, child, depth + 1)
        if node.filesize is not None and self.total - start != node.filesize:
            raise IntegrityError(
                f"{cid}: node declares {node.filesize} bytes but its DAG holds {self.total - start}"
            )


def iter_file(cid: ContentId, fetch: BlockSource, *, max_size: int | None = None) -> Iterator[bytes]:
    """The file's bytes in order. Stops with ContentTooLargeError once `max_size` is passed."""
    block = next(fetch([cid]))
    node = decode_root(cid, block)
    size = declared_size(block, node)
    if max_size is not None and size > max_size:
        raise ContentTooLargeError(f"{cid} holds {size} bytes, over the limit of {max_size} bytes")
    if node is None:
        yield block
        return
    yield from _Reader(fetch, max_size).walk(cid, node, 0)
