"""`neurolink devnet up|down|status`: the local chain (and later the whole network) on this machine."""

import typer

from neurolink.cli.output import JsonOption, emit

app = typer.Typer(help="Run a local devnet: anvil with persisted state.", no_args_is_help=True)


@app.command()
def up(
    port: int = typer.Option(8545, help="RPC port for anvil."),
    chain_id: int = typer.Option(31337, help="Chain id of the devnet."),
    as_json: bool = JsonOption,
) -> None:
    """Start the devnet in the background (idempotent)."""
    from neurolink.config import load_settings
    from neurolink.devnet import control

    run = control.up(load_settings().home, port=port, chain_id=chain_id)
    state = "already running" if run["already_running"] else "started"
    emit(run, as_json, f"devnet {state}: {run['rpc_url']} (chain id {run['chain_id']})")


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
