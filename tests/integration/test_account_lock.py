"""One signer per account: a signing command refuses to start while another process holds the account's
lock file, names that process, and goes ahead once it is gone (kill -9 included)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from neurolink.accounts.errors import AccountInUseError
from neurolink.accounts.keystore import Keystore
from neurolink.accounts.lock import AccountLock, hold_account
from neurolink.devnet.network import neurolink_command
from neurolink.errors import ExitCode

HOLDER = """
import sys, time
from pathlib import Path
from neurolink.accounts.lock import hold_account
hold_account(Path(sys.argv[1]), sys.argv[2])
print("held", flush=True)
time.sleep(120)
"""


def _holder(keystore: Path, address: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(keystore), address], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    return process


def test_a_second_signer_is_refused_with_the_holder_named(tmp_path: Path) -> None:
    keystore = tmp_path / "keystore"
    entry = Keystore(keystore, scrypt_n=2**4).new("pw")
    (tmp_path / "pw").write_text("pw\n")
    holder = _holder(keystore, entry.address)
    env = {**os.environ, "NEUROLINK_HOME": str(tmp_path)}
    env.pop("NEUROLINK_PASSWORD", None)
    try:
        with pytest.raises(AccountInUseError, match=f"pid {holder.pid} "):
            AccountLock(keystore, entry.address).acquire()
        # Every CLI command that signs goes through the same lock: here the provider's withdraw.
        refused = subprocess.run(
            [*neurolink_command(), "node", "withdraw", "--password-file", str(tmp_path / "pw")],
            check=False,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.returncode == ExitCode.UNAVAILABLE, refused.stderr
        assert f"pid {holder.pid}" in refused.stderr and "in use" in refused.stderr
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # The kernel released the lock with the dead holder: no stale file blocks the account.
    lock = AccountLock(keystore, entry.address).acquire()
    lock.release()
    # Tools that take every file of the keystore folder for a key (cast --keystore) never meet the lock.
    assert [p.name for p in keystore.iterdir()] == [entry.path.name]


def test_holding_twice_in_one_process_is_a_no_op(tmp_path: Path) -> None:
    first = hold_account(tmp_path, "0xAbC0000000000000000000000000000000000001")
    assert hold_account(tmp_path, "0xabc0000000000000000000000000000000000001") is first
    first.release()
