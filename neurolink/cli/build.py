"""`neurolink build`: compile the contracts into artifacts under build/."""

from pathlib import Path

import typer

from neurolink.cli.output import JsonOption, emit

app = typer.Typer(help="Compile the Solidity contracts into build/ artifacts.", invoke_without_command=True)


@app.callback()
def build(
    src: Path = typer.Option(None, help="Contracts folder (default: the project's contracts/)."),
    out: Path = typer.Option(None, help="Artifacts folder (default: build/contracts)."),
    force: bool = typer.Option(False, "--force", help="Compile even when nothing changed."),
    as_json: bool = JsonOption,
) -> None:
    """Compile contracts/ (evmVersion pinned); a second run with unchanged sources compiles nothing."""
    from neurolink.compiler import build as builder

    result = builder.build(src or builder.DEFAULT_SOURCES, out or builder.DEFAULT_OUT, force=force)
    verb = "compiled" if result.compiled else "up to date"
    emit(
        {
            "compiled": result.compiled,
            "contracts": list(result.contracts),
            "out": str(result.out_dir),
        },
        as_json,
        f"{verb}: {len(result.contracts)} contracts in {result.out_dir}",
    )
