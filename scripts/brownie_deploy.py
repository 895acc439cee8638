"""Brownie deploy of NeuroLink: `brownie run scripts/brownie_deploy.py --network <id>` (after `make brownie`).

Deploys NeuroToken (or uses $NEUROLINK_TOKEN), Staking and JobMarket, wires them, and writes the same
`deployments/<chainId>.json` that `neurolink deploy` writes, so every `neurolink` command finds them.
On a live network the deployer is an encrypted keystore: $NEUROLINK_KEYSTORE (a keystore v3 file)
unlocked with $NEUROLINK_PASSWORD or a prompt. On a development network it is brownie's accounts[0].
The steps are neurolink.protocol.plan's, the same `neurolink deploy` executes. This runs inside
.venv-brownie (web3 7), so it imports nothing else of neurolink (web3 8): the file format is written
here by hand and checked by tests/integration/test_brownie.py through neurolink's own reader.
"""

import hashlib
import json
import os
import sys
import time
from pathlib import Path

from brownie import JobMarket, NeuroToken, Staking, accounts, network, web3
from brownie._config import CONFIG

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from neurolink.protocol.plan import DEFAULT_INITIAL_SUPPLY, MARKET, STAKING, TOKEN, Create, Ref, steps  # noqa: E402

DEVNET_CHAIN_IDS = (31337, 1337)
MAINNET_CHAIN_IDS = (1, 10, 56, 100, 137, 250, 324, 5000, 8453, 42161, 42220, 43114, 59144, 81457, 534352)
CONTAINERS = {TOKEN: NeuroToken, STAKING: Staking, MARKET: JobMarket}
EMPTY_CODE_HASH = "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"


def _deployer():
    keystore = os.environ.get("NEUROLINK_KEYSTORE")
    if keystore:
        # brownie prompts when the password is None; the key never leaves the keystore otherwise.
        return accounts.load(keystore, password=os.environ.get("NEUROLINK_PASSWORD"))
    if CONFIG.network_type == "development":
        return accounts[0]
    raise SystemExit("set NEUROLINK_KEYSTORE to the deployer's keystore v3 file")


def _deployments_dir(chain_id: int) -> Path:
    override = os.environ.get("NEUROLINK_DEPLOYMENTS")
    if override:
        return Path(override).expanduser()
    if chain_id in DEVNET_CHAIN_IDS:
        home = Path(os.environ.get("NEUROLINK_HOME", Path.home() / ".neurolink")).expanduser()
        return home / "deployments"
    return ROOT / "deployments"


def _code_hash(address: str) -> str:
    return "0x" + web3.keccak(web3.eth.get_code(address)).hex().removeprefix("0x")


def _record(name: str, contract, tx) -> dict:
    if tx is None:
        return {"name": name, "address": contract, "tx_hash": None, "block": None,
                "artifact_sha256": None, "code_hash": _code_hash(contract)}  # fmt: skip
    bytecode = "0x" + contract._build["bytecode"]
    return {
        "name": name,
        "address": contract.address,
        "tx_hash": tx.txid,
        "block": tx.block_number,
        "artifact_sha256": hashlib.sha256(bytecode.encode()).hexdigest(),
        "code_hash": _code_hash(contract.address),
    }


def main() -> None:
    chain_id = web3.eth.chain_id
    if chain_id in MAINNET_CHAIN_IDS and os.environ.get("NEUROLINK_ALLOW_MAINNET") != "1":
        raise SystemExit(f"chain id {chain_id} is a mainnet: set NEUROLINK_ALLOW_MAINNET=1 if you mean it")
    path = _deployments_dir(chain_id) / f"{chain_id}.json"
    if path.exists():
        recorded = json.loads(path.read_text())
        if all(_code_hash(recorded[k]["address"]) == recorded[k]["code_hash"]
               for k in ("token", "staking", "job_market")):  # fmt: skip
            print(f"already deployed on chain {chain_id}: see {path}")
            return
    deployer = _deployer()
    sender = {"from": deployer}
    existing_token = os.environ.get("NEUROLINK_TOKEN")
    plan = steps(
        owner=deployer.address,
        treasury=os.environ.get("NEUROLINK_TREASURY", deployer.address),
        token=web3.to_checksum_address(existing_token) if existing_token else None,
        initial_supply=int(os.environ.get("NEUROLINK_INITIAL_SUPPLY", DEFAULT_INITIAL_SUPPLY)),
        tuning=None,
    )
    created, setup = {}, {}
    for step in plan:
        args = [created[a.contract].address if isinstance(a, Ref) else a for a in step.args]
        if isinstance(step, Create):
            created[step.contract] = CONTAINERS[step.contract].deploy(*args, sender)
            continue
        contract = created[step.contract]
        setup[step.function] = getattr(contract, step.function)(*args, sender).txid
        if step.check is not None and getattr(contract, step.check)() != args[0]:
            raise SystemExit(f"{step.contract}.{step.function} did not take")
    staking, market = created[STAKING], created[MARKET]
    if existing_token:
        token_record = _record("ERC20", web3.to_checksum_address(existing_token), None)
    else:
        token_record = _record(TOKEN, created[TOKEN], created[TOKEN].tx)
    records = [token_record, _record(STAKING, staking, staking.tx), _record(MARKET, market, market.tx)]
    if any(r["code_hash"] == EMPTY_CODE_HASH for r in records):
        raise SystemExit("a contract has no code after its deploy transaction")
    deployment = {
        "schema_version": 1,
        "chain_id": chain_id,
        "network": network.show_active(),
        "deployer": deployer.address,
        "deploy_block": min(r["block"] for r in records if r["block"] is not None),
        "deployed_at": int(time.time()),
        "token": records[0],
        "staking": records[1],
        "job_market": records[2],
        "setup_tx_hashes": setup,
        "contracts": {
            "NeuroToken": records[0]["address"],
            "Staking": staking.address,
            "JobMarket": market.address,
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(deployment, indent=2) + "\n")
    print(f"NeuroLink deployed on chain {chain_id}: JobMarket {market.address}; recorded in {path}")
