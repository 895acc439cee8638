"""`neurolink deploy`: put token, Staking and JobMarket on a chain and record them in the deployments file."""

import sys
from pathlib import Path

import typer

from neurolink.cli.output import JsonOption, emit
from neurolink.cli.wallet import AccountOption, PasswordFileOption

app = typer.Typer(
    help="Deploy NeuroLink's contracts to a chain and write deployments/<chainId>.json.",
    invoke_without_command=True,
)


def _tokens(wei: int) -> str:
    return f"{wei / 10**18:.6f}"


@app.callback()
def deploy(
    *,
    rpc_url: str = typer.Option(
        None, "--rpc-url", help="JSON-RPC endpoint (default: the settings' rpc_url)."
    ),
    account: str = AccountOption,
    password_file: Path = PasswordFileOption,
    token: str = typer.Option(
        None, "--token", help="Use this existing ERC-20 instead of deploying NeuroToken."
    ),
    initial_supply: int = typer.Option(
        1_000_000, "--initial-supply", min=0, help="Whole NeuroTokens minted to the deployer (no --token)."
    ),
    treasury: str = typer.Option(None, "--treasury", help="Receiver of protocol fees (default: deployer)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Send without asking after the cost estimate."),
    allow_mainnet: bool = typer.Option(False, "--allow-mainnet", help="Allow a chain whose tokens are real."),
    force: bool = typer.Option(False, "--force", help="Deploy again even if this chain has a deployment."),
    as_json: bool = JsonOption,
) -> None:
    """Deploy (token), Staking and JobMarket, wire them, check their code and record the addresses."""
    from neurolink.chain.deployments import check_not_mainnet, deployment_path, network_name
    from neurolink.chain.errors import DeploymentRefusedError
    from neurolink.chain.provider import connect
    from neurolink.cli.wallet import unlock_account
    from neurolink.config import load_settings
    from neurolink.deploy import deployer

    settings = load_settings(rpc_url=rpc_url)
    w3 = connect(settings.rpc_url)
    chain_id = w3.eth.chain_id
    check_not_mainnet(chain_id, allow_mainnet)
    if not force and (found := deployer.existing(w3, settings)) is not None:
        path = deployment_path(chain_id, settings)
        emit(
            {"already_deployed": True, "path": str(path), **found.model_dump(mode="json")},
            as_json,
            f"{network_name(chain_id)} (chain id {chain_id}) already has NeuroLink: JobMarket "
            f"{found.job_market.address}, recorded in {path}; pass --force to deploy again",
        )
        return
    signer = unlock_account(settings, account, password_file)
    options = deployer.DeployOptions(
        token=token,
        initial_supply=initial_supply * 10**18,
        treasury=treasury,
        allow_mainnet=allow_mainnet,
        force=force,
    )
    if token is not None:
        deployer.check_token(w3, token)  # before the estimate, which would price a non-token
    cost = deployer.estimate(w3, signer.address, options)
    if not as_json or not yes:
        lines = [f"deploying to {network_name(chain_id)} (chain id {chain_id}) from {signer.address}:"]
        lines += [
            f"  {t.label:<24} {t.gas:>10,} gas{'' if t.estimated else ' (allowance)'}" for t in cost.txs
        ]
        lines.append(
            f"  total {cost.gas:,} gas: about {_tokens(cost.expected_cost)} ETH, "
            f"at most {_tokens(cost.max_cost)} ETH; balance {_tokens(cost.balance)} ETH"
        )
        typer.echo("\n".join(lines), err=as_json)
    if not cost.affordable:
        raise DeploymentRefusedError(
            f"{signer.address} holds {_tokens(cost.balance)} ETH; "
            f"the deployment may cost {_tokens(cost.max_cost)} ETH"
        )
    if not yes:
        if not sys.stdin.isatty():
            raise DeploymentRefusedError("not a terminal to ask on: pass --yes to deploy without asking")
        typer.confirm("send these transactions?", abort=True)
    deployment, _ = deployer.deploy(w3, signer, settings, options)
    path = deployment_path(chain_id, settings)
    emit(
        {
            "already_deployed": False,
            "path": str(path),
            "estimate": cost.as_dict(),
            **deployment.model_dump(mode="json"),
        },
        as_json,
        f"deployed: token {deployment.token.address}, Staking {deployment.staking.address}, "
        f"JobMarket {deployment.job_market.address}; recorded in {path}",
    )
