"""`neurolink explorer index|serve`: follow the chain into the database, and serve the API and dashboard."""

import signal
import threading
from typing import TYPE_CHECKING

import typer

from neurolink.cli.output import JsonOption, emit

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from coordinator.explorer.indexer import Indexer
    from coordinator.explorer.settings import ExplorerSettings
    from neurolink.config import Settings

app = typer.Typer(
    help="The network explorer: an indexer, a REST API and a live dashboard.", no_args_is_help=True
)

RpcOption = typer.Option(None, "--rpc-url", help="JSON-RPC endpoint (default: the settings' rpc_url).")
DbOption = typer.Option(
    None,
    "--db-url",
    help="SQLAlchemy URL, e.g. postgresql://user@host/db (default: SQLite under NEUROLINK_HOME).",
)
NetworkOption = typer.Option(None, "--network", help="Network name or chain id (default: the RPC's chain).")
IntervalOption = typer.Option(None, "--interval", min=0.01, help="Seconds between looks at the chain head.")


def _setup(
    rpc_url: str | None, db_url: str | None, **extra: object
) -> tuple["Settings", "ExplorerSettings", "Engine"]:
    from coordinator.explorer.db import make_engine, migrate
    from coordinator.explorer.settings import load_explorer_settings
    from neurolink.config import load_settings

    settings = load_settings(rpc_url=rpc_url)
    explorer = load_explorer_settings(settings.home, db_url=db_url, **extra)
    engine = make_engine(explorer.database_url(settings.home))
    migrate(engine)
    return settings, explorer, engine


def _indexer(settings: "Settings", engine: "Engine", network: str | None) -> "Indexer":
    from coordinator.explorer.indexer import Indexer
    from neurolink.chain.deployments import for_chain
    from neurolink.chain.provider import connect

    w3 = connect(settings.rpc_url)
    deployment = for_chain(w3, settings, network)
    confirmations = None if settings.confirmations == "auto" else settings.confirmations
    return Indexer(
        engine,
        w3,
        job_market=deployment.job_market.address,
        staking=deployment.staking.address,
        start_block=deployment.deploy_block,
        confirmations=confirmations,
    )


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


@app.command()
def index(
    *,
    rpc_url: str | None = RpcOption,
    db_url: str | None = DbOption,
    network: str | None = NetworkOption,
    interval: float | None = IntervalOption,
    from_block: int | None = typer.Option(
        None,
        "--from-block",
        min=0,
        help="Index again from this block (rows already there are kept as they are).",
    ),
    once: bool = typer.Option(False, "--once", help="Index up to the trusted head, then exit."),
    as_json: bool = JsonOption,
) -> None:
    """Follow JobMarket and Staking events into the database (runs until SIGINT/SIGTERM)."""
    settings, explorer, engine = _setup(rpc_url, db_url, poll_interval=interval)
    indexer = _indexer(settings, engine, network)
    if from_block is not None:
        indexer.rewind_to(from_block)
    if once:
        indexer.watcher.start()
        added = indexer.poll()
        emit({"events": added, "indexed_block": indexer.cursor()}, as_json, f"indexed {added} new events")
        return
    typer.echo(f"indexing into {engine.url.render_as_string()}", err=True)
    indexer.run(_stop_on_signals(), explorer.poll_interval)


@app.command()
def serve(
    *,
    rpc_url: str | None = RpcOption,
    db_url: str | None = DbOption,
    network: str | None = NetworkOption,
    interval: float | None = IntervalOption,
    host: str | None = typer.Option(None, "--host", help="Address to listen on (default 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", min=0, max=65535, help="Port (default 8600)."),
    with_indexer: bool = typer.Option(
        True, "--index/--no-index", help="Also run the indexer in this process (off when another one writes)."
    ),
) -> None:
    """Serve the REST API, its live stream and the dashboard (runs until SIGINT/SIGTERM)."""
    import uvicorn

    from coordinator.explorer.api import create_app

    settings, explorer, engine = _setup(rpc_url, db_url, poll_interval=interval, host=host, port=port)
    stop = threading.Event()
    worker = None
    if with_indexer:
        indexer = _indexer(settings, engine, network)
        worker = threading.Thread(target=indexer.run, args=(stop, explorer.poll_interval), daemon=True)
        worker.start()
    server = uvicorn.Server(
        uvicorn.Config(create_app(engine), host=explorer.host, port=explorer.port, log_level="warning")
    )
    typer.echo(f"explorer at http://{explorer.host}:{explorer.port}/", err=True)
    try:
        server.run()
    finally:
        stop.set()
        if worker is not None:
            worker.join(timeout=5)
