"""`make demo`: the local devnet demo on embedded defaults; prints one JSON line at the end."""

import json
import sys

from neurolink.chain.provider import connect
from neurolink.chain.tx import TxSender
from neurolink.devnet.accounts import dev_account
from neurolink.devnet.anvil import start_anvil


def main() -> int:
    with start_anvil() as anvil:
        w3 = connect(anvil.rpc_url)
        deployer = TxSender(w3, dev_account(0))
        token = deployer.deploy("NeuroToken", 0)
        requester = TxSender(w3, dev_account(1))
        requester.transact(token.functions.faucet())
        balance = token.functions.balanceOf(requester.address).call()
        print(f"devnet at {anvil.rpc_url}: NeuroToken at {token.address}, faucet gave {balance} wei")
        print(json.dumps({"demo": "ok", "token": token.address, "faucet_balance": str(balance)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
