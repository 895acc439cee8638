"""New-block announcements (neurolink.chain.heads) from a real anvil's WebSocket, and the fallback."""

import threading

from neurolink.chain.heads import NewHeads, ws_url_for
from neurolink.devnet.anvil import Anvil, free_port, rpc_call


def test_each_mined_block_is_announced(anvil: Anvil) -> None:
    seen = threading.Event()
    heads = NewHeads(anvil.rpc_url)
    assert heads.start(seen.set), "anvil serves WebSocket on its RPC port"
    try:
        for _ in range(3):
            seen.clear()
            rpc_call(anvil.rpc_url, "evm_mine")
            assert seen.wait(10), "no announcement for a mined block"
            assert heads.head == int(rpc_call(anvil.rpc_url, "eth_blockNumber"), 16)
        assert heads.live
    finally:
        heads.stop()
    assert not heads.live


def test_an_rpc_without_websocket_leaves_the_caller_polling() -> None:
    # Nothing listens on this port: start says so at once (within its ready timeout), never raises.
    calls = threading.Event()
    heads = NewHeads(f"http://127.0.0.1:{free_port()}")
    try:
        assert not heads.start(calls.set, ready_timeout=5.0)
        assert not heads.live
        assert calls.is_set(), "a waiter is told to look for itself when there is no subscription"
    finally:
        heads.stop()


def test_the_websocket_address_follows_the_rpc_address() -> None:
    assert ws_url_for("http://127.0.0.1:8545") == "ws://127.0.0.1:8545"
    assert ws_url_for("https://rpc.example.org/v1/key") == "wss://rpc.example.org/v1/key"
    assert ws_url_for("wss://rpc.example.org") == "wss://rpc.example.org"
    assert ws_url_for("ipc:///tmp/geth.ipc") is None
