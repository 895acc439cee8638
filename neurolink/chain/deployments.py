"""The deployments file: where a chain's NeuroLink contracts live, found by network name or chain id.

`deployments/<chainId>.json` in the project root holds public networks (committed to git, so
everyone finds the same contracts); devnets (chain ids 31337 and 1337) keep theirs under
`$NEUROLINK_HOME/deployments/`, since each machine's devnet is its own. `NEUROLINK_DEPLOYMENTS`
points both at one folder (tests, operators with their own layout).
"""

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from neurolink.chain.errors import DeploymentNotFoundError, DeploymentRefusedError
from neurolink.compiler.build import PROJECT_ROOT
from neurolink.errors import ConfigError

if TYPE_CHECKING:
    from web3 import Web3

    from neurolink.config import Settings

DEPLOYMENTS_ENV = "NEUROLINK_DEPLOYMENTS"
PROJECT_DEPLOYMENTS = PROJECT_ROOT / "deployments"
DEVNET_CHAIN_IDS = frozenset({31337, 1337})

# Chains where tokens have real value: deploying there needs --allow-mainnet.
MAINNETS: dict[str, int] = {
    "ethereum": 1,
    "optimism": 10,
    "bnb": 56,
    "gnosis": 100,
    "polygon": 137,
    "fantom": 250,
    "zksync": 324,
    "mantle": 5000,
    "base": 8453,
    "arbitrum": 42161,
    "celo": 42220,
    "avalanche": 43114,
    "linea": 59144,
    "blast": 81457,
    "scroll": 534352,
}
TESTNETS: dict[str, int] = {
    "devnet": 31337,
    "anvil": 31337,
    "sepolia": 11155111,
    "holesky": 17000,
    "hoodi": 560048,
    "base-sepolia": 84532,
    "optimism-sepolia": 11155420,
    "arbitrum-sepolia": 421614,
    "polygon-amoy": 80002,
}
NETWORKS = {**TESTNETS, **MAINNETS}


class ContractRecord(BaseModel):
    """One deployed contract: where it is, how it got there, and which build it came from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    address: str
    # None for a token that existed before (`--token`): nothing was sent for it.
    tx_hash: str | None = None
    block: int | None = None
    # sha256 of the artifact's creation bytecode, to tell which build a deployment used.
    artifact_sha256: str | None = None
    # keccak256 of the runtime code on chain when deployed, to notice a different chain later.
    code_hash: str


class Deployment(BaseModel):
    """The contents of `deployments/<chainId>.json`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
    chain_id: int
    network: str
    deployer: str
    deploy_block: int
    deployed_at: int
    token: ContractRecord
    staking: ContractRecord
    job_market: ContractRecord
    setup_tx_hashes: dict[str, str] = Field(default_factory=dict)
    # ABI name -> address, the flat view other tools read (the token answers NeuroToken's ERC-20 ABI).
    contracts: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _flat_view(self) -> "Deployment":
        flat = {
            "NeuroToken": self.token.address,
            "Staking": self.staking.address,
            "JobMarket": self.job_market.address,
        }
        if self.contracts and self.contracts != flat:
            raise ValueError(f"contracts {self.contracts} disagree with the records {flat}")
        object.__setattr__(self, "contracts", flat)
        return self

    def records(self) -> tuple[ContractRecord, ...]:
        return (self.token, self.staking, self.job_market)


def network_name(chain_id: int) -> str:
    """The conventional name of `chain_id`, or `chain-<id>` when it has none."""
    for name, known in NETWORKS.items():
        if known == chain_id:
            return name
    return f"chain-{chain_id}"


def resolve_chain_id(network: str | int) -> int:
    """A chain id from a network name (`sepolia`) or a number given as text (`11155111`)."""
    if isinstance(network, int):
        return network
    text = network.strip().lower()
    if text.isdigit():
        return int(text)
    if text in NETWORKS:
        return NETWORKS[text]
    raise ConfigError(f"unknown network {network!r}: use a chain id or one of {', '.join(sorted(NETWORKS))}")


