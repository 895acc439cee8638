"""Provider hosts emulated on one Linux machine (root only), for tests and scripts/multihost_demo.py.

Each host is a network namespace with one interface on a private bridge, which lives in a namespace of
its own: every address and interface made here is inside a namespace made here, and `close()` removes
them all. The machine's Redis is reached from inside a host through a forwarder listening on the host's
own loopback (`python -m node.nethosts forward <netns> <port>…`).
"""

import contextlib
import ctypes
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

SUBNET = "10.231.0"
_CLONE_NEWNET = 0x40000000


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


class NetHosts:
    """`count` hosts `nlh<i>-<tag>` on a bridge in `nls-<tag>`, at 10.231.0.<i+1>; `forward` ports of
    this machine's loopback appear on each host's loopback."""

    def __init__(self, count: int, forward: tuple[int, ...] = (6379,)) -> None:
        self.tag = secrets.token_hex(3)
        self.switch = f"nls-{self.tag}"
        self.hosts = [f"nlh{i}-{self.tag}" for i in range(count)]
        self.forward = forward
        self._forwarders: list[subprocess.Popen[bytes]] = []
        self._made: list[str] = []

    def address(self, index: int) -> str:
        return f"{SUBNET}.{index + 1}"

    def start(self) -> "NetHosts":
        try:
            for name in (self.switch, *self.hosts):
                _ip("netns", "add", name)
                self._made.append(name)
                _ip("-n", name, "link", "set", "lo", "up")
            _ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
            _ip("-n", self.switch, "link", "set", "br0", "up")
            for i, host in enumerate(self.hosts):
                # Both ends made inside namespaces: nothing appears in the machine's own network.
                _ip(
                    "-n",
                    self.switch,
                    "link",
                    "add",
                    f"v{i}",
                    "type",
                    "veth",
                    "peer",
                    "name",
                    "eth0",
                    "netns",
                    host,
                )
                _ip("-n", self.switch, "link", "set", f"v{i}", "master", "br0", "up")
                _ip("-n", host, "addr", "add", f"{self.address(i)}/24", "dev", "eth0")
                _ip("-n", host, "link", "set", "eth0", "up")
                if self.forward:
                    self._forwarders.append(self._start_forwarder(host))
        except BaseException:
            self.close()
            raise
        return self

    def _start_forwarder(self, host: str) -> "subprocess.Popen[bytes]":
        ports = [str(p) for p in self.forward]
        command = [sys.executable, "-m", "node.nethosts", "forward", host, *ports]
        process = subprocess.Popen(command, stdout=subprocess.PIPE)
        assert process.stdout is not None
        if process.stdout.readline().strip() != b"ready":
            process.kill()
            raise RuntimeError(f"the port forwarder for {host} did not start")
        return process

    def popen(self, index: int, argv: list[str], env: dict[str, str], log: Path) -> "subprocess.Popen[str]":
        """Start `argv` inside host `index` with exactly `env`; stderr to `log`, stdout piped."""
        with log.open("ab") as err:
            return subprocess.Popen(
                ["ip", "netns", "exec", self.hosts[index], *argv],
                env=env,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                start_new_session=True,
            )

    def kill(self, index: int) -> int:
        """Kill every process in host `index` at once, as a power cut would; how many there were."""
        out = subprocess.run(
            ["ip", "netns", "pids", self.hosts[index]], capture_output=True, text=True, check=False
        )
        pids = [int(p) for p in out.stdout.split()]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return len(pids)

    def close(self) -> None:
        for i in range(len(self.hosts)):
            if self.hosts[i] in self._made:
                self.kill(i)
        for process in self._forwarders:
            process.kill()
            process.wait()
        self._forwarders.clear()
        for name in reversed(self._made):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
        self._made.clear()

    def __enter__(self) -> "NetHosts":
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _setns(path: str) -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, _CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {path}")
    finally:
        os.close(fd)


def forward(netns: str, ports: list[int]) -> None:
    """Listen on 127.0.0.1:<port> inside `netns`, connect each client to 127.0.0.1:<port> out here.

    The listening sockets are made after entering the host's namespace, the outgoing ones after coming
    back: a socket stays in the namespace it was made in."""
    home = f"/proc/{os.getpid()}/ns/net"
    with open(home, "rb") as own:
        own_fd = os.dup(own.fileno())
    _setns(f"/run/netns/{netns}")
    listeners = []
    for port in ports:
        listener = socket.create_server(("127.0.0.1", port))
        listeners.append((listener, port))
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    if libc.setns(own_fd, _CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns back")
    for listener, port in listeners:
        threading.Thread(target=_accept, args=(listener, port), daemon=True).start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)


def _accept(listener: socket.socket, port: int) -> None:
    while True:
        client, _ = listener.accept()
        upstream = socket.create_connection(("127.0.0.1", port))
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=_pump, args=(a, b), daemon=True).start()


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


if __name__ == "__main__" and sys.argv[1:2] == ["forward"]:
    forward(sys.argv[2], [int(p) for p in sys.argv[3:]])
