"""KuboStore: content on a Kubo daemon through its RPC API (/api/v0), with CIDs identical to LocalStore's."""

import time
import warnings
from collections.abc import Callable
from typing import Any, BinaryIO, Final, TypeVar
from urllib.parse import urlsplit

from neurolink.content.cid import ContentId, parse_cid
from neurolink.content.errors import (
    ContentNotFoundError,
    ContentUnavailableError,
    IntegrityError,
)
from neurolink.content.importer import CHUNK_SIZE, Progress, hash_stream
from neurolink.content.store import DEFAULT_MAX_SIZE, ContentStore
from neurolink.errors import ConfigError

T = TypeVar("T")

# `has` must not wait on the network: Kubo answers offline=true at once, js-ipfs ignores it and
# waits, so a short daemon-side timeout bounds that.
_HAS_OPTS: Final = {"timeout": "1s"}
# How Kubo and js-ipfs word "no such block (here, or within the daemon-side timeout)".
_NOT_FOUND_MARKERS: Final = ("not found", "could not find", "timed out", "deadline exceeded")

# Kubo's defaults, spelled out: a daemon configured otherwise (Import.CidVersion, ...) still
# produces the CIDs LocalStore computes.
ADD_OPTIONS: Final = {"cid_version": 1, "raw_leaves": True, "chunker": f"size-{CHUNK_SIZE}", "pin": True}


def api_multiaddr(url: str) -> str:
    """http://host:port → /ip4|ip6|dns/host/tcp/port/http, the address form ipfshttpclient takes."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL of a Kubo RPC API: {url!r}")
    host = parts.hostname
    proto = "ip6" if ":" in host else "ip4" if host.replace(".", "").isdigit() else "dns"
    port = parts.port or (443 if parts.scheme == "https" else 5001)
    return f"/{proto}/{host}/tcp/{port}/{parts.scheme}"


class _ProgressReader:
    """A read-only file wrapper that reports bytes read, for progress during the upload."""

    def __init__(self, stream: BinaryIO, progress: Progress) -> None:
        self._stream = stream
        self._progress = progress
        self.name = getattr(stream, "name", "data")

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._progress(len(data))
        return data


class KuboStore(ContentStore):
    """A Kubo (or any /api/v0) daemon. Files go up with `add`; reads fetch blocks and verify each.

    Reading block by block rather than with `cat` is what lets every byte be checked against
    the CID: a daemon that serves wrong data is caught at the first bad block.
    """

    fetch_ahead = 8

    def __init__(
        self,
        url: str = "http://127.0.0.1:5001",
        *,
        max_size: int = DEFAULT_MAX_SIZE,
        timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 0.25,
    ) -> None:
        super().__init__(max_size=max_size)
        import ipfshttpclient

        # ipfshttpclient 0.7 passes urllib3 2's deprecated `strict` whenever it opens a pool, from
        # any fetch thread; a scoped catch_warnings is not thread-safe, so this one message is
        # silenced process-wide (it can come from nowhere else).
        warnings.filterwarnings("ignore", "The 'strict' parameter is no longer needed", FutureWarning)
        self.url = url
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        try:
            addr = api_multiaddr(url)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        # Client() directly: connect() refuses every daemon newer than 0.7 on a version check.
        # A session keeps one TCP connection for the many block requests of a read.
        self._client = ipfshttpclient.Client(
            addr, session=True, timeout=(5.0, timeout + 5.0), chunk_size=CHUNK_SIZE
        )

    def __repr__(self) -> str:
        return f"KuboStore({self.url!r})"

    def _daemon_timeout(self) -> dict[str, str]:
        # The daemon-side `timeout` (both Kubo and js-ipfs) bounds a search for a block no peer has.
        return {"timeout": f"{self.timeout:g}s"}

    def close(self) -> None:
        super().close()
        self._client.close()

    def _call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn`, retried with exponential backoff while the daemon cannot be reached."""
        from ipfshttpclient import exceptions as ipfs_errors

        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                return fn(*args, **kwargs)
            except ipfs_errors.ConnectionError as exc:
                if attempt == self.retries:
                    # requests' message repeats the whole URL; its last clause is the reason.
                    reason = str(exc.original or exc).rsplit(": ", 1)[-1].rstrip("'\")")
                    raise ContentUnavailableError(
                        f"IPFS daemon at {self.url} is not reachable ({reason}; {what}, "
                        f"{attempt + 1} attempts): is it running?"
                    ) from exc
            except ipfs_errors.TimeoutError as exc:
                raise ContentUnavailableError(
                    f"IPFS daemon at {self.url} did not answer {what} within {self.timeout:g}s"
                ) from exc
            except ipfs_errors.ErrorResponse as exc:
                message = str(exc)
                if any(marker in message.lower() for marker in _NOT_FOUND_MARKERS):
                    raise ContentNotFoundError(f"{what}: {message}") from exc
                raise ContentUnavailableError(f"IPFS daemon at {self.url} failed {what}: {message}") from exc
            except ipfs_errors.Error as exc:
                raise ContentUnavailableError(f"IPFS daemon at {self.url} failed {what}: {exc}") from exc
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    def _put(self, stream: BinaryIO, progress: Progress | None) -> ContentId:
        # The CID is computed here first, so a daemon that imports differently (or a file that
        # changes during upload) is caught rather than recorded.
        start = stream.tell()
        expected = hash_stream(stream, max_size=self.max_size)
        body: Any = stream if progress is None else _ProgressReader(stream, progress)

        def upload() -> Any:
            stream.seek(start)  # again on each retry
            return self._client.add(body, **ADD_OPTIONS)

        reply = self._call("add", upload)
        got = parse_cid(reply["Hash"])
        if got != expected:
            raise IntegrityError(f"{self} imported the content as {got}, expected {expected}")
        return got

    def _get_block(self, cid: ContentId) -> bytes:
        data: bytes = self._call(
            f"block/get {cid}", self._client.block.get, str(cid), opts=self._daemon_timeout()
        )
        return data

    def has(self, cid: str | ContentId) -> bool:
        try:
            self._call(
                "block/stat", self._client.block.stat, str(parse_cid(cid)), offline=True, opts=_HAS_OPTS
            )
        except ContentNotFoundError:
            return False
        return True

    def pin(self, cid: str | ContentId) -> None:
        self._call("pin/add", self._client.pin.add, str(parse_cid(cid)), opts=self._daemon_timeout())
