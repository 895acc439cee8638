"""`content serve`: a store's blocks over HTTP, read-only, as a trustless gateway serves them (/ipfs/{cid}).

A fetcher asks for `application/vnd.ipld.raw` (or `?format=raw`) and gets the one block named by
the CID, which it hashes itself: nothing served has to be trusted. Without that, the whole file is
streamed (checked block by block here first), for a browser or curl.
"""

import threading
from collections.abc import Iterable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Final
from urllib.parse import parse_qs, urlsplit

from neurolink.content.cid import parse_cid
from neurolink.content.errors import ContentError, ContentNotFoundError, InvalidCIDError
from neurolink.content.store import ContentStore

RAW_BLOCK: Final = "application/vnd.ipld.raw"


class GatewayServer(ThreadingHTTPServer):
    """A threading HTTP server bound to one store; `url` is where fetchers reach it."""

    daemon_threads = True

    def __init__(self, store: ContentStore, host: str = "127.0.0.1", port: int = 8080) -> None:
        self.store = store
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> threading.Thread:
        """Serve from a background thread (tests, embedding); `shutdown()` stops it."""
        thread = threading.Thread(target=self.serve_forever, name="content-gateway", daemon=True)
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    server: GatewayServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per block would drown the operator's terminal

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    def _refuse(self, status: HTTPStatus, message: str) -> None:
        data = (message + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command == "GET":
            self.wfile.write(data)

    def _answer(self, *, body: bool) -> None:
        url = urlsplit(self.path)
        parts = url.path.split("/")
        if len(parts) != 3 or parts[1] != "ipfs" or not parts[2]:
            self._refuse(HTTPStatus.NOT_FOUND, "only /ipfs/{cid} is served")
            return
        try:
            cid = parse_cid(parts[2])
        except InvalidCIDError as exc:
            self._refuse(HTTPStatus.BAD_REQUEST, str(exc))
            return
        raw = parse_qs(url.query).get("format") == ["raw"] or RAW_BLOCK in self.headers.get("Accept", "")
        store = self.server.store
        try:
            if raw:
                block = store.get_block(cid)
                self._send(body, [block], len(block), RAW_BLOCK, cid_name=str(cid))
            else:
                size = store.size(cid)
                self._send(body, store.iter_bytes(cid), size, "application/octet-stream", cid_name=str(cid))
        except ContentNotFoundError as exc:
            self._refuse(HTTPStatus.NOT_FOUND, str(exc))
        except ContentError as exc:
            self._refuse(HTTPStatus.BAD_GATEWAY, str(exc))

    def _send(self, body: bool, pieces: Iterable[bytes], size: int, kind: str, *, cid_name: str) -> None:
        iterator = iter(pieces)
        # The first piece is read before the headers go out: a missing block is still a clean 404.
        first = next(iterator, b"") if body else b""
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(size))
        self.send_header("X-Ipfs-Path", f"/ipfs/{cid_name}")
        # Content named by its hash never changes.
        self.send_header("Cache-Control", "public, max-age=29030400, immutable")
        self.end_headers()
        if not body:
            return
        self.wfile.write(first)
        for piece in iterator:
            self.wfile.write(piece)
