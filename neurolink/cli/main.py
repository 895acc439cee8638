"""The `neurolink` entry point: gathers command groups and maps errors to exit codes."""

import sys
from importlib.metadata import entry_points

import typer

from neurolink import __version__
from neurolink.errors import ExitCode, NeuroLinkError

app = typer.Typer(
    name="neurolink",
    help="NeuroLink: a decentralized GPU compute network coordinated by Ethereum contracts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"neurolink {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """NeuroLink: a decentralized GPU compute network coordinated by Ethereum contracts."""


def _register_groups() -> None:
    # Groups are entry points so `node` and `coordinator` plug in without the core importing them.
    groups: dict[str, typer.Typer] = {}
    for ep in sorted(entry_points(group="neurolink.commands"), key=lambda e: e.name):
        groups[ep.name] = ep.load()
        app.add_typer(groups[ep.name], name=ep.name)
    for ep in sorted(entry_points(group="neurolink.subcommands"), key=lambda e: e.name):
        group, _, command = ep.name.partition(".")
        if group in groups:
            groups[group].command(name=command)(ep.load())


_register_groups()


def main() -> None:
    """Run the CLI; a NeuroLinkError becomes one line on stderr and its exit code."""
    try:
        app()
    except NeuroLinkError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(int(ExitCode.OK))
