"""`neurolink content add|get|pin|resolve|serve`: files in and out of the configured content store by CID."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from neurolink.cli import validate
from neurolink.cli.output import JsonOption, emit

if TYPE_CHECKING:
    from neurolink.content import ContentStore

app = typer.Typer(
    help="Store and fetch files by CID (embedded store, or a Kubo daemon via content_url).",
    no_args_is_help=True,
)

# Below this a transfer is over before a bar would be readable.
PROGRESS_THRESHOLD = 8 * 1024 * 1024

ContentUrlOption = typer.Option(
    None,
    "--content-url",
    help="'local' or a Kubo RPC URL like http://127.0.0.1:5001 (default: config, NEUROLINK_CONTENT_URL).",
)


def _store(content_url: str | None) -> "ContentStore":
    from neurolink.config import load_settings
    from neurolink.content import open_store

    return open_store(load_settings(content_url=content_url))


@contextmanager
def _progress(label: str, total: int, quiet: bool) -> Iterator[Callable[[int], None] | None]:
    """A rich progress bar on stderr for `total` bytes, or None when small or in --json mode."""
    if quiet or total < PROGRESS_THRESHOLD:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


@app.command()
def add(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="File to store."),
    content_url: str | None = ContentUrlOption,
    as_json: bool = JsonOption,
) -> None:
    """Store FILE and print its CID (the same CID `ipfs add --cid-version=1` gives)."""
    from neurolink.content import cid_to_digest

    size = file.stat().st_size
    with _store(content_url) as store, _progress(f"add {file.name}", size, as_json) as progress:
        cid = store.put_file(file, progress=progress)
    info = {"cid": cid, "digest": "0x" + cid_to_digest(cid).hex(), "size": size, "file": str(file)}
    emit(info, as_json, cid)


@app.command()
def get(
    cid: str = typer.Argument(..., callback=validate.cid, help="CID of the content."),
    output: Path = typer.Option(..., "-o", "--output", dir_okay=False, help="File to write."),
    content_url: str | None = ContentUrlOption,
    as_json: bool = JsonOption,
) -> None:
    """Fetch CID, verify every block against it, and write it to --output."""
    if not output.parent.is_dir():
        raise typer.BadParameter(f"directory {output.parent} does not exist", param_hint="--output")
    with _store(content_url) as store:
        size = store.size(cid)
        with _progress(f"get {output.name}", size, as_json) as progress:
            store.get_file(cid, output, progress=progress)
    emit({"cid": cid, "size": size, "file": str(output)}, as_json, f"wrote {size} bytes to {output}")


@app.command()
def pin(
    cid: str = typer.Argument(..., callback=validate.cid, help="CID of the content."),
    content_url: str | None = ContentUrlOption,
    as_json: bool = JsonOption,
) -> None:
    """Make sure all of CID is held by the store and keep it."""
    with _store(content_url) as store:
        store.pin(cid)
    emit({"cid": cid, "pinned": True}, as_json, f"pinned {cid}")


@app.command()
def resolve(
    digest: str = typer.Argument(..., help="On-chain bytes32 digest, 0x-prefixed hex."),
    content_url: str | None = ContentUrlOption,
    as_json: bool = JsonOption,
) -> None:
    """Turn an on-chain sha2-256 digest into the CID of the content the store holds for it."""
    from neurolink.content import InvalidCIDError

    try:
        raw = bytes.fromhex(digest.removeprefix("0x"))
    except ValueError:
        raise InvalidCIDError(f"not a hex digest: {digest!r}") from None
    with _store(content_url) as store:
        cid = store.resolve_digest(raw)
    emit({"digest": digest, "cid": cid}, as_json, cid)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8080, min=0, max=65535, help="Port to listen on (0: any free port)."),
    as_json: bool = JsonOption,
) -> None:
    """Serve this machine's own content store read-only over HTTP as a trustless gateway (/ipfs/CID).

    Providers list the URL under content_gateways; every block they fetch is checked against its CID.
    """
    from neurolink.config import load_settings
    from neurolink.content.factory import open_own_store
    from neurolink.content.gateway import GatewayServer
    from neurolink.errors import InvalidArgumentError

    store = open_own_store(load_settings())
    try:
        server = GatewayServer(store, host, port)
    except OSError as exc:
        raise InvalidArgumentError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    emit({"url": server.url, "store": repr(store)}, as_json, f"serving {store!r} read-only at {server.url}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        store.close()
