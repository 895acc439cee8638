"""New-block notifications: an `eth_subscribe("newHeads")` over the RPC's WebSocket, in a thread.

Loops that react to the chain (the provider daemon, a requester waiting for its job) wait on an event
its callback sets, instead of sleeping a fixed interval between polls. An RPC without WebSocket (or one that
drops it) leaves `live` False, and the caller polls instead; the thread keeps trying to reconnect.
"""

import json
import logging
import threading
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

log = logging.getLogger(__name__)

# Longest pause between two attempts to (re)open the subscription.
MAX_RETRY_S = 30.0
# How long one receive waits before looking at the stop flag again.
RECV_TIMEOUT_S = 0.5
SUBSCRIBE = ["newHeads"]


def ws_url_for(rpc_url: str) -> str | None:
    """The WebSocket address of an HTTP RPC at the same host, port and path (anvil, geth and reth serve
    both on one port when asked to), or None for a URL that is neither http nor https."""
    parts = urlsplit(rpc_url)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    return None if scheme is None else urlunsplit(parts._replace(scheme=scheme))


class NewHeads:
    """Calls `on_head` at each new block, from a subscription kept open by a daemon thread (and once
    when the subscription drops, so a waiter looks for itself).

    `head` is the newest block number announced; `live` whether the subscription is up right now.
    """

    def __init__(self, rpc_url: str, *, ws_url: str | None = None) -> None:
        self.url = ws_url or ws_url_for(rpc_url)
        self.head = -1
        self._on_head: Callable[[], None] = lambda: None
        self._live = threading.Event()
        self._tried = threading.Event()  # the first attempt to subscribe has ended, either way
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def live(self) -> bool:
        return self._live.is_set()

    def start(self, on_head: Callable[[], None], ready_timeout: float = 2.0) -> bool:
        """Start the thread; waits up to `ready_timeout` for the subscription and says whether it is up."""
        if self.url is None:
            return False
        self._on_head = on_head
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="new-heads", daemon=True)
        self._thread.start()
        self._tried.wait(ready_timeout)
        return self.live

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2 * RECV_TIMEOUT_S)
            self._thread = None
        self._live.clear()

    def _run(self) -> None:
        pause = 0.5
        while not self._stop.is_set():
            try:
                self._follow()
                pause = 0.5
            except Exception as exc:  # refused, not a WebSocket endpoint, dropped: poll meanwhile
                if self.live or pause == 0.5:
                    log.info("no new-block subscription, polling instead", extra={"error": str(exc)})
                self._live.clear()
                self._tried.set()
                self._on_head()  # whoever waits should look now, not at the next notification
            self._stop.wait(pause)
            pause = min(pause * 2, MAX_RETRY_S)

    def _follow(self) -> None:
        from websockets.sync.client import connect

        assert self.url is not None
        with connect(self.url, open_timeout=2.0, close_timeout=1.0, max_size=2**20) as ws:
            ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": SUBSCRIBE}))
            answer = json.loads(ws.recv(timeout=2.0))
            if "result" not in answer:
                raise ConnectionError(f"eth_subscribe refused: {answer.get('error')}")
            self._live.set()
            self._tried.set()
            while not self._stop.is_set():
                try:
                    message = json.loads(ws.recv(timeout=RECV_TIMEOUT_S))
                except TimeoutError:
                    continue
                block = message.get("params", {}).get("result", {})
                if isinstance(block, dict) and "number" in block:
                    self.head = int(block["number"], 16)
                    self._on_head()
