"""Content from elsewhere: a trustless HTTP gateway as a read-only store, and a store trying sources in order.

Every block fetched is hashed against its CID before use (ContentStore does that for every store), so a
gateway is trusted with nothing but availability.
"""

import urllib.error
import urllib.request
from typing import BinaryIO, Final

from neurolink.content.cid import ContentId, parse_cid
from neurolink.content.errors import (
    ContentError,
    ContentNotFoundError,
    ContentUnavailableError,
    IntegrityError,
    UnsupportedContentError,
)
from neurolink.content.gateway import RAW_BLOCK
from neurolink.content.importer import Progress
from neurolink.content.local import LocalStore
from neurolink.content.store import DEFAULT_MAX_SIZE, ContentStore

# Kubo's blocks are at most 1 MiB (its chunker's 256 KiB leaves, small dag-pb nodes); 2 MiB allows slack.
MAX_BLOCK_BYTES: Final = 2 * 1024 * 1024


class GatewayStore(ContentStore):
    """Reads blocks from a trustless gateway (`content serve`, Kubo's gateway, a public one); never writes."""

    fetch_ahead = 8

    def __init__(self, url: str, *, timeout: float = 30.0, max_size: int = DEFAULT_MAX_SIZE) -> None:
        super().__init__(max_size=max_size)
        self.url = url.rstrip("/")
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"GatewayStore({self.url!r})"

    def _put(self, stream: BinaryIO, progress: Progress | None) -> ContentId:
        raise UnsupportedContentError(f"{self.url} is a read-only gateway: store content elsewhere")

    def _request(self, cid: ContentId, method: str) -> urllib.request.Request:
        return urllib.request.Request(
            f"{self.url}/ipfs/{cid}?format=raw", method=method, headers={"Accept": RAW_BLOCK}
        )

    def _get_block(self, cid: ContentId) -> bytes:
        try:
            with urllib.request.urlopen(self._request(cid, "GET"), timeout=self.timeout) as response:
                block: bytes = response.read(MAX_BLOCK_BYTES + 1)
        except urllib.error.HTTPError as exc:
            if exc.code in (404, 410):
                raise ContentNotFoundError(f"{cid} is not at the gateway {self.url}") from None
            raise ContentUnavailableError(f"gateway {self.url} answered {exc.code} for {cid}") from None
        except (OSError, urllib.error.URLError) as exc:
            raise ContentUnavailableError(f"gateway {self.url} unreachable: {exc}") from None
        if len(block) > MAX_BLOCK_BYTES:
            raise IntegrityError(f"gateway {self.url} sent over {MAX_BLOCK_BYTES} bytes for block {cid}")
        return block

    def has(self, cid: str | ContentId) -> bool:
        try:
            self.get_block(cid)
        except ContentNotFoundError:
            return False
        return True

    def pin(self, cid: str | ContentId) -> None:
        raise UnsupportedContentError(f"{self.url} is a read-only gateway: pin on your own store")


class SourcesStore(ContentStore):
    """The node's own store first, then each gateway in order; blocks fetched are kept in the own store.

    Writes, pins and `has` go to the own store. A block missing there is asked of each source until
    one has it; an unreachable source is skipped, and only if none answers is the read unavailable.
    """

    def __init__(self, primary: ContentStore, sources: list[ContentStore]) -> None:
        super().__init__(max_size=primary.max_size)
        self.primary = primary
        self.sources = sources

    def __repr__(self) -> str:
        return f"SourcesStore({self.primary!r}, {self.sources!r})"

    def _put(self, stream: BinaryIO, progress: Progress | None) -> ContentId:
        return self.primary._put(stream, progress)

    def _get_block(self, cid: ContentId) -> bytes:
        errors: list[ContentError] = []
        for store in (self.primary, *self.sources):
            try:
                block = store.get_block(cid)
            except (ContentNotFoundError, ContentUnavailableError, IntegrityError) as exc:
                errors.append(exc)
                continue
            if store is not self.primary and isinstance(self.primary, LocalStore):
                self.primary.put_block(cid, block)
            return block
        if all(isinstance(e, ContentNotFoundError) for e in errors):
            raise ContentNotFoundError(f"{cid} is in none of the content sources: {self._names()}")
        raise ContentUnavailableError(f"{cid}: {'; '.join(str(e) for e in errors)}")

    def _names(self) -> str:
        return ", ".join(repr(s) for s in (self.primary, *self.sources))

    def has(self, cid: str | ContentId) -> bool:
        return self.primary.has(cid)

    def pin(self, cid: str | ContentId) -> None:
        for _ in self.iter_bytes(parse_cid(cid)):  # every block now in the own store
            pass
        self.primary.pin(cid)

    def close(self) -> None:
        for store in (self.primary, *self.sources):
            store.close()
        super().close()
