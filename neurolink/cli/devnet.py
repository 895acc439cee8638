"""`neurolink devnet up|down|status`: the local chain and the whole network on this machine."""

import typer

from neurolink.cli import validate
from neurolink.cli.output import JsonOption, emit

app = typer.Typer(
    help="Run the whole network locally: anvil (persisted), contracts, wallet, nodes, keeper.",
    no_args_is_help=True,
)


@app.command()
def up(
    *,
    port: int = typer.Option(
        8545, min=1, max=65535, help="RPC port for anvil; later commands find it (devnet/devnet.json)."
    ),
    chain_id: int = typer.Option(31337, help="Chain id of the devnet."),
    providers: int = typer.Option(3, min=0, help="Provider nodes to run (each with one CPU device worker)."),
    faults: list[str] = typer.Option(
        None, "--fault", help="INDEX=KIND: provider INDEX misbehaves (wrong-result, silent, noise); demos."
    ),
    keeper: bool = typer.Option(True, "--keeper/--no-keeper", help="Run the keeper that settles due jobs."),
    explorer: bool = typer.Option(
        True, "--explorer/--no-explorer", help="Run the network explorer (API and dashboard)."
    ),
    chain_only: bool = typer.Option(False, "--chain-only", help="Only anvil: no contracts, wallet, nodes."),
    block_time: float = typer.Option(
        1.0, min=0, help="Seconds between blocks on an idle chain, so deadlines pass (0: only on traffic)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Start the devnet in the background (idempotent): anvil, contracts, funded wallet, nodes, keeper."""
    from neurolink.config import load_settings
    from neurolink.devnet import control
    from neurolink.devnet.network import NetworkPlan

    plan = None
    if not chain_only:
        plan = NetworkPlan(providers=providers, faults=_faults(faults), keeper=keeper, explorer=explorer)
    run = control.up(
        load_settings().home, port=port, chain_id=chain_id, plan=plan, block_time=block_time or None
    )
    state = "already running" if run["already_running"] else "started"
    lines = [f"devnet {state}: {run['rpc_url']} (chain id {run['chain_id']})"]
    if "wallet" in run:
        wallet = run["wallet"]
        lines.append(f"JobMarket {run['job_market']}; deployment in {run['deployment']}")
        lines.append(f"wallet {wallet['address']} (keystore password in {wallet['password_file']})")
        lines.append(f"content gateway {run['content_gateway']} (any home on this machine reads from it)")
    if "explorer" in run:
        lines.append(f"explorer {run['explorer']} (dashboard and API at /api/v1)")
    lines += [
        f"{p['role']} {p.get('index', '')} pid {p['pid']} log {p['log']}" for p in run.get("processes", [])
    ]
    emit(run, as_json, "\n".join(lines))


def _faults(pairs: list[str] | None) -> dict[int, str]:
    from neurolink.errors import ConfigError

    faults = {}
    for pair in pairs or []:
        index, sep, kind = pair.partition("=")
        if not sep or not index.isdigit():
            raise ConfigError(f"--fault takes INDEX=KIND (e.g. 2=wrong-result), got {pair!r}")
        faults[int(index)] = kind
    return faults


@app.command()
def down(as_json: bool = JsonOption) -> None:
    """Stop every process the devnet started."""
    from neurolink.config import load_settings
    from neurolink.devnet import control

    pids = control.down(load_settings().home)
    emit({"stopped": pids}, as_json, f"stopped {len(pids)} processes" if pids else "not running")


@app.command()
def status(as_json: bool = JsonOption) -> None:
    """Show whether the devnet runs, its RPC URL and block height."""
    from neurolink.config import load_settings
    from neurolink.devnet import control

    info = control.status(load_settings().home)
    emit(info, as_json)
    if not info["running"]:
        raise typer.Exit(6)


@app.command()
def fund(
    address: str = typer.Argument(..., callback=validate.address, help="The account to fund."),
    *,
    eth: str = typer.Option("100", callback=validate.amount, help="ETH to add (for gas)."),
    tokens: str = typer.Option(
        "10000", callback=validate.amount, help="NRL tokens to add (from the faucet)."
    ),
    rpc_url: str = typer.Option(None, "--rpc-url", help="Devnet RPC (default: the running devnet's)."),
    as_json: bool = JsonOption,
) -> None:
    """Give any account ETH and tokens on a devnet (anvil's balance cheat and the token faucet)."""
    from neurolink.chain.deployments import for_chain
    from neurolink.chain.provider import connect
    from neurolink.cli.output import tokens as show_tokens
    from neurolink.config import load_settings
    from neurolink.devnet.funding import fund_account
    from neurolink.protocol.contracts import Contracts

    eth_wei = validate.scaled(validate.decimal_amount(eth, allow_zero=True), 18)
    token_units = validate.scaled(validate.decimal_amount(tokens, allow_zero=True), 18)
    settings = load_settings(rpc_url=rpc_url)
    w3 = connect(settings.rpc_url)
    contracts = Contracts.bind(w3, for_chain(w3, settings))
    fund_account(contracts, settings.rpc_url, address, eth=eth_wei, tokens=token_units)
    eth_now = int(w3.eth.get_balance(address))  # type: ignore[arg-type]
    tokens_now = int(contracts.token.functions.balanceOf(address).call())
    emit(
        {"address": address, "eth": str(eth_now), "tokens": str(tokens_now)},
        as_json,
        f"{address} now holds {show_tokens(eth_now, symbol='ETH')} and {show_tokens(tokens_now)}",
    )
