"""The ContentStore interface: files in and out by CID, every block checked against its CID on read."""

import io
import itertools
import os
import uuid
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Final, Self

from neurolink.content.cid import DAG_PB, RAW, ContentId, parse_cid
from neurolink.content.dagpb import decode_file_node
from neurolink.content.errors import ContentTooLargeError, IntegrityError
from neurolink.content.exporter import declared_size, decode_root, iter_file
from neurolink.content.importer import Progress

DEFAULT_MAX_SIZE: Final = 8 * 1024**3


class ContentStore(ABC):
    """Content-addressed storage of files, named by the CIDs Kubo's default import gives them.

    Subclasses move blocks; this class owns what must not differ between backends: the size
    limit, CID parsing, hash verification of every block read, file assembly and digest lookup.
    """

    # How many blocks a read keeps requested ahead of the one it is on: worth it when each
    # block is a round trip (a daemon), not when it is a file read.
    fetch_ahead: int = 1

    def __init__(self, *, max_size: int = DEFAULT_MAX_SIZE) -> None:
        if max_size <= 0:
            raise ValueError(f"max_size must be positive, got {max_size}")
        self.max_size = max_size
        # Threads start on first use; created here so concurrent readers share one pool.
        self._pool = (
            ThreadPoolExecutor(self.fetch_ahead, thread_name_prefix=type(self).__name__)
            if self.fetch_ahead > 1
            else None
        )

    # -- writing ---------------------------------------------------------------------------

    def put_bytes(self, data: bytes) -> str:
        """Store `data`; its CID (base32 CIDv1)."""
        self._check_size(len(data))
        return str(self._put(io.BytesIO(data), None))

    def put_file(self, path: str | os.PathLike[str], *, progress: Progress | None = None) -> str:
        """Store the file at `path`, streaming; its CID. `progress(n)` is told of every n bytes stored."""
        with open(path, "rb") as stream:
            self._check_size(os.fstat(stream.fileno()).st_size)
            return str(self._put(stream, progress))

    @abstractmethod
    def _put(self, stream: BinaryIO, progress: Progress | None) -> ContentId:
        """Import `stream` (seekable, at most `max_size` bytes as far as its size is known)."""

    def _check_size(self, size: int) -> None:
        if size > self.max_size:
            raise ContentTooLargeError(f"{size} bytes exceed the limit of {self.max_size} bytes")

    # -- reading ---------------------------------------------------------------------------

    def iter_bytes(self, cid: str | ContentId, *, max_size: int | None = None) -> Iterator[bytes]:
        """The content of `cid` in pieces of at most one block, each verified before it is yielded."""
        limit = self.max_size if max_size is None else min(max_size, self.max_size)
        return iter_file(parse_cid(cid), self._verified_blocks, max_size=limit)

    def get_bytes(self, cid: str | ContentId, max_size: int | None = None) -> bytes:
        """The content of `cid`; ContentTooLargeError past `max_size` (and always past the store's limit)."""
        return b"".join(self.iter_bytes(cid, max_size=max_size))

    def get_file(
        self,
        cid: str | ContentId,
        dest_path: str | os.PathLike[str],
        *,
        progress: Progress | None = None,
        max_size: int | None = None,
    ) -> None:
        """Write the content of `cid` to `dest_path`, which appears only once all of it is verified.

        Streams block by block; past `max_size` (checked against the root block's declared size
        before any other block is fetched) it raises ContentTooLargeError and writes nothing.
        """
        dest = Path(dest_path)
        partial = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
        try:
            with open(partial, "wb") as out:
                for piece in self.iter_bytes(cid, max_size=max_size):
                    out.write(piece)
                    if progress is not None:
                        progress(len(piece))
            os.replace(partial, dest)
        finally:
            partial.unlink(missing_ok=True)

    def size(self, cid: str | ContentId) -> int:
        """The size of the content of `cid` as its (verified) root block declares it."""
        parsed = parse_cid(cid)
        block = self._verified_block(parsed)
        return declared_size(block, decode_root(parsed, block))

    def _verified_blocks(self, cids: list[ContentId]) -> Iterator[bytes]:
        """The blocks of `cids` in order; up to `fetch_ahead` of them requested concurrently."""
        pool = self._pool
        if pool is None or len(cids) <= 1:
            yield from map(self._verified_block, cids)
            return
        pending: deque[Future[bytes]] = deque()
        todo = iter(cids)
        try:
            for cid in itertools.islice(todo, self.fetch_ahead):
                pending.append(pool.submit(self._verified_block, cid))
            while pending:
                block = pending.popleft().result()
                for cid in itertools.islice(todo, 1):
                    pending.append(pool.submit(self._verified_block, cid))
                yield block
        finally:
            for future in pending:
                future.cancel()

    def get_block(self, cid: str | ContentId) -> bytes:
        """The one block named by `cid`, checked against it (what a trustless gateway serves)."""
        return self._verified_block(parse_cid(cid))

    def _verified_block(self, cid: ContentId) -> bytes:
        block = self._get_block(cid)
        if not cid.verify(block):
            raise IntegrityError(f"{self}: block {cid} does not hash to its CID; rejected")
        return block

    @abstractmethod
    def _get_block(self, cid: ContentId) -> bytes:
        """The block stored under `cid`'s digest, unverified; ContentNotFoundError if absent."""

    # -- presence --------------------------------------------------------------------------

    @abstractmethod
    def has(self, cid: str | ContentId) -> bool:
        """Whether the root block of `cid` is held by this store (without asking any network)."""

    @abstractmethod
    def pin(self, cid: str | ContentId) -> None:
        """Make sure all of `cid` is held, verified, and kept."""

    def resolve_digest(self, digest: bytes) -> str:
        """The fetchable CID for an on-chain bytes32 digest.

        A bytes32 drops the codec; blocks are stored by digest (here as in Kubo), so the block is
        fetched once and its shape decides: a well-formed dag-pb UnixFS node is dag-pb, anything else
        raw. A raw file whose bytes happen to be such a node resolves as dag-pb: only storing the
        codec on-chain would remove that ambiguity.
        """
        raw = ContentId(RAW, bytes(digest))
        dag = ContentId(DAG_PB, raw.digest)
        block = self._verified_block(raw)
        try:
            decode_file_node(block, dag)
        except IntegrityError:
            return str(raw)
        return str(dag)

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Release threads and connections; the store is unusable afterwards."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
