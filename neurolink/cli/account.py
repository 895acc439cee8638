"""`neurolink account new|import|list`: encrypted keystores in the settings' keystore folder."""

from pathlib import Path

import typer

from neurolink.cli import validate
from neurolink.cli.output import JsonOption, emit

app = typer.Typer(help="Manage encrypted keystores (keystore v3 JSON, 0600).", no_args_is_help=True)

PasswordFileOption = typer.Option(
    None,
    "--password-file",
    callback=validate.password_file,
    help="File whose first line is the password (else $NEUROLINK_PASSWORD, else a prompt).",
)


@app.command()
def new(
    password_file: Path = PasswordFileOption,
    keystore_dir: Path = typer.Option(None, help="Keystore folder (default: $NEUROLINK_HOME/keystore)."),
    as_json: bool = JsonOption,
) -> None:
    """Create a new random account, stored encrypted."""
    from neurolink.accounts.keystore import Keystore
    from neurolink.accounts.password import read_password
    from neurolink.config import load_settings

    store = Keystore(keystore_dir or load_settings().keystore_dir)
    entry = store.new(read_password(password_file, confirm=True))
    emit({"address": entry.address, "path": str(entry.path)}, as_json, f"created {entry.address}")


@app.command(name="import")
def import_(
    key_file: Path = typer.Option(
        None, "--key-file", help="File holding a hex private key (never pass a key on the command line)."
    ),
    keystore_file: Path = typer.Option(None, "--keystore", help="An existing keystore v3 JSON file."),
    password_file: Path = PasswordFileOption,
    keystore_dir: Path = typer.Option(None, help="Keystore folder (default: $NEUROLINK_HOME/keystore)."),
    as_json: bool = JsonOption,
) -> None:
    """Import a private key (from a file or a hidden prompt) or a keystore file."""
    from neurolink.accounts.keystore import Keystore
    from neurolink.accounts.password import read_password
    from neurolink.config import load_settings
    from neurolink.errors import InvalidArgumentError

    store = Keystore(keystore_dir or load_settings().keystore_dir)
    if key_file is not None and keystore_file is not None:
        raise InvalidArgumentError("pass either --key-file or --keystore, not both")
    if keystore_file is not None:
        entry = store.import_file(keystore_file, read_password(password_file))
    else:
        if key_file is not None:
            try:
                key = key_file.read_text()
            except OSError as exc:
                raise InvalidArgumentError(f"cannot read key file {key_file}: {exc.strerror}") from exc
        else:
            key = str(typer.prompt("Private key (hex)", hide_input=True))
        entry = store.import_key(key, read_password(password_file, confirm=True))
    emit({"address": entry.address, "path": str(entry.path)}, as_json, f"imported {entry.address}")


@app.command(name="list")
def list_(
    keystore_dir: Path = typer.Option(None, help="Keystore folder (default: $NEUROLINK_HOME/keystore)."),
    as_json: bool = JsonOption,
) -> None:
    """List the addresses of the stored keystores."""
    from neurolink.accounts.keystore import Keystore
    from neurolink.config import load_settings

    entries = Keystore(keystore_dir or load_settings().keystore_dir).list()
    rows = [{"address": e.address, "path": str(e.path)} for e in entries]
    emit({"accounts": rows}, as_json, "\n".join(f"{e.address}  {e.path}" for e in entries) or "no accounts")


@app.command()
def balance(
    address: str = typer.Argument(
        None, callback=validate.address, help="Whose balance (default: the only keystore's)."
    ),
    *,
    rpc_url: str = typer.Option(None, "--rpc-url", help="JSON-RPC endpoint (default: the settings')."),
    as_json: bool = JsonOption,
) -> None:
    """ETH, NRL tokens, stake and what JobMarket owes an account (reads only: no password)."""
    from neurolink.accounts.keystore import Keystore
    from neurolink.chain.deployments import for_chain
    from neurolink.chain.provider import connect
    from neurolink.cli.output import tokens
    from neurolink.config import load_settings
    from neurolink.protocol.contracts import Contracts

    settings = load_settings(rpc_url=rpc_url)
    who = address or Keystore(settings.keystore_dir).find(None).address
    w3 = connect(settings.rpc_url)
    contracts = Contracts.bind(w3, for_chain(w3, settings))
    staking = contracts.staking.functions
    amounts = {
        "eth": int(w3.eth.get_balance(who)),  # type: ignore[arg-type]
        "tokens": int(contracts.token.functions.balanceOf(who).call()),
        "staked": int(staking.stakeOf(who).call()),
        "free_stake": int(staking.freeStakeOf(who).call()),
        "claimable": int(contracts.market.functions.claimable(who).call()),
    }
    lines = [f"address     {who}"]
    lines += [f"{k:11} {tokens(v, symbol='ETH' if k == 'eth' else 'NRL')}" for k, v in amounts.items()]
    emit({"address": who, **{k: str(v) for k, v in amounts.items()}}, as_json, "\n".join(lines))
