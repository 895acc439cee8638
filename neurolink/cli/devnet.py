"""`neurolink devnet up|down|status`: the local chain and the whole network on this machine."""

import typer

from neurolink.cli.output import JsonOption, emit

app = typer.Typer(
    help="Run the whole network locally: anvil (persisted), contracts, wallet, nodes, keeper.",
    no_args_is_help=True,
)


@app.command()
def up(
    *,
    port: int = typer.Option(8545, help="RPC port for anvil."),
    chain_id: int = typer.Option(31337, help="Chain id of the devnet."),
    providers: int = typer.Option(3, min=0, help="Provider nodes to run (each with one CPU device worker)."),
    faults: list[str] = typer.Option(
        None, "--fault", help="INDEX=KIND: provider INDEX misbehaves (wrong-result, silent). Demos and tests."
    ),
    keeper: bool = typer.Option(True, "--keeper/--no-keeper", help="Run the keeper that settles due jobs."),
    chain_only: bool = typer.Option(False, "--chain-only", help="Only anvil: no contracts, wallet, nodes."),
    as_json: bool = JsonOption,
) -> None:
    """Start the devnet in the background (idempotent): anvil, contracts, funded wallet, nodes, keeper."""
    from neurolink.config import load_settings
    from neurolink.devnet import control
    from neurolink.devnet.network import NetworkPlan

    plan = None
    if not chain_only:
        plan = NetworkPlan(providers=providers, faults=_faults(faults), keeper=keeper)
    run = control.up(load_settings().home, port=port, chain_id=chain_id, plan=plan)
    state = "already running" if run["already_running"] else "started"
    lines = [f"devnet {state}: {run['rpc_url']} (chain id {run['chain_id']})"]
    if "wallet" in run:
        wallet = run["wallet"]
        lines.append(f"JobMarket {run['job_market']}; deployment in {run['deployment']}")
        lines.append(f"wallet {wallet['address']} (keystore password in {wallet['password_file']})")
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
