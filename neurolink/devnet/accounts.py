"""The devnet's well-known accounts, derived from anvil's public development mnemonic."""

from functools import cache
from typing import TYPE_CHECKING

from neurolink.devnet.anvil import DEV_MNEMONIC

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount


@cache
def dev_account(index: int) -> "LocalAccount":
    """Account `index` of anvil's default set; its key is public and only fit for a devnet."""
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    account: LocalAccount = Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
    return account