def check_not_mainnet(chain_id: int, allow_mainnet: bool) -> None:
    """Refuse a known mainnet unless the caller said --allow-mainnet."""
    if chain_id in MAINNETS.values() and not allow_mainnet:
        raise DeploymentRefusedError(
            f"chain id {chain_id} is {network_name(chain_id)} mainnet, where tokens are real: "
            "pass --allow-mainnet if you mean it"
        )


def deployments_dir(chain_id: int, settings: "Settings") -> Path:
    """The one folder that holds `chain_id`'s file, for reading and writing alike."""
    override = os.environ.get(DEPLOYMENTS_ENV)
    if override:
        return Path(override).expanduser()
    return settings.deployments_dir if chain_id in DEVNET_CHAIN_IDS else PROJECT_DEPLOYMENTS


def deployment_path(chain_id: int, settings: "Settings") -> Path:
    return deployments_dir(chain_id, settings) / f"{chain_id}.json"


def find(chain_id: int, settings: "Settings") -> Deployment | None:
    """The recorded deployment of `chain_id`, or None when there is none.

    A devnet's deployment is kept by the home that started it; another home on this machine reading
    that same devnet (same RPC URL) finds it there.
    """
    path = deployment_path(chain_id, settings)
    if not path.exists() and chain_id in DEVNET_CHAIN_IDS and not os.environ.get(DEPLOYMENTS_ENV):
        path = devnet_deployment_path(settings) or path
    if not path.exists():
        return None
    try:
        return Deployment.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the deployments file: {exc.strerror}") from exc
    except ValidationError as exc:
        raise ConfigError(f"{path}: not a valid deployments file: {exc.errors()[0]['msg']}") from exc


def devnet_deployment_path(settings: "Settings") -> Path | None:
    """The deployments file of the devnet at `settings.rpc_url` when another home here started it."""
    from neurolink import devnet_record as record

    run = record.current(settings.home)
    if not run or run.get("rpc_url") != settings.rpc_url or not isinstance(run.get("deployment"), str):
        return None
    return Path(run["deployment"])


def load(network: str | int, settings: "Settings") -> Deployment:
    """The deployment of `network` (name or chain id); DeploymentNotFoundError names the file looked for."""
    chain_id = resolve_chain_id(network)
    found = find(chain_id, settings)
    if found is None:
        raise DeploymentNotFoundError(
            f"no NeuroLink deployment for {network_name(chain_id)} (chain id {chain_id}): "
            f"{deployment_path(chain_id, settings)} does not exist; run `neurolink deploy` first"
        )
    return found


def save(deployment: Deployment, settings: "Settings") -> Path:
    """Write the file atomically (a crash never leaves half a file that every command then trips on)."""
    path = deployment_path(deployment.chain_id, settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(deployment.model_dump(mode="json"), indent=2) + "\n")
    tmp.replace(path)
    return path


def code_hash(w3: "Web3", address: str) -> str:
    """keccak256 of the runtime code at `address`; the empty-code hash when nothing is there."""
    from eth_utils.crypto import keccak

    return "0x" + keccak(bytes(w3.eth.get_code(w3.to_checksum_address(address)))).hex()


def missing_code(w3: "Web3", deployment: Deployment) -> list[str]:
    """Names of the deployment's contracts whose code is not on the chain `w3` talks to."""
    return [c.name for c in deployment.records() if code_hash(w3, c.address) != c.code_hash]


def for_chain(w3: "Web3", settings: "Settings", network: str | int | None = None) -> Deployment:
    """The deployment every command uses: of `network`, else of the chain behind `w3`, checked live."""
    chain_id = w3.eth.chain_id
    if network is not None and resolve_chain_id(network) != chain_id:
        raise ConfigError(
            f"network {network} is chain id {resolve_chain_id(network)}, but the RPC is chain id {chain_id}"
        )
    deployment = load(chain_id, settings)
    if missing := missing_code(w3, deployment):
        raise DeploymentNotFoundError(
            f"{deployment_path(chain_id, settings)} names {', '.join(missing)}, but the chain has other "
            "code there (a restarted devnet?): run `neurolink deploy` again"
        )
    return deployment
