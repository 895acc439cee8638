"""One signer per account: an exclusive lock file beside the keystore folder, held while a process signs."""

import fcntl
import json
import os
import sys
import time
from pathlib import Path

from neurolink.accounts.errors import AccountInUseError

# Locks this process holds, by path: kept open (and so locked) until the process exits or releases them.
_HELD: dict[Path, "AccountLock"] = {}


class AccountLock:
    """`flock` on `<keystore dir>.locks/<address>.lock`, a folder beside the keystore folder (tools that
    read every file of the keystore folder as a key, such as `cast --keystore`, never meet it); the file
    names the holder (pid, command, since when).

    The kernel drops the lock when the holder dies, kill -9 included, so a stale file never blocks.
    """

    def __init__(self, keystore_dir: Path, address: str) -> None:
        self.path = lock_dir(keystore_dir) / f"{address.lower()}.lock"
        self.address = address
        self._fd: int | None = None

    def acquire(self) -> "AccountLock":
        """Take the lock, or raise AccountInUseError naming the process that has it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AccountInUseError(
                f"account {self.address} is in use by {self.holder()} (lock file {self.path}):"
                " two programs signing for one account would race for its nonces; stop it first"
            ) from None
        os.ftruncate(fd, 0)
        holder = {"pid": os.getpid(), "command": " ".join(sys.argv) or sys.executable, "since": time.time()}
        os.write(fd, json.dumps(holder).encode())
        os.fsync(fd)
        self._fd = fd
        return self

    def release(self) -> None:
        _HELD.pop(self.path, None)
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def holder(self) -> str:
        """Who holds the lock, as the file says ("pid 123 (neurolink node run) since …")."""
        try:
            data = json.loads(self.path.read_text())
            since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(float(data["since"])))
            return f"pid {int(data['pid'])} ({data['command']}) since {since}"
        except (OSError, ValueError, KeyError, TypeError):
            return "another process"


def lock_dir(keystore_dir: Path) -> Path:
    return keystore_dir.with_name(keystore_dir.name + ".locks")


def hold_account(keystore_dir: Path, address: str) -> AccountLock:
    """Lock `address` for the rest of this process (again: a no-op); AccountInUseError if taken."""
    lock = AccountLock(keystore_dir, address)
    if lock.path not in _HELD:
        _HELD[lock.path] = lock.acquire()
    return _HELD[lock.path]
