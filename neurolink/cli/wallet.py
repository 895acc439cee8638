"""The signing account of a command: `--account ADDRESS` from the encrypted keystore, unlocked once."""

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from neurolink.cli import validate
from neurolink.cli.account import PasswordFileOption

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from neurolink.config import Settings

AccountOption = typer.Option(
    None,
    "--account",
    callback=validate.address,
    help="Address of the keystore to sign with (may be left out when there is one).",
)
__all__ = ["AccountOption", "PasswordFileOption", "unlock_account"]


def unlock_account(settings: "Settings", account: str | None, password_file: Path | None) -> "LocalAccount":
    """Lock the account (AccountInUseError if another process signs for it), then decrypt its keystore
    with the password from the file, $NEUROLINK_PASSWORD or a prompt."""
    from neurolink.accounts.keystore import Keystore
    from neurolink.accounts.lock import hold_account
    from neurolink.accounts.password import read_password

    store = Keystore(settings.keystore_dir)
    entry = store.find(account)  # a missing keystore is reported before asking for a password
    # One signer per account for the life of this command: a second would race for the nonces.
    hold_account(settings.keystore_dir, entry.address)
    return store.unlock(entry.address, read_password(password_file))
