"""Kubo's default file import, streamed: 256 KiB raw leaves under a balanced dag-pb DAG of 174 links."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, Final

from neurolink.content.cid import DAG_PB, RAW, ContentId
from neurolink.content.dagpb import Link, encode_file_node
from neurolink.content.errors import ContentTooLargeError

CHUNK_SIZE: Final = 256 * 1024
MAX_LINKS: Final = 174

BlockSink = Callable[[ContentId, bytes], None]
Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class _Child:
    link: Link
    filesize: int


def read_chunk(stream: BinaryIO, size: int) -> bytes:
    """Up to `size` bytes, fewer only at end of stream (io.ReadFull, as Kubo's size splitter)."""
    parts: list[bytes] = []
    missing = size
    while missing:
        part = stream.read(missing)
        if not part:
            break
        parts.append(part)
        missing -= len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


class _BalancedBuilder:
    """Streams children into levels of at most MAX_LINKS, as go-unixfs's balanced layout.

    Level 0 holds leaves; a full level is folded into a node one level up only when another
    child arrives, so a DAG of exactly 174 leaves has one root, and 175 leaves get a depth-2
    root over a full node and a one-link node, as Kubo builds it.
    """

    def __init__(self, sink: BlockSink, max_links: int) -> None:
        self._sink = sink
        self._max_links = max_links
        self._levels: list[list[_Child]] = [[]]

    def add_leaf(self, child: _Child) -> None:
        self._push(0, child)

    def _push(self, level: int, child: _Child) -> None:
        if len(self._levels[level]) == self._max_links:
            if level + 1 == len(self._levels):
                self._levels.append([])
            self._push(level + 1, self._node(self._levels[level]))
            self._levels[level] = []
        self._levels[level].append(child)

    def _node(self, children: list[_Child]) -> _Child:
        block = encode_file_node([c.link for c in children], [c.filesize for c in children])
        cid = ContentId.of_block(DAG_PB, block)
        self._sink(cid, block)
        tsize = len(block) + sum(c.link.tsize for c in children)
        return _Child(Link(cid, tsize), sum(c.filesize for c in children))

    def root(self) -> ContentId:
        # A single leaf is the file itself; everything else is folded bottom-up into one node.
        if len(self._levels) == 1 and len(self._levels[0]) == 1:
            return self._levels[0][0].link.cid
        level = 0
        # Folding a level may fill the one above and add a level, so the bound is re-read each time.
        while level < len(self._levels) - 1:
            self._push(level + 1, self._node(self._levels[level]))
            self._levels[level] = []
            level += 1
        return self._node(self._levels[-1]).link.cid


def import_stream(
    stream: BinaryIO,
    sink: BlockSink,
    *,
    max_size: int | None = None,
    progress: Progress | None = None,
    chunk_size: int = CHUNK_SIZE,
    max_links: int = MAX_LINKS,
) -> ContentId:
    """Chunk `stream`, hand every block to `sink` (children before parents) and return the root CID.

    Memory stays at one chunk plus the DAG's spine, whatever the size. Reading stops with
    ContentTooLargeError as soon as more than `max_size` bytes have been read. `chunk_size` and
    `max_links` other than Kubo's defaults exist so tests can build deep DAGs from little data.
    """
    builder = _BalancedBuilder(sink, max_links)
    total = 0
    while True:
        chunk = read_chunk(stream, chunk_size)
        total += len(chunk)
        if max_size is not None and total > max_size:
            raise ContentTooLargeError(f"content exceeds the limit of {max_size} bytes")
        if chunk or total == 0:
            # An empty stream is one empty raw leaf (Kubo: bafkreihdwdcef...vyku).
            cid = ContentId.of_block(RAW, chunk)
            sink(cid, chunk)
            builder.add_leaf(_Child(Link(cid, len(chunk)), len(chunk)))
            if progress is not None and chunk:
                progress(len(chunk))
        if len(chunk) < chunk_size:
            return builder.root()


def hash_stream(
    stream: BinaryIO, *, max_size: int | None = None, chunk_size: int = CHUNK_SIZE, max_links: int = MAX_LINKS
) -> ContentId:
    """The CID Kubo's import gives `stream`, storing nothing (`ipfs add --only-hash`)."""
    return import_stream(
        stream, lambda _cid, _block: None, max_size=max_size, chunk_size=chunk_size, max_links=max_links
    )
